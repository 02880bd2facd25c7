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

/**
 * A counter whose series are fed by several running totals (one per labelled part, added as the
 * instances writing them appear), published at collect time like `talliedCounter`. Parts with the same
 * labels add up.
 */
export class TalliedCounter<L extends string> {
  private readonly parts: { labels: Partial<Record<L, string>>; read: () => number; published: number }[] =
    [];
  private readonly counter: Counter<L>;

  constructor({ name, help, registry }: CounterName, labelNames: readonly L[]) {
    const parts = this.parts;
    this.counter = new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const part of parts) {
          const now = part.read();
          if (now > part.published) this.inc(part.labels, now - part.published);
          part.published = now;
        }
      },
    });
  }

  /** Adds a running total under `labels`; its series exists from now on, at 0 until it counts. */
  add(labels: Partial<Record<L, string>>, read: () => number): void {
    this.parts.push({ labels, read, published: 0 });
    this.counter.inc(labels, 0);
  }
}
