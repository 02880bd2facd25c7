/**
 * Clients of the handover and takeover tests: raw-stream clients spread over gateways, and the check of
 * what each received by the exchange's own ids (trade `t`, aggTrade `a`): every id once, in order, none
 * skipped.
 */
import type { Registry } from 'prom-client';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';

export interface IdRecord {
  /** Events with an id. */
  readonly count: number;
  readonly first: number | undefined;
  readonly last: number | undefined;
  /** Ids skipped, all together. */
  readonly missed: number;
  /** Events whose id was at or below one received before (a duplicate or a step back). */
  readonly repeated: number;
}

/** What one client's messages show by the exchange's ids. */
export function idRecordOf(messages: readonly string[], stream: string): IdRecord {
  const key = stream.endsWith('@aggTrade') ? 'a' : 't';
  let count = 0;
  let first: number | undefined;
  let last: number | undefined;
  let missed = 0;
  let repeated = 0;
  for (const text of messages) {
    const id = (JSON.parse(text) as Record<string, unknown>)[key];
    if (typeof id !== 'number') continue;
    count++;
    first ??= id;
    if (last !== undefined && id <= last) {
      repeated++;
      continue;
    }
    if (last !== undefined) missed += id - last - 1;
    last = id;
  }
  return { count, first, last, missed, repeated };
}

export interface StreamClient {
  readonly stream: string;
  readonly client: TestClient;
  /** Local receipt times of its messages. */
  readonly times: number[];
}

/** `perStream` clients on each stream, alternating over `gatewayUrls` (ws base URLs). */
export async function openStreamClients(
  gatewayUrls: readonly string[],
  streams: readonly string[],
  perStream: number,
): Promise<StreamClient[]> {
  const opening: Promise<StreamClient>[] = [];
  let n = 0;
  for (const stream of streams) {
    for (let i = 0; i < perStream; i++) {
      const url = `${gatewayUrls[n++ % gatewayUrls.length]}/ws/${stream}`;
      opening.push(
        openClient(url).then((client) => {
          const times: number[] = [];
          client.ws.on('message', () => times.push(Date.now()));
          return { stream, client, times };
        }),
      );
    }
  }
  return Promise.all(opening);
}

/** Waits until every client received `events` more messages than it had when called. */
export async function eachReceivesMore(
  clients: readonly StreamClient[],
  events: number,
  timeoutMs: number,
): Promise<void> {
  const base = clients.map((c) => c.client.messages.length);
  await waitFor(
    `every client receiving ${events} more events`,
    () => clients.every((c, i) => c.client.messages.length >= base[i]! + events),
    timeoutMs,
  );
}

/** Sums of the id records of every client, and the clients that saw a hole or a repeat. */
export function summarise(clients: readonly StreamClient[]): {
  events: number;
  missed: number;
  repeated: number;
  faulty: string[];
} {
  let events = 0;
  let missed = 0;
  let repeated = 0;
  const faulty: string[] = [];
  for (const { client, stream } of clients) {
    const r = idRecordOf(client.messages, stream);
    events += r.count;
    missed += r.missed;
    repeated += r.repeated;
    if (r.missed > 0 || r.repeated > 0) faulty.push(`${stream}: missed ${r.missed}, repeated ${r.repeated}`);
  }
  return { events, missed, repeated, faulty };
}

/** The value of a counter or gauge in `registry`, summed over the series whose labels include `labels`. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * What one client of a kline stream received: candles by open time, each expected to go on until one
 * closing update (`x`), then the next candle. Counts what breaks that: an earlier candle after a later
 * one, an update after the candle's close, a candle left for the next without its close.
 */
export function candleFaultsOf(messages: readonly string[]): {
  candles: number;
  backwards: number;
  afterClose: number;
  unclosed: number;
} {
  let open: number | undefined;
  let closed = false;
  let candles = 0;
  let backwards = 0;
  let afterClose = 0;
  let unclosed = 0;
  for (const text of messages) {
    const k = (JSON.parse(text) as { k?: { t?: number; x?: boolean } }).k;
    if (typeof k?.t !== 'number') continue;
    if (open !== undefined && k.t < open) {
      backwards++;
      continue;
    }
    if (open !== undefined && k.t === open && closed) {
      afterClose++;
      continue;
    }
    if (open !== undefined && k.t > open) {
      if (!closed) unclosed++;
      candles++;
    }
    open = k.t;
    closed = k.x === true;
  }
  return { candles, backwards, afterClose, unclosed };
}
