/**
 * Order books kept while they are asked for: one per symbol and depth from a source's `books`, released
 * `idleMs` after the last request. A request for a book not in step yet waits for it up to `waitMs`.
 * Used where books answer snapshot requests (the gateway's depth route, an ingest node's snapshots for
 * gateways), so any number of requests cost the exchange one book's snapshots.
 */
import type { BookCapability, OrderBookView } from './capabilities.js';
import type { Unsubscribe } from './stream-source.js';

export interface KeptBooksOptions {
  /** A book is released this long after the last request for it. */
  readonly idleMs: number;
  /** A request waits this long for a new book to be in step. */
  readonly waitMs: number;
  /** Asked before a new book is kept; false refuses it (e.g. no room for its upstream stream). */
  admit?(symbol: string, depth: number): boolean;
  /** Called once for each admitted book when it is released (idle, failed, or closed). */
  released?(symbol: string, depth: number): void;
}

/** One kept book. */
export interface KeptBook {
  /** The book once in step (it stays at its last state while it resynchronises), waiting up to `waitMs`. */
  view(): Promise<OrderBookView | undefined>;
}

class Book implements KeptBook {
  current: OrderBookView | undefined;
  readonly waiters: Array<() => void> = [];
  stop: Unsubscribe = () => {};
  timer: NodeJS.Timeout | undefined;
  released = false;

  constructor(
    readonly symbol: string,
    readonly depth: number,
    private readonly waitMs: number,
  ) {}

  view(): Promise<OrderBookView | undefined> {
    if (this.current !== undefined || this.released) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(this.current);
      };
      // A book that stays out of step keeps no waiter past the wait.
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(this.current);
      }, this.waitMs);
      this.waiters.push(waiter);
    });
  }

  wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export class KeptBooks {
  private readonly books = new Map<string, Book>();

  constructor(
    private readonly source: BookCapability,
    private readonly o: KeptBooksOptions,
  ) {}

  get size(): number {
    return this.books.size;
  }

  has(symbol: string, depth: number): boolean {
    return this.books.has(`${symbol}:${depth}`);
  }

  /**
   * The book of `symbol` at `depth`, kept for `idleMs` from now; undefined when `admit` refused a new one.
   * @throws what the source's `orderBook` throws (a symbol or depth it refuses, or after its destroy()).
   */
  keep(symbol: string, depth: number): KeptBook | undefined {
    const key = `${symbol}:${depth}`;
    let book = this.books.get(key);
    if (book === undefined) {
      if (this.o.admit?.(symbol, depth) === false) return undefined;
      const fresh = new Book(symbol, depth, this.o.waitMs);
      try {
        fresh.stop = this.source.orderBook(symbol, depth, {
          next: (view) => {
            fresh.current = view;
            fresh.wake();
          },
          // The diff stream ended for good: the next request starts a new book.
          error: () => {
            if (this.books.get(key) === fresh) this.books.delete(key);
            this.release(fresh);
          },
        });
      } catch (error) {
        fresh.released = true;
        this.o.released?.(symbol, depth);
        throw error;
      }
      book = fresh;
      this.books.set(key, book);
    }
    const current = book;
    if (current.timer !== undefined) clearTimeout(current.timer);
    current.timer = setTimeout(() => {
      if (this.books.get(key) === current) this.books.delete(key);
      this.release(current);
    }, this.o.idleMs);
    current.timer.unref();
    return current;
  }

  close(): void {
    for (const book of this.books.values()) this.release(book);
    this.books.clear();
  }

  /** Stops keeping a book; the first call for a book counts, later ones do nothing. */
  private release(book: Book): void {
    if (book.released) return;
    book.released = true;
    if (book.timer !== undefined) clearTimeout(book.timer);
    book.timer = undefined;
    book.stop();
    book.wake();
    this.o.released?.(book.symbol, book.depth);
  }
}
