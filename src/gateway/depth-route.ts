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

import type { OrderBookView } from '../core/capabilities.js';
import type { BookCapability, Unsubscribe } from '../core/stream-source.js';
import type { RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import { restAnswer, restError } from './rest-response.js';
import type { UpstreamStreamCap } from './upstream-stream-cap.js';

/** Depth of the books kept: one that answers every limit up to 1000 at the snapshot weight of 1000. */
const BOOK_DEPTH = 1000;
/** A first request waits this long for its book to be in step with the exchange. */
const FIRST_SNAPSHOT_TIMEOUT_MS = 5000;
const DEFAULT_IDLE_MS = 60_000;

interface Kept {
  /** The upstream stream the book is kept from, held in the stream cap. */
  readonly stream: string;
  view: OrderBookView | undefined;
  readonly waiters: Array<() => void>;
  stop: Unsubscribe;
  timer: NodeJS.Timeout | undefined;
  released: boolean;
}

export class DepthService {
  private readonly books = new Map<string, Kept>();

  /**
   * @param symbolInfo the exchange's `exchangeInfo?symbol=` answer for a symbol (uppercase): asked before
   *   a book is kept for a symbol, so an unknown one gets the exchange's -1121 at once and costs no
   *   upstream subscription nor snapshot retries.
   */
  constructor(
    private readonly source: BookCapability,
    private readonly symbolInfo: (symbol: string) => Promise<HttpResponse>,
    private readonly streamCap: UpstreamStreamCap,
    private readonly dialect: RestDialect,
    private readonly idleMs = DEFAULT_IDLE_MS,
  ) {}

  /** Answers a query that passed Binance's query rules (`queryError`). */
  async answer(url: URL): Promise<HttpResponse> {
    const upper = url.searchParams.get('symbol') ?? '';
    const symbol = upper.toLowerCase();
    const limit = this.dialect.depthLimit(url.searchParams);
    const depth = limit <= BOOK_DEPTH ? BOOK_DEPTH : this.dialect.depthMaxLimit;
    if (!this.books.has(`${symbol}:${depth}`)) {
      const info = await this.symbolInfo(upper);
      if (info.status !== 200) return info;
    }
    let kept: Kept | undefined;
    try {
      kept = this.keep(symbol, depth);
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
    const view = kept.view ?? (await this.firstView(kept));
    if (view === undefined) return restError(this.dialect, 503, this.dialect.errors.internal);
    return restAnswer(
      this.dialect,
      200,
      JSON.stringify({ lastUpdateId: view.lastUpdateId, bids: view.bids(limit), asks: view.asks(limit) }),
    );
  }

  close(): void {
    for (const kept of this.books.values()) this.release(kept);
    this.books.clear();
  }

  /** The kept book, kept from now if new; undefined when its stream would pass the stream cap. */
  private keep(symbol: string, depth: number): Kept | undefined {
    const key = `${symbol}:${depth}`;
    let kept = this.books.get(key);
    if (kept === undefined) {
      // The stream an order book is kept from.
      const stream = `${symbol}@depth@100ms`;
      if (!this.streamCap.acquire(stream, false)) return undefined;
      const fresh: Kept = {
        stream,
        view: undefined,
        waiters: [],
        timer: undefined,
        stop: () => {},
        released: false,
      };
      try {
        fresh.stop = this.source.orderBook(symbol, depth, {
          next: (view) => {
            fresh.view = view;
            for (const wake of fresh.waiters.splice(0)) wake();
          },
          // The book ended (its stream failed): its hold on the cap goes with it.
          error: () => {
            if (this.books.get(key) === fresh) this.books.delete(key);
            this.release(fresh);
          },
        });
      } catch (error) {
        this.streamCap.release(stream, false);
        throw error;
      }
      kept = fresh;
      this.books.set(key, kept);
    }
    const current = kept;
    if (current.timer !== undefined) clearTimeout(current.timer);
    current.timer = setTimeout(() => {
      if (this.books.get(key) === current) this.books.delete(key);
      this.release(current);
    }, this.idleMs);
    current.timer.unref();
    return current;
  }

  private firstView(kept: Kept): Promise<OrderBookView | undefined> {
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(kept.view);
      };
      // A book that stays out of step keeps no waiter past its timeout.
      const timer = setTimeout(() => {
        const i = kept.waiters.indexOf(waiter);
        if (i >= 0) kept.waiters.splice(i, 1);
        resolve(kept.view);
      }, FIRST_SNAPSHOT_TIMEOUT_MS);
      kept.waiters.push(waiter);
    });
  }

  /** Stops keeping a book; the first call for a book counts, later ones do nothing. */
  private release(kept: Kept): void {
    if (kept.released) return;
    kept.released = true;
    if (kept.timer !== undefined) clearTimeout(kept.timer);
    kept.stop();
    this.streamCap.release(kept.stream, false);
  }
}
