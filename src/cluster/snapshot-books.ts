/**
 * The order books an ingest node keeps to answer gateways' snapshot requests: one per symbol and depth,
 * kept by WSManager from the exchange's diff stream and REST snapshots (the venue's procedure, within
 * the node's REST budget). Each gateway keeps its own books from the diff streams it receives through
 * NATS and asks for a snapshot only to (re)build one; answering from a kept book makes any number of
 * gateways cost the exchange this book's snapshots, not one per gateway. A book is released `idleMs`
 * after the last request.
 */
import type { BookCapability } from '../core/capabilities.js';
import { KeptBooks } from '../core/kept-books.js';
import type { BookSnapshot } from '../exchange/exchange.js';

/** How long a request waits for a new book to be in step with the exchange. */
export const BOOK_WAIT_MS = 3000;
const DEFAULT_IDLE_MS = 60_000;

export class SnapshotBooks {
  private readonly books: KeptBooks;
  private closed = false;

  constructor(source: BookCapability, idleMs = DEFAULT_IDLE_MS, waitMs = BOOK_WAIT_MS) {
    this.books = new KeptBooks(source, { idleMs, waitMs });
  }

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
    const view = await this.books.keep(symbol, depth)?.view();
    if (view === undefined) return undefined;
    return { lastUpdateId: view.lastUpdateId, bids: view.bids(), asks: view.asks() };
  }

  close(): void {
    this.closed = true;
    this.books.close();
  }
}
