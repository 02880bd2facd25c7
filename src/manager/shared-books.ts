/**
 * Order books shared by their subscribers: one SyncedOrderBook per symbol and depth, made for the first
 * subscriber and closed with the last. WSManager's `orderBook` and a clustered gateway's books differ
 * only in where diffs and snapshots come from (`deps`).
 */
import type { OrderBookListener } from '../core/capabilities.js';
import type { Unsubscribe } from '../core/stream-source.js';
import { type OrderBookDeps, SyncedOrderBook } from './order-book-sync.js';

export class SharedBooks {
  /** By `symbol:depth`. */
  private readonly books = new Map<string, SyncedOrderBook>();

  constructor(private readonly deps: OrderBookDeps) {}

  /**
   * Adds `listener` to the book of `symbol` at `depth` (checked by the caller), making the book if needed.
   * @throws what subscribing to the diff stream throws (the source destroyed).
   */
  add(symbol: string, depth: number, listener: OrderBookListener): Unsubscribe {
    const key = `${symbol}:${depth}`;
    let book = this.books.get(key);
    if (book === undefined || book.isClosed) {
      book = new SyncedOrderBook(symbol, depth, this.deps);
      this.books.set(key, book);
    }
    const shared = book;
    shared.add(listener);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      shared.remove(listener);
      if (shared.size === 0 && this.books.get(key) === shared) {
        this.books.delete(key);
        shared.close();
      }
    };
  }
}
