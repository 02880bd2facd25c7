/**
 * `GET /api/v3/depth` served from order books the gateway keeps (its source's `books`), so a Binance
 * client's snapshot step works through the gateway and a thousand clients cost the exchange one book's
 * snapshots, not a thousand. Answers as Binance does (`{"lastUpdateId","bids","asks"}`, error bodies
 * `{"code","msg"}`; the query rules and weights are `RestService`'s). A book is kept while
 * asked for, and released after `idleMs` without a request.
 * A kept book's `@depth@100ms` stream is an upstream subscription like a client's, so it counts against
 * MAX_UPSTREAM_STREAMS (the gateway's {@link UpstreamStreamCap}): when the cap has no room, a book for a
 * new symbol is refused with 503 and Binance's -1008 (server busy), and the WebSocket clients' streams
 * are not displaced.
 */

import { KeptBooks } from '../core/kept-books.js';
import type { BookCapability } from '../core/stream-source.js';
import type { RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import { restAnswer, restError } from './rest-response.js';
import type { UpstreamStreamCap } from './upstream-stream-cap.js';

/** Depth of the books kept: one that answers every limit up to 1000 at the snapshot weight of 1000. */
const BOOK_DEPTH = 1000;
/** A first request waits this long for its book to be in step with the exchange. */
const FIRST_SNAPSHOT_TIMEOUT_MS = 5000;
const DEFAULT_IDLE_MS = 60_000;

/** The upstream stream a book of `symbol` is kept from, held in the stream cap while the book is kept. */
function bookStream(symbol: string): string {
  return `${symbol}@depth@100ms`;
}

export class DepthService {
  private readonly books: KeptBooks;

  /**
   * @param symbolInfo the exchange's `exchangeInfo?symbol=` answer for a symbol (uppercase): asked before
   *   a book is kept for a symbol, so an unknown one gets the exchange's -1121 at once and costs no
   *   upstream subscription nor snapshot retries.
   */
  constructor(
    source: BookCapability,
    private readonly symbolInfo: (symbol: string) => Promise<HttpResponse>,
    streamCap: UpstreamStreamCap,
    private readonly dialect: RestDialect,
    private readonly idleMs = DEFAULT_IDLE_MS,
  ) {
    this.books = new KeptBooks(source, {
      idleMs,
      waitMs: FIRST_SNAPSHOT_TIMEOUT_MS,
      admit: (symbol) => streamCap.acquire(bookStream(symbol), false),
      released: (symbol) => streamCap.release(bookStream(symbol), false),
    });
  }

  /** Answers a query that passed Binance's query rules (`queryError`). */
  async answer(url: URL): Promise<HttpResponse> {
    const upper = url.searchParams.get('symbol') ?? '';
    const symbol = upper.toLowerCase();
    const limit = this.dialect.depthLimit(url.searchParams);
    const depth = limit <= BOOK_DEPTH ? BOOK_DEPTH : this.dialect.depthMaxLimit;
    if (!this.books.has(symbol, depth)) {
      const info = await this.symbolInfo(upper);
      if (info.status !== 200) return info;
    }
    let kept: ReturnType<KeptBooks['keep']>;
    try {
      kept = this.books.keep(symbol, depth);
    } catch {
      // The source refused the book (a symbol outside its stricter name rule, or it is shutting down).
      return restError(this.dialect, 503, this.dialect.errors.internal);
    }
    // Room may come within a book's idle time, or sooner as WebSocket clients leave.
    if (kept === undefined) {
      return restError(this.dialect, 503, this.dialect.errors.busy, {
        'retry-after': String(this.idleMs / 1000),
      });
    }
    const view = await kept.view();
    if (view === undefined) return restError(this.dialect, 503, this.dialect.errors.internal);
    return restAnswer(
      this.dialect,
      200,
      JSON.stringify({ lastUpdateId: view.lastUpdateId, bids: view.bids(limit), asks: view.asks(limit) }),
    );
  }

  close(): void {
    this.books.close();
  }
}
