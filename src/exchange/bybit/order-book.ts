/**
 * Bybit's order book (v5 "Orderbook"): subscribing to `orderbook.{depth}.{symbol}` pushes a `snapshot`,
 * then `delta`s; "if you receive a new snapshot message, you will have to reset your local orderbook".
 * `u` is the update id: it grows by one per update, and `u=1` means the service restarted, so that
 * message overwrites the book whatever came before. Depth 1 is snapshot-only and re-pushed with the same
 * `u` after 3 s without change. The stream seeds the book, so no REST snapshot is fetched: the REST
 * order book's `u` belongs to the 1000-level stream and cannot continue another depth's deltas.
 */
import type { BookDiff, BookLevel, OrderBookProcedure } from '../exchange.js';
import { BOOK_DEPTHS } from './limits.js';
import { bookDepthFor } from './streams.js';

function readDiff(envelope: unknown): BookDiff | undefined {
  const e = envelope as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object') return undefined;
  const d = e['data'] as Record<string, unknown> | null | undefined;
  if (d === null || typeof d !== 'object') return undefined;
  const { u, b, a } = d;
  if (typeof u !== 'number' || !Array.isArray(b) || !Array.isArray(a)) return undefined;
  const resets = e['type'] === 'snapshot' || u === 1;
  return { first: u, last: u, bids: b as BookLevel[], asks: a as BookLevel[], resets };
}

export const bybitOrderBook: OrderBookProcedure = {
  maxDepth: BOOK_DEPTHS[BOOK_DEPTHS.length - 1]!,
  seed: 'stream',
  diffStream: (symbol, depth = Number.POSITIVE_INFINITY) => `orderbook.${bookDepthFor(depth)}.${symbol}`,
  readDiff,
  // Never called for a stream-seeded book; answers nothing so a caller that does gets no false seed.
  fetchSnapshot: async () => undefined,
  step: (diff, lastUpdateId) =>
    diff.last <= lastUpdateId ? 'stale' : diff.last === lastUpdateId + 1 ? 'apply' : 'gap',
};
