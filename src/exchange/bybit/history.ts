/**
 * Bybit's REST history. Klines: `/v5/market/kline` answers candles by `start`/`end` (newest first, up to
 * 1,000), so a candle whose closing update (`confirm:true`) was missed is refilled as the stream would
 * have closed it. Trades: `/v5/market/recent-trade` has no cursor and no time parameter; it answers only
 * the latest trades (60 on spot, 1,000 on linear). Older trades are not public, so a trade refill covers
 * what that window still holds and says how far back it reached (`refillRecentTrades`).
 *
 * `publicTrade` carries no contiguous id: `i` is a string (a UUID on linear), and `seq` is the matching
 * engine's cross sequence, shared with the order book, so a jump in either is not a missed trade and
 * equal values are not duplicates. The stream itself can therefore show no trade gap; only a lost
 * connection tells that trades may have been missed, and how many is unknown.
 */
import type { HistoryProcedure, ParsedStream, RefillFailure, RefillResult, RestGetter } from '../exchange.js';
import { KLINE_MAX_LIMIT, RECENT_TRADES_MAX } from './limits.js';
import { type BybitMarket, resultOf } from './rest.js';

/** A kline interval's length in ms; undefined for months, whose length varies. */
export function candleIntervalMs(interval: string | undefined): number | undefined {
  if (interval === undefined || interval === 'M') return undefined;
  if (interval === 'D') return 86_400_000;
  if (interval === 'W') return 604_800_000;
  const minutes = Number(interval);
  return Number.isInteger(minutes) && minutes > 0 ? minutes * 60_000 : undefined;
}

interface Candle {
  start?: unknown;
  confirm?: unknown;
}

/** The candle of a kline event: `data` is an array of (usually one) candle. */
function candleOf(envelope: unknown): Candle | undefined {
  const data = (envelope as { data?: unknown } | null)?.data;
  return Array.isArray(data) ? (data[data.length - 1] as Candle | undefined) : undefined;
}

async function klines(
  rest: RestGetter,
  category: BybitMarket,
  stream: ParsedStream,
  from: number,
  to: number,
): Promise<RefillResult> {
  const interval = stream.param ?? '1';
  const symbol = stream.symbol ?? '';
  const query = { category, symbol, interval, start: from, end: to - 1, limit: KLINE_MAX_LIMIT };
  const read = resultOf(await rest.get('/v5/market/kline', query, 1));
  if (!read.ok) return read;
  const rows = Array.isArray(read.result['list']) ? (read.result['list'] as unknown[][]) : [];
  const step = candleIntervalMs(interval);
  const events = rows
    .filter((r) => Array.isArray(r) && Number(r[0]) >= from && Number(r[0]) < to)
    .map((r) => {
      const start = Number(r[0]);
      const end = step === undefined ? start : start + step - 1;
      return {
        topic: stream.name,
        type: 'snapshot',
        ts: end,
        data: [
          {
            start,
            end,
            interval,
            open: r[1],
            close: r[4],
            high: r[2],
            low: r[3],
            volume: r[5],
            turnover: r[6],
            confirm: true,
            timestamp: end,
          },
        ],
      };
    })
    .sort((a, b) => a.data[0]!.start - b.data[0]!.start);
  const first = events[0];
  if (first === undefined) return { ok: false, reason: 'history_gone' };
  return { ok: true, firstId: first.data[0]!.start, events };
}

/** Bybit's history procedure for one category. */
export function bybitHistory(category: BybitMarket): HistoryProcedure {
  return {
    // No trade gap can be seen in the stream (see above); candles are found by their closing update.
    refillBy: (kind) => (kind === 'kline' ? 'candles' : undefined),
    maxEvents: KLINE_MAX_LIMIT,
    fetch: (rest, stream, from, to) =>
      stream.kind === 'kline'
        ? klines(rest, category, stream, from, to)
        : Promise.resolve({ ok: false, reason: 'history_gone' }),
    candleOpenTime: (data) => {
      const c = candleOf(data);
      return typeof c?.start === 'number' && typeof c.confirm === 'boolean' ? c.start : undefined;
    },
    candleClosed: (data) => candleOf(data)?.confirm === true,
    candleIntervalMs: (stream) => candleIntervalMs(stream.param),
    // A lost connection is the only sign of missed trades: refill from the recent-trade window.
    resume: {
      kinds: new Set(['publicTrade']),
      fetch: async (rest, stream, lastSeen, firstLive) => {
        const after = tradeMarkOf(lastSeen, 'last');
        if (after === undefined) return { ok: false, reason: 'history_gone' };
        const before = tradeMarkOf(firstLive, 'first');
        // The last trade seen is newer than the first live one (a shard's previous owner published on
        // past it): nothing lies between, and the venue need not be asked.
        if (before !== undefined && after.T > before.T) return { ok: true, events: [], complete: true };
        const read = await refillRecentTrades(rest, category, stream, after, before);
        return read.ok ? { ok: true, events: read.events, complete: read.complete } : read;
      },
    },
  };
}

/** The first or last trade of a publicTrade envelope, as a mark. */
function tradeMarkOf(envelope: unknown, which: 'first' | 'last'): TradeMark | undefined {
  const data = (envelope as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0) return undefined;
  const t = data[which === 'first' ? 0 : data.length - 1] as { i?: unknown; T?: unknown } | undefined;
  return typeof t?.i === 'string' && typeof t.T === 'number' ? { i: t.i, T: t.T } : undefined;
}

/** A trade as a publicTrade event names it: `i` its id, `T` its time (ms). */
export interface TradeMark {
  readonly i: string;
  readonly T: number;
}

/** What the recent-trade window gave for the trades between two seen ones. */
export type RecentTradesRefill =
  | {
      readonly ok: true;
      /** publicTrade events, one trade each, oldest first, as the stream would have carried them. */
      readonly events: readonly Record<string, unknown>[];
      /**
       * True when the window reached back to `after` (its trade is in the answer), so nothing between
       * it and the events can be missing; false when trades older than the window's oldest
       * (`oldestTime`) may have been missed and cannot be refilled by anyone.
       */
      readonly complete: boolean;
      /** Time (ms) of the oldest trade the window held; undefined when it held none. */
      readonly oldestTime: number | undefined;
      /** Trades the venue answers at most (spot 60). */
      readonly window: number;
    }
  | { readonly ok: false; readonly reason: RefillFailure };

interface TradeRow {
  execId?: unknown;
  symbol?: unknown;
  price?: unknown;
  size?: unknown;
  side?: unknown;
  time?: unknown;
  isBlockTrade?: unknown;
  isRPITrade?: unknown;
  seq?: unknown;
}

/**
 * Refills the trades of `stream` (a `publicTrade` topic) after `after`, the last trade delivered, and
 * before `before`, the first trade live again (undefined: up to the newest), from the recent-trade
 * window. `complete` says honestly whether the window reached back far enough.
 */
export async function refillRecentTrades(
  rest: RestGetter,
  category: BybitMarket,
  stream: ParsedStream,
  after: TradeMark,
  before?: TradeMark,
): Promise<RecentTradesRefill> {
  const window = RECENT_TRADES_MAX[category];
  const symbol = stream.symbol ?? '';
  const read = resultOf(await rest.get('/v5/market/recent-trade', { category, symbol, limit: window }, 1));
  if (!read.ok) return read;
  const rows = (Array.isArray(read.result['list']) ? (read.result['list'] as TradeRow[]) : []).filter(
    (r) => typeof r.execId === 'string' && typeof r.time === 'string',
  );
  // Newest first on the wire; oldest first from here on.
  rows.reverse();
  const oldest = rows[0];
  const oldestTime = oldest === undefined ? undefined : Number(oldest.time);
  const seenAt = rows.findIndex((r) => r.execId === after.i);
  let startAt = seenAt + 1;
  if (seenAt < 0) {
    // The last trade seen is older than the window: keep only what is certainly newer than it.
    startAt = rows.findIndex((r) => Number(r.time) > after.T);
    if (startAt < 0) startAt = rows.length;
  }
  const events: Record<string, unknown>[] = [];
  for (let k = startAt; k < rows.length; k++) {
    const r = rows[k]!;
    if (before !== undefined && (r.execId === before.i || Number(r.time) > before.T)) break;
    const T = Number(r.time);
    events.push({
      topic: stream.name,
      type: 'snapshot',
      ts: T,
      data: [
        {
          T,
          s: r.symbol,
          S: r.side,
          v: r.size,
          p: r.price,
          i: r.execId,
          BT: r.isBlockTrade === true,
          ...(typeof r.seq === 'number' || typeof r.seq === 'string' ? { seq: Number(r.seq) } : {}),
        },
      ],
    });
  }
  return { ok: true, events, complete: seenAt >= 0, oldestTime, window };
}
