/**
 * Binance's procedure for a local order book ("How to manage a local order book correctly"): buffer the
 * `<symbol>@depth@100ms` diffs, fetch a `/api/v3/depth` snapshot, drop the diffs with `u` ≤ its
 * `lastUpdateId`, apply the first one that straddles it, then each diff only when its `U` is the previous
 * `u` + 1. Binance diffs never replace the book: only a gap does, through a new snapshot.
 */
import type { BookDiff, BookLevel, BookSnapshot, OrderBookProcedure } from '../exchange.js';
import { DEPTH_MAX_LIMIT, depthWeight } from './rest-limits.js';

function readDiff(data: unknown): BookDiff | undefined {
  const d = data as Record<string, unknown> | null;
  if (d === null || typeof d !== 'object') return undefined;
  const { U, u, b, a } = d;
  if (typeof U !== 'number' || typeof u !== 'number' || !Array.isArray(b) || !Array.isArray(a))
    return undefined;
  return { first: U, last: u, bids: b as BookLevel[], asks: a as BookLevel[], resets: false };
}

function readSnapshot(body: unknown): BookSnapshot | undefined {
  const s = body as Record<string, unknown> | null | undefined;
  if (s === null || typeof s !== 'object') return undefined;
  const { lastUpdateId, bids, asks } = s;
  if (typeof lastUpdateId !== 'number' || !Array.isArray(bids) || !Array.isArray(asks)) return undefined;
  return { lastUpdateId, bids: bids as BookLevel[], asks: asks as BookLevel[] };
}

export const binanceOrderBook: OrderBookProcedure = {
  maxDepth: DEPTH_MAX_LIMIT,
  seed: 'rest',
  // One diff stream carries every level, whatever the depth kept.
  diffStream: (symbol) => `${symbol}@depth@100ms`,
  readDiff,
  fetchSnapshot: async (rest, symbol, depth) => {
    const query = { symbol: symbol.toUpperCase(), limit: depth };
    const answer = await rest.get('/api/v3/depth', query, depthWeight(depth));
    return answer.ok ? readSnapshot(answer.body) : undefined;
  },
  // Steps 4 and 5 of the procedure: a diff at or below the book is already in it; one whose `U` is past
  // the next id leaves a hole.
  step: (diff, lastUpdateId) =>
    diff.last <= lastUpdateId ? 'stale' : diff.first > lastUpdateId + 1 ? 'gap' : 'apply',
};
