/**
 * A clustered gateway's order books (the `books` capability of a feed's source): each is kept by the
 * manager's procedure (SyncedOrderBook) from the diff stream the gateway already receives through NATS,
 * and rebuilt from a snapshot the ingest tier answers from a book it keeps (nats-rest.ts), so a gateway
 * never calls the exchange. A gap in the diff stream (an owner change the history could not fill)
 * resynchronises the book as in single-process mode. Subscribers of one symbol and depth share a book.
 *
 * A venue whose stream seeds its books (Bybit: a `snapshot` on each subscription) is seeded here from the
 * ingest tier too: the venue pushes its snapshot only to the connection that subscribes, which is the
 * ingest node's and happened once for every gateway, and a gateway cannot have the venue send a topic
 * afresh. The ingest node's book follows the same topic, so its update id continues the diffs the gateway
 * receives; a snapshot the venue pushes later still resets the book as it comes.
 *
 * A venue that may push a snapshot on subscribe (OKX `books`, `push-or-rest`) keeps its procedure: the
 * cluster's first gateway of a channel receives the venue's snapshot as its first push, through NATS,
 * and needs nothing of the ingest tier, as one process needs no REST call; a gateway whose first push is
 * an update (it joins a channel the ingest node already holds) asks the ingest tier for its snapshot.
 */
import type { BookCapability, OrderBookListener } from '../core/capabilities.js';
import { describeValue, ErrorCodes, InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { StreamListener, Unsubscribe } from '../core/stream-source.js';
import type { BookSnapshot, Exchange } from '../exchange/exchange.js';
import { SharedBooks } from '../manager/shared-books.js';

export interface ClusteredBooksOptions {
  /** The source's subscribe: the diff streams come through NATS. */
  subscribe(stream: string, listener: StreamListener): Unsubscribe;
  readonly exchange: Exchange;
  /** A snapshot from the ingest tier, or undefined when none came (the book retries). */
  snapshot(symbol: string, depth: number): Promise<BookSnapshot | undefined>;
  readonly logger: Logger;
}

export class ClusteredBooks implements BookCapability {
  private readonly books: SharedBooks;

  constructor(private readonly o: ClusteredBooksOptions) {
    const procedure = o.exchange.book;
    this.books = new SharedBooks({
      subscribe: (stream, l) => o.subscribe(stream, l),
      procedure: procedure.seed === 'stream' ? { ...procedure, seed: 'rest' } : procedure,
      snapshot: (s, d) => o.snapshot(s, d),
      logger: o.logger,
    });
  }

  orderBook(symbol: string, depth: number, listener: OrderBookListener): Unsubscribe {
    const { streams, book: procedure } = this.o.exchange;
    if (!streams.isSymbol(symbol)) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `orderBook(symbol): symbol must be ${streams.symbolRule}; received ${describeValue(symbol)}`,
      );
    }
    if (!Number.isInteger(depth) || depth < 1 || depth > procedure.maxDepth) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `orderBook(${JSON.stringify(symbol)}): depth must be an integer from 1 to ${procedure.maxDepth} (the snapshot limit); received ${describeValue(depth)}`,
      );
    }
    return this.books.add(symbol, depth, listener);
  }
}
