/**
 * Counters fed from plain numbers. The hot path bumps a number (one add, no prom-client bookkeeping per
 * event); at each scrape the counter takes the increase since the previous scrape, so it stays monotonic
 * and nothing counted between two scrapes is lost.
 */
import { Counter, type Registry } from 'prom-client';

export interface CounterName {
  readonly name: string;
  readonly help: string;
  readonly registry: Registry;
}

/** A counter publishing the running total `total()` at collect time. */
export function talliedCounter({ name, help, registry }: CounterName, total: () => number): Counter {
  let published = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > published) this.inc(now - published);
      published = now;
    },
  });
}

/** A counter labelled by `reason`, publishing `totals[reason]`; every reason's series exists from the start. */
export function talliedCounterByReason<R extends string>(
  { name, help, registry }: CounterName,
  totals: Readonly<Record<R, number>>,
  reasons: readonly R[],
): Counter<'reason'> {
  const published = new Map<R, number>(reasons.map((reason) => [reason, 0]));
  const counter = new Counter({
    name,
    help,
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const reason of reasons) {
        const now = totals[reason];
        const before = published.get(reason) ?? 0;
        if (now > before) this.inc({ reason }, now - before);
        published.set(reason, now);
      }
    },
  });
  for (const reason of reasons) counter.inc({ reason }, 0);
  return counter;
}
