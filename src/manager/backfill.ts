/**
 * Fetches the events a stream missed from the exchange's REST history, as the stream would have carried
 * them: aggTrade from `/api/v3/aggTrades?fromId=` (paged, 1000 per request), trade from `/api/v3/trades`
 * (Binance publishes only the recent trades without an API key, so a range older than that page cannot
 * be refilled), kline from `/api/v3/klines` (the candles whose closing update was missed). Payloads are
 * rebuilt in the stream's field order; `E`, which the history does not keep, is the trade time (for a
 * kline, its close time).
 */
import { LIST_MAX_LIMIT, REST_WEIGHTS } from '../exchange/binance/rest-limits.js';
import type { StreamKind } from '../exchange/binance/streams.js';
import type { RefillFailureReason } from '../metrics/manager-metrics.js';
import type { RestClient } from './rest-client.js';

/** Events refilled per gap at most; a longer outage is reported rather than paged through. */
export const MAX_REFILL_EVENTS = 10 * LIST_MAX_LIMIT;

export type RefillResult =
  | {
      readonly ok: true;
      /** Id of the first event refilled (above the gap's first missing id when the oldest are gone). */
      readonly firstId: number;
      /** Payloads with contiguous ids from `firstId`, up to the id before the gap's end. */
      readonly events: readonly Record<string, unknown>[];
    }
  | { readonly ok: false; readonly reason: RefillFailureReason };

/** Stream kinds whose gaps can be refilled. */
export function canRefill(kind: StreamKind): boolean {
  return kind === 'aggTrade' || kind === 'trade' || kind === 'kline';
}

/**
 * Fetches ids `from` to `to - 1` of `symbol`'s `kind` stream; for klines, the candles with open times
 * in [from, to) of `interval`.
 */
export async function fetchMissing(
  rest: RestClient,
  kind: StreamKind,
  symbol: string,
  from: number,
  to: number,
  interval?: string,
): Promise<RefillResult> {
  const upper = symbol.toUpperCase();
  if (kind === 'kline') return klines(rest, upper, interval ?? '1m', from, to);
  if (to - from > MAX_REFILL_EVENTS) return { ok: false, reason: 'too_large' };
  return kind === 'aggTrade' ? aggTrades(rest, upper, from, to) : trades(rest, upper, from, to);
}

/**
 * Klines of the candles that opened in [from, to) (open times, ms), as closing updates (`"x":true`) in
 * the stream's field order. The history has no trade ids: `f` and `L` are -1.
 */
async function klines(
  rest: RestClient,
  symbol: string,
  interval: string,
  from: number,
  to: number,
): Promise<RefillResult> {
  const query = { symbol, interval, startTime: from, endTime: to - 1, limit: LIST_MAX_LIMIT };
  const answer = await rest.get('/api/v3/klines', query, REST_WEIGHTS.klines);
  if (!answer.ok) return { ok: false, reason: answer.reason };
  const rows = Array.isArray(answer.body) ? (answer.body as unknown[][]) : [];
  const events = rows
    .filter((r) => Array.isArray(r) && typeof r[0] === 'number' && r[0] >= from && r[0] < to)
    .map((r) => ({
      e: 'kline',
      E: r[6],
      s: symbol,
      k: {
        t: r[0],
        T: r[6],
        s: symbol,
        i: interval,
        f: -1,
        L: -1,
        o: r[1],
        c: r[4],
        h: r[2],
        l: r[3],
        v: r[5],
        n: r[8],
        x: true,
        q: r[7],
        V: r[9],
        Q: r[10],
        B: '0',
      },
    }));
  const first = events[0];
  if (first === undefined) return { ok: false, reason: 'history_gone' };
  return { ok: true, firstId: first.k.t as number, events };
}

interface AggTradeRow {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}

async function aggTrades(rest: RestClient, symbol: string, from: number, to: number): Promise<RefillResult> {
  const events: Record<string, unknown>[] = [];
  let firstId: number | undefined;
  let next = from;
  while (next < to) {
    const answer = await rest.get(
      '/api/v3/aggTrades',
      { symbol, fromId: next, limit: Math.min(LIST_MAX_LIMIT, to - next) },
      REST_WEIGHTS.aggTrades,
    );
    if (!answer.ok) return { ok: false, reason: answer.reason };
    const rows = Array.isArray(answer.body) ? (answer.body as AggTradeRow[]) : [];
    const first = rows[0];
    if (first === undefined || typeof first.a !== 'number' || first.a >= to) break;
    // The history no longer reaches the first missing id: refill from where it starts.
    if (first.a !== next && events.length > 0) return { ok: false, reason: 'history_gone' };
    firstId ??= first.a;
    for (const r of rows) {
      if (r.a !== (firstId as number) + events.length || r.a >= to) break;
      events.push({
        e: 'aggTrade',
        E: r.T,
        s: symbol,
        a: r.a,
        p: r.p,
        q: r.q,
        f: r.f,
        l: r.l,
        T: r.T,
        m: r.m,
        M: r.M,
      });
    }
    next = (firstId as number) + events.length;
    if (rows.length < LIST_MAX_LIMIT && next < to) break;
  }
  if (firstId === undefined || next !== to) return { ok: false, reason: 'history_gone' };
  return { ok: true, firstId, events };
}

interface TradeRow {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}

async function trades(rest: RestClient, symbol: string, from: number, to: number): Promise<RefillResult> {
  const answer = await rest.get('/api/v3/trades', { symbol, limit: LIST_MAX_LIMIT }, REST_WEIGHTS.trades);
  if (!answer.ok) return { ok: false, reason: answer.reason };
  const rows = (Array.isArray(answer.body) ? (answer.body as TradeRow[]) : []).filter(
    (r) => typeof r.id === 'number' && r.id >= from && r.id < to,
  );
  const first = rows[0];
  if (first === undefined || rows.at(-1)?.id !== to - 1) return { ok: false, reason: 'history_gone' };
  const events: Record<string, unknown>[] = [];
  for (const r of rows) {
    if (r.id !== first.id + events.length) return { ok: false, reason: 'history_gone' };
    events.push({
      e: 'trade',
      E: r.time,
      s: symbol,
      t: r.id,
      p: r.price,
      q: r.qty,
      T: r.time,
      m: r.isBuyerMaker,
      M: r.isBestMatch,
    });
  }
  return { ok: true, firstId: first.id, events };
}
