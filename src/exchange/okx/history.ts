/**
 * OKX's REST history. Trades: `/api/v5/market/history-trades` pages backwards by trade id (`type=1`,
 * `after` = ids below it, newest first, 100 per page), so a gap in trade ids is refilled page by page as
 * the `trades` channel would have carried them, one trade per push. Candles: `/api/v5/market/candles`
 * answers bars before `after` and after `before`, newest first; a bar whose closing push
 * (`confirm` "1") was missed is refilled from it.
 */
import type { HistoryProcedure, ParsedStream, RefillResult, RestGetter, SequenceRange } from '../exchange.js';
import { CANDLES_PAGE_MAX, MAX_REFILL_TRADES, REST_WEIGHTS, TRADES_PAGE_MAX } from './limits.js';
import { dataOf } from './rest.js';
import { barMs } from './streams.js';

interface TradeRow {
  instId?: unknown;
  tradeId?: unknown;
  px?: unknown;
  sz?: unknown;
  side?: unknown;
  ts?: unknown;
  count?: unknown;
}

/**
 * The trade ids a `trades` push covers. `count` is how many fills OKX aggregated into one item, whose
 * `tradeId` is taken as the last of them (our reading of OKX's aggregation note; items without `count`
 * are single trades).
 */
export function tradeRange(envelope: Record<string, unknown>): SequenceRange | undefined {
  const data = envelope['data'];
  if (!Array.isArray(data) || data.length === 0) return undefined;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const item of data as TradeRow[]) {
    const id = Number(item?.tradeId);
    if (!Number.isSafeInteger(id)) return undefined;
    const count = item.count === undefined ? 1 : Number(item.count);
    const from = id - (Number.isSafeInteger(count) && count > 1 ? count - 1 : 0);
    if (from < first) first = from;
    if (id > last) last = id;
  }
  return { first, last };
}

/** A trade as the `trades` channel pushes it, from a history row. */
function tradePush(stream: ParsedStream, r: TradeRow): Record<string, unknown> {
  return {
    arg: { channel: 'trades', instId: stream.symbol },
    data: [
      { instId: stream.symbol, tradeId: r.tradeId, px: r.px, sz: r.sz, side: r.side, ts: r.ts, count: '1' },
    ],
  };
}

async function trades(
  rest: RestGetter,
  stream: ParsedStream,
  from: number,
  to: number,
): Promise<RefillResult> {
  // The newest of a larger gap are what the history certainly still holds; the rest is reported missed.
  const lowest = Math.max(from, to - MAX_REFILL_TRADES);
  const byId = new Map<number, TradeRow>();
  let cursor = to;
  while (cursor > lowest) {
    const query = { instId: stream.symbol ?? '', type: 1, after: cursor, limit: TRADES_PAGE_MAX };
    const read = dataOf(await rest.get('/api/v5/market/history-trades', query, REST_WEIGHTS.historyTrades));
    if (!read.ok) return read;
    let oldest = cursor;
    for (const row of read.data as TradeRow[]) {
      const id = Number(row?.tradeId);
      if (!Number.isSafeInteger(id) || id >= cursor) continue;
      if (id >= lowest) byId.set(id, row);
      if (id < oldest) oldest = id;
    }
    // A page that brought nothing older: the history ends here.
    if (oldest === cursor || read.data.length < TRADES_PAGE_MAX) break;
    cursor = oldest;
  }
  // Contiguous from the newest down: a hole in what the history answered ends the refill there.
  let firstId = to;
  while (byId.has(firstId - 1) && firstId - 1 >= lowest) firstId--;
  if (firstId === to) return { ok: false, reason: 'history_gone' };
  const events: Record<string, unknown>[] = [];
  for (let id = firstId; id < to; id++) events.push(tradePush(stream, byId.get(id)!));
  return { ok: true, firstId, events };
}

/** The candle of a candle push: `data` holds (usually one) `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`. */
function candleOf(envelope: unknown): unknown[] | undefined {
  const data = (envelope as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const c = data[data.length - 1];
  return Array.isArray(c) ? c : undefined;
}

async function candles(
  rest: RestGetter,
  stream: ParsedStream,
  from: number,
  to: number,
): Promise<RefillResult> {
  const bar = stream.param ?? '1m';
  const query = { instId: stream.symbol ?? '', bar, after: to, before: from - 1, limit: CANDLES_PAGE_MAX };
  const read = dataOf(await rest.get('/api/v5/market/candles', query, REST_WEIGHTS.candles));
  if (!read.ok) return read;
  const rows = (read.data as unknown[][])
    .filter((r) => Array.isArray(r) && Number(r[0]) >= from && Number(r[0]) < to && r[8] === '1')
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  const first = rows[0];
  if (first === undefined) return { ok: false, reason: 'history_gone' };
  const channel = `candle${bar}`;
  const events = rows.map((r) => ({ arg: { channel, instId: stream.symbol }, data: [r] }));
  return { ok: true, firstId: Number(first[0]), events };
}

export const okxHistory: HistoryProcedure = {
  refillBy: (kind) => (kind === 'trades' ? 'ids' : kind === 'candle' ? 'candles' : undefined),
  maxEvents: MAX_REFILL_TRADES,
  fetch: (rest, stream, from, to) => {
    if (stream.kind === 'trades') return trades(rest, stream, from, to);
    if (stream.kind === 'candle') return candles(rest, stream, from, to);
    return Promise.resolve({ ok: false, reason: 'history_gone' });
  },
  candleOpenTime: (data) => {
    const c = candleOf(data);
    const t = Number(c?.[0]);
    return c !== undefined && Number.isFinite(t) ? t : undefined;
  },
  candleClosed: (data) => candleOf(data)?.[8] === '1',
  candleIntervalMs: (stream) => barMs(stream.param),
};
