/**
 * Binance's REST history of a stream, for refilling what it missed: aggTrade from
 * `/api/v3/aggTrades?fromId=` (paged, 1000 per request), trade from `/api/v3/trades` (Binance publishes
 * only the recent trades without an API key, so a range older than that page cannot be refilled), kline
 * from `/api/v3/klines` (the candles whose closing update was missed). Payloads are rebuilt in the
 * stream's field order; `E`, which the history does not keep, is the trade time (for a kline, its close
 * time).
 */
import type { HistoryProcedure, ParsedStream, RefillResult, RestGetter } from '../exchange.js';
import { LIST_MAX_LIMIT, REST_WEIGHTS } from './rest-limits.js';

/** Events refilled per gap at most; a longer outage is reported rather than paged through. */
export const MAX_REFILL_EVENTS = 10 * LIST_MAX_LIMIT;

/**
 * Fetches ids `from` to `to - 1` of the stream; for klines, the candles with open times in [from, to)
 * of its interval.
 */
function fetchMissing(
  rest: RestGetter,
  stream: ParsedStream,
  from: number,
  to: number,
): Promise<RefillResult> {
  const upper = (stream.symbol ?? '').toUpperCase();
  if (stream.kind === 'kline') return klines(rest, upper, stream.param ?? '1m', from, to);
  if (to - from > MAX_REFILL_EVENTS) return Promise.resolve({ ok: false, reason: 'too_large' });
  return stream.kind === 'aggTrade' ? aggTrades(rest, upper, from, to) : trades(rest, upper, from, to);
}

const INTERVAL_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A kline interval's length; undefined for months, whose length varies. */
function candleIntervalMs(stream: ParsedStream): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(stream.param ?? '');
  return match === null ? undefined : Number(match[1]) * (INTERVAL_UNIT_MS[match[2]!] as number);
}

/** The `k` object of a kline event (`t` its open time, `x` whether the update closes the candle). */
function candleOf(data: unknown): { t?: unknown; x?: unknown } | undefined {
  return (data as { k?: { t?: unknown; x?: unknown } } | null)?.k;
}

export const binanceHistory: HistoryProcedure = {
  refillBy: (kind) =>
    kind === 'aggTrade' || kind === 'trade' ? 'ids' : kind === 'kline' ? 'candles' : undefined,
  maxEvents: MAX_REFILL_EVENTS,
  fetch: fetchMissing,
  candleOpenTime: (data) => {
    const k = candleOf(data);
    return typeof k?.t === 'number' && typeof k.x === 'boolean' ? k.t : undefined;
  },
  candleClosed: (data) => candleOf(data)?.x === true,
  candleIntervalMs,
};

/**
 * Klines of the candles that opened in [from, to) (open times, ms), as closing updates (`"x":true`) in
 * the stream's field order. The history has no trade ids: `f` and `L` are -1.
 */
async function klines(
  rest: RestGetter,
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

async function aggTrades(rest: RestGetter, symbol: string, from: number, to: number): Promise<RefillResult> {
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

async function trades(rest: RestGetter, symbol: string, from: number, to: number): Promise<RefillResult> {
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
