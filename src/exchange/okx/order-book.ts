/**
 * OKX's order books. `books` (400 levels) pushes `action:"snapshot"` on subscribe, then `update`s whose
 * `prevSeqId` is the `seqId` of the push before; an update with no change repeats the last `seqId`, and
 * a new snapshot (after a service restart, with a smaller `seqId`) replaces the book. `books5` and
 * `bbo-tbt` push full books each time, so every push replaces the book.
 *
 * OKX announced (changelog, 12 Feb 2026) that `books` stops pushing the initial snapshot: the book is
 * then seeded from `GET /api/v5/market/books`, whose `seqId` the buffered updates continue from, the
 * first kept one satisfying `prevSeqId ≤ snapshot seqId < seqId`. Both hold here (`push-or-rest`): a
 * pushed snapshot seeds the book without a REST call, and a first push that is an update has one fetched.
 *
 * The CRC32 `checksum` is not verified: OKX retires it (0 from 23 June 2026 on) in favour of
 * `seqId`/`prevSeqId`, which this procedure checks on every update.
 */
import type { BookDiff, BookLevel, BookSnapshot, OrderBookProcedure } from '../exchange.js';
import { BOOK_MAX_DEPTH, REST_WEIGHTS } from './limits.js';
import { dataOf } from './rest.js';

interface BookData {
  asks?: unknown;
  bids?: unknown;
  seqId?: unknown;
  prevSeqId?: unknown;
  ts?: unknown;
}

function readDiff(envelope: unknown): BookDiff | undefined {
  const e = envelope as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object' || !Array.isArray(e['data'])) return undefined;
  const d = e['data'][0] as BookData | undefined;
  if (d === undefined || d === null || !Array.isArray(d.asks) || !Array.isArray(d.bids)) return undefined;
  const action = e['action'];
  // books5 and bbo-tbt carry no action: each push is the whole (shallow) book.
  const resets = action !== 'update';
  const last = typeof d.seqId === 'number' ? d.seqId : resets ? Number(d.ts) : Number.NaN;
  if (!Number.isFinite(last)) return undefined;
  const first = typeof d.prevSeqId === 'number' ? d.prevSeqId : -1;
  return { first, last, bids: d.bids as BookLevel[], asks: d.asks as BookLevel[], resets };
}

export const okxOrderBook: OrderBookProcedure = {
  maxDepth: BOOK_MAX_DEPTH,
  seed: 'push-or-rest',
  diffStream: (symbol, depth = Number.POSITIVE_INFINITY) =>
    depth <= 1 ? `bbo-tbt:${symbol}` : depth <= 5 ? `books5:${symbol}` : `books:${symbol}`,
  readDiff,
  // The whole 400 levels whatever the depth kept (same weight): updates move deeper levels into view,
  // and a shallower seed would miss them.
  fetchSnapshot: async (rest, symbol) => {
    const query = { instId: symbol, sz: BOOK_MAX_DEPTH };
    const read = dataOf(await rest.get('/api/v5/market/books', query, REST_WEIGHTS.books));
    if (!read.ok) return undefined;
    const d = read.data[0] as BookData | undefined;
    // Without a seqId the updates cannot be placed after it: no seed (the pushed snapshot will do).
    if (d === undefined || typeof d.seqId !== 'number' || !Array.isArray(d.asks) || !Array.isArray(d.bids))
      return undefined;
    return {
      lastUpdateId: d.seqId,
      bids: d.bids as BookLevel[],
      asks: d.asks as BookLevel[],
    } satisfies BookSnapshot;
  },
  // In the live stream `prevSeqId` equals the last `seqId`; over a REST snapshot taken between two pushes
  // it may be below it, so an update applies when `prevSeqId ≤ last < seqId`. One that starts past the
  // book leaves a hole. The no-change update (`seqId = prevSeqId = last`) is stale: nothing to apply.
  step: (diff, lastUpdateId) =>
    diff.last <= lastUpdateId ? 'stale' : diff.first <= lastUpdateId ? 'apply' : 'gap',
};
