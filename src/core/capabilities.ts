/**
 * What a stream source may offer besides streams, found by property on the source (`source.rest`,
 * `source.books`), with the types they hand out. The gateway serves its REST and depth routes from them
 * and answers those routes with a clear error when its source has neither.
 */
import type { StreamError } from './errors.js';
import type { Unsubscribe } from './stream-source.js';

/** An exchange answer passed on as it came (any status but 429/418), or why there is none. */
export type ForwardedAnswer =
  | { readonly ok: true; readonly status: number; readonly contentType: string; readonly body: string }
  | {
      readonly ok: false;
      /** `refused`: this very request got 429/418, and requests pause until its Retry-After. */
      readonly reason: 'budget' | 'retry_after' | 'refused' | 'unreachable';
      /** When a request could go out again (0 when unreachable). */
      readonly retryAfterMs: number;
    };

/** One price level: `[price, quantity]`, decimal strings as on the wire. */
export type BookLevel = readonly [price: string, quantity: string];

/** What order-book subscribers read. Shared by every subscriber: treat it as read-only. */
export interface OrderBookView {
  /** Lowercase symbol, e.g. `btcusdt`. */
  readonly symbol: string;
  /** The `u` of the last diff applied (or the snapshot's `lastUpdateId`). */
  readonly lastUpdateId: number;
  /** Bids, best (highest) first; at most `limit` of them, at most the book's depth. */
  bids(limit?: number): readonly BookLevel[];
  /** Asks, best (lowest) first. */
  asks(limit?: number): readonly BookLevel[];
}

/** Why and where a book was (re)built from a snapshot. */
export interface ResyncNotice {
  readonly symbol: string;
  readonly lastUpdateId: number;
  /** `'initial'`, or what broke the chain (a gap, a sequence reset, a diff that did not follow). */
  readonly reason: string;
}

/** What an order-book subscriber gets. */
export interface OrderBookListener {
  /** The book after each applied diff (and once on joining a book already in step). Read-only, shared. */
  next(book: OrderBookView): void;
  /** The book was (re)built from a snapshot; `next` follows with it. */
  resynced?(notice: ResyncNotice): void;
  /** The diff stream ended for good (retries exhausted, manager destroyed). Nothing follows. */
  error?(error: StreamError): void;
}

/**
 * GET calls to the exchange's REST API within the weight budget the source keeps below the exchange's
 * limit (its own refills and snapshots spend the same budget). The gateway forwards REST calls through it.
 */
export interface RestCapability {
  /** GET `pathAndQuery` costing `weight`, read up to `maxBytes`, unless the budget or a Retry-After forbids it. */
  forward(pathAndQuery: string, weight: number, maxBytes: number): Promise<ForwardedAnswer>;
  /** The weight per minute clients may spend through `forward`: the rest is kept for the source's own calls. */
  readonly clientWeightPerMinute: number;
}

/** Local order books kept from the exchange's diff stream and REST snapshots (WSManager's `orderBook`). */
export interface BookCapability {
  /**
   * Subscribes to `symbol`'s book of `depth` levels per side; subscribers of one symbol and depth share it.
   * @throws InvalidArgumentError for a bad symbol or depth, StreamError after destroy().
   */
  orderBook(symbol: string, depth: number, listener: OrderBookListener): Unsubscribe;
}
