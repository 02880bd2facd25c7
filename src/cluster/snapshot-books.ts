/**
 * The order books an ingest node keeps to answer gateways' snapshot requests: one per symbol and depth,
 * kept by WSManager from the exchange's diff stream and REST snapshots (the venue's procedure, within
 * the node's REST budget). Each gateway keeps its own books from the diff streams it receives through
 * NATS and asks for a snapshot only to (re)build one; answering from a kept book makes any number of
 * gateways cost the exchange this book's snapshots, not one per gateway. A book is released `idleMs`
 * after the last request.
 */
import type { BookCapability, OrderBookView } from '../core/capabilities.js';
import type { Unsubscribe } from '../core/stream-source.js';
import type { BookSnapshot } from '../exchange/exchange.js';

/** How long a request waits for a new book to be in step with the exchange. */
export const BOOK_WAIT_MS = 3000;
const DEFAULT_IDLE_MS = 60_000;

interface Kept {
  /** The book, once in step (it stays at its last state while it resynchronises). */
  view: OrderBookView | undefined;
  readonly waiters: Array<() => void>;
  stop: Unsubscribe;
  timer: NodeJS.Timeout | undefined;
}

export class SnapshotBooks {
  private readonly books = new Map<string, Kept>();
  private closed = false;

  constructor(
    private readonly source: BookCapability,
    private readonly idleMs = DEFAULT_IDLE_MS,
    private readonly waitMs = BOOK_WAIT_MS,
  ) {}

  get size(): number {
    return this.books.size;
  }

  /**
   * The book of `symbol` (lowercase) at `depth` levels per side as it stands, or undefined when it is not
   * in step within the wait. A book that is resynchronising answers its last state: a gateway whose diffs
   * do not continue it asks again.
   * @throws InvalidArgumentError for a symbol or depth the source refuses, StreamError after its destroy().
   */
  async snapshot(symbol: string, depth: number): Promise<BookSnapshot | undefined> {
    if (this.closed) return undefined;
    const kept = this.keep(symbol, depth);
    const view = kept.view ?? (await this.firstView(kept));
    if (view === undefined) return undefined;
    return { lastUpdateId: view.lastUpdateId, bids: view.bids(), asks: view.asks() };
  }

  close(): void {
    this.closed = true;
    for (const kept of this.books.values()) this.release(kept);
    this.books.clear();
  }

  private keep(symbol: string, depth: number): Kept {
    const key = `${symbol}:${depth}`;
    let kept = this.books.get(key);
    if (kept === undefined) {
      const fresh: Kept = { view: undefined, waiters: [], stop: () => {}, timer: undefined };
      fresh.stop = this.source.orderBook(symbol, depth, {
        next: (view) => {
          fresh.view = view;
          for (const wake of fresh.waiters.splice(0)) wake();
        },
        // The diff stream ended for good: the next request starts a new book.
        error: () => {
          if (this.books.get(key) === fresh) this.books.delete(key);
          this.release(fresh);
          for (const wake of fresh.waiters.splice(0)) wake();
        },
      });
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
      const timer = setTimeout(() => {
        const i = kept.waiters.indexOf(waiter);
        if (i >= 0) kept.waiters.splice(i, 1);
        resolve(kept.view);
      }, this.waitMs);
      kept.waiters.push(waiter);
    });
  }

  private release(kept: Kept): void {
    if (kept.timer !== undefined) clearTimeout(kept.timer);
    kept.timer = undefined;
    kept.stop();
  }
}
