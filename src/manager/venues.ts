/**
 * One view of several venues: trades and order books of a unified symbol (`BTC/USDT`) in one shape
 * whatever the venue, each venue read through its own WSManager (so each keeps its sharing, healing,
 * refills and books). The adapters' `market` part maps the symbol to each venue's instrument and reads
 * its trades; the books are the managers' own, read through the view every venue's book offers.
 */
import type { BookLevel, OrderBookListener, OrderBookView, ResyncNotice } from '../core/capabilities.js';
import { describeValue, ErrorCodes, InvalidArgumentError, type StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { GapEvent, StreamListener, Unsubscribe } from '../core/stream-source.js';
import type { MarketView, Trade, TradeSink } from '../exchange/exchange.js';
import type { WSManager } from './ws-manager.js';

/** The book of one venue after an update, levels best first. */
export interface BookUpdate {
  /** The adapter's `name`: `binance`, `bybit`, `okx`. */
  readonly venue: string;
  /** The unified symbol asked for. */
  readonly symbol: string;
  /** `[price, quantity]` decimal strings, best (highest) first; at most `depth`. */
  readonly bids: readonly BookLevel[];
  /** Best (lowest) first; at most `depth`. */
  readonly asks: readonly BookLevel[];
  /**
   * Local time the update was applied (ms): the venues' book pushes carry times of different meaning
   * (and a REST seed none), so the one time every venue's book has is this one.
   */
  readonly timestamp: number;
  /** The venue book's own update id (Binance `u`, Bybit `u`, OKX `seqId`): grows within one venue only. */
  readonly sequence: number;
}

/** What `Venues.trades` delivers to. Each callback names the venue it concerns. */
export interface TradeListener {
  /** One trade. An exception thrown here harms no other trade or subscriber. */
  next(trade: Trade): void;
  /** The venue's stream skipped trades it could not refill (see `StreamListener.gap`). */
  gap?(gap: GapEvent, venue: string): void;
  /** The venue's stream ended for good; the other venues go on. */
  error?(error: StreamError, venue: string): void;
}

/** What `Venues.books` delivers to. */
export interface BookUpdateListener {
  /** The venue's book after each update. */
  next(update: BookUpdate): void;
  /** The venue's book was rebuilt from a snapshot; `next` follows with it. */
  resynced?(notice: ResyncNotice, venue: string): void;
  /** The venue's book ended for good; the other venues go on. */
  error?(error: StreamError, venue: string): void;
}

/**
 * One venue's stream by the venue's own name: the venue-qualified identity of a stream (`{ venue: 'okx',
 * stream: 'trades:BTC-USDT' }`). `category` tells apart the managers of a venue served apart by
 * category (Bybit `spot`, `linear`); it may be left out where the venue has one manager.
 */
export interface VenueStream {
  readonly venue: string;
  readonly stream: string;
  readonly category?: string;
}

export interface VenueSelection {
  /** Venues to read, by adapter name. @default every venue given to `Venues` */
  venues?: readonly string[];
}

export interface VenueTradesOptions extends VenueSelection {
  /** Set each trade's `raw` to the venue's own item. @default false */
  raw?: boolean;
  /**
   * What a gap in a venue's trades means (as `StreamListener.recovery`): `backfill` refills it from the
   * venue's history where it can, `report` calls `gap`. @default each manager's `recovery` option
   */
  recovery?: 'backfill' | 'report';
}

export interface VenueBooksOptions extends VenueSelection {
  /** Levels per side each update carries, and that each venue's book keeps at least. @default 50 */
  depth?: number;
}

export interface VenuesOptions {
  /** Where trades a venue sent in an unreadable shape are reported (once per subscription). */
  logger?: Logger;
}

/** Per venue: items of its trade payloads that could not be read (they are skipped, and counted here). */
export interface VenueStats {
  readonly venue: string;
  readonly unreadTrades: number;
}

/** One manager of a venue and how it reads unified symbols. */
interface Market {
  readonly venue: string;
  readonly manager: WSManager;
  readonly view: MarketView;
}

/** Where a unified symbol lives on one venue. */
interface Placement {
  readonly market: Market;
  readonly venueSymbol: string;
}

const DEFAULT_BOOK_DEPTH = 50;

/**
 * Reads one venue's trade payloads into `Trade`s for one subscriber: the venue's stream listener and
 * the sink of its reader at once, so a payload costs no closure.
 */
class TradeRelay implements StreamListener, TradeSink {
  /** The first exception the subscriber threw within one payload, thrown again once the payload is read. */
  private failure: unknown;
  private reported = false;
  readonly recovery?: 'backfill' | 'report';

  constructor(
    private readonly venue: string,
    private readonly symbol: string,
    private readonly raw: boolean,
    private readonly read: MarketView['readTrades'],
    private readonly listener: TradeListener,
    private readonly owner: Venues,
    recovery: 'backfill' | 'report' | undefined,
  ) {
    if (recovery !== undefined) this.recovery = recovery;
  }

  next(data: unknown): void {
    const unread = this.read(data, this.venue, this.symbol, this.raw, this);
    if (unread > 0) this.unread(unread);
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      // The manager catches and logs a subscriber's exception, as for any stream listener.
      throw failure;
    }
  }

  trade(trade: Trade): void {
    try {
      this.listener.next(trade);
    } catch (error) {
      this.failure ??= error;
    }
  }

  gap(gap: GapEvent): void {
    this.listener.gap?.(gap, this.venue);
  }

  error(error: StreamError): void {
    this.listener.error?.(error, this.venue);
  }

  private unread(count: number): void {
    this.owner.countUnread(this.venue, count);
    if (this.reported) return;
    this.reported = true;
    this.owner.logger?.warn(
      { venue: this.venue, symbol: this.symbol, unread: count },
      'trade items in an unexpected shape skipped; Venues.stats() counts the rest',
    );
  }
}

/** Reads one venue's book into `BookUpdate`s for one subscriber. */
class BookRelay implements OrderBookListener {
  constructor(
    private readonly venue: string,
    private readonly symbol: string,
    private readonly depth: number,
    private readonly listener: BookUpdateListener,
  ) {}

  next(book: OrderBookView): void {
    this.listener.next({
      venue: this.venue,
      symbol: this.symbol,
      bids: book.bids(this.depth),
      asks: book.asks(this.depth),
      timestamp: Date.now(),
      sequence: book.lastUpdateId,
    });
  }

  resynced(notice: ResyncNotice): void {
    this.listener.resynced?.(notice, this.venue);
  }

  error(error: StreamError): void {
    this.listener.error?.(error, this.venue);
  }
}

function unsubscribeAll(unsubscribes: Unsubscribe[]): Unsubscribe {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}

/**
 * Trades and books of unified symbols across venues, over one WSManager per venue and category (Bybit
 * spot and linear are two managers of venue `bybit`). A symbol goes to the manager of each venue whose
 * adapter can express it: `BTC/USDT` to a spot manager, `BTC/USDT:USDT` to a linear one.
 *
 * ```ts
 * const venues = new Venues([binanceManager, bybitSpotManager, okxManager]);
 * const stop = venues.trades('BTC/USDT', (t) => console.log(t.venue, t.price, t.side), { venues: ['binance', 'okx'] });
 * ```
 */
export class Venues {
  /** The venues given, by adapter name, in the order first given. */
  readonly names: readonly string[];
  /** @internal */
  readonly logger: Logger | undefined;
  private readonly markets: readonly Market[];
  private readonly unreadTrades = new Map<string, number>();

  /**
   * @param managers one WSManager per venue and category; each adapter must have a `market` part.
   * @throws InvalidArgumentError for an empty list, a manager whose adapter has no `market` part, or
   *   two managers of one venue and category.
   */
  constructor(managers: readonly WSManager[], options: VenuesOptions = {}) {
    if (!Array.isArray(managers) || managers.length === 0) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `new Venues(managers): managers must be a non-empty array of WSManager; received ${describeValue(managers)}`,
      );
    }
    const markets: Market[] = [];
    for (const manager of managers) {
      const exchange = manager?.exchange;
      if (exchange?.market === undefined) {
        throw new InvalidArgumentError(
          ErrorCodes.INVALID_ARGUMENT,
          `new Venues(managers): every manager's adapter needs a "market" part (unified symbols and trades); ${exchange === undefined ? `received ${describeValue(manager)}` : `"${exchange.name}" has none`}`,
        );
      }
      // A symbol or a qualified stream must name one manager: one per venue and category.
      const category = exchange.market.category;
      if (markets.some((m) => m.venue === exchange.name && m.view.category === category)) {
        throw new InvalidArgumentError(
          ErrorCodes.INVALID_ARGUMENT,
          `new Venues(managers): two managers of ${exchange.name} (${category}); give one per venue and category`,
        );
      }
      markets.push({ venue: exchange.name, manager, view: exchange.market });
    }
    this.markets = markets;
    this.names = [...new Set(markets.map((m) => m.venue))];
    this.logger = options.logger;
  }

  /**
   * Where unified `symbol` lives on `venue`: its manager and the venue's own symbol (the stream names of
   * that manager take it: `manager.subscribe(\`publicTrade.${venueSymbol}\`, ...)`).
   * @throws InvalidArgumentError for a venue not given or a symbol the venue cannot express.
   */
  locate(venue: string, symbol: string): { readonly manager: WSManager; readonly venueSymbol: string } {
    const { market, venueSymbol } = this.place('Venues.locate', symbol, venue);
    return { manager: market.manager, venueSymbol };
  }

  /**
   * Subscribes to one venue's stream by its own name (`{ venue: 'bybit', category: 'linear', stream:
   * 'publicTrade.BTCUSDT' }`), through that venue's manager: the payload is the venue's, as
   * `WSManager.subscribe` delivers it.
   * @returns an idempotent unsubscribe.
   * @throws InvalidArgumentError for a venue or category without a manager, a venue with several
   *   managers and no category, or a stream name outside the venue's grammar.
   */
  subscribe(target: VenueStream, listener: StreamListener | StreamListener['next']): Unsubscribe {
    return this.managerOf(target).subscribe(target.stream, listener);
  }

  /**
   * Subscribes to the trades of unified `symbol` on each selected venue (every venue by default), each
   * delivered as one `Trade` whatever the venue. The venues' streams are the managers' own: shared
   * with their other subscribers, healed and refilled as theirs are.
   * @returns an idempotent unsubscribe releasing every venue's stream.
   * @throws InvalidArgumentError for a bad symbol, venue list or listener, or a symbol one of the
   *   selected venues cannot express (nothing is subscribed then).
   */
  trades(
    symbol: string,
    listener: TradeListener | TradeListener['next'],
    options: VenueTradesOptions = {},
  ): Unsubscribe {
    const l = this.listenerOf('Venues.trades', listener);
    const placements = this.placeAll('Venues.trades', symbol, options?.venues);
    const raw = options?.raw === true;
    const recovery = options?.recovery;
    if (recovery !== undefined && recovery !== 'backfill' && recovery !== 'report') {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `Venues.trades(${JSON.stringify(symbol)}): recovery must be "backfill" or "report"; received ${describeValue(recovery)}`,
      );
    }
    const unsubscribes: Unsubscribe[] = [];
    try {
      for (const { market, venueSymbol } of placements) {
        const relay = new TradeRelay(market.venue, symbol, raw, market.view.readTrades, l, this, recovery);
        unsubscribes.push(market.manager.subscribe(market.view.tradeStream(venueSymbol), relay));
      }
    } catch (error) {
      for (const unsubscribe of unsubscribes) unsubscribe();
      throw error;
    }
    return unsubscribeAll(unsubscribes);
  }

  /**
   * Subscribes to the order book of unified `symbol` on each selected venue: the managers' own books
   * (`WSManager.orderBook`, each kept by its venue's procedure), delivered after each update as one
   * `BookUpdate` of `depth` levels per side whatever the venue.
   * @returns an idempotent unsubscribe releasing every venue's book.
   * @throws InvalidArgumentError as `trades`, for a depth outside 1 to the smallest maximum of the
   *   selected venues, or a manager without a REST base (the books need one).
   */
  books(
    symbol: string,
    listener: BookUpdateListener | BookUpdateListener['next'],
    options: VenueBooksOptions = {},
  ): Unsubscribe {
    const l = this.listenerOf('Venues.books', listener);
    const placements = this.placeAll('Venues.books', symbol, options?.venues);
    const depth = options?.depth ?? DEFAULT_BOOK_DEPTH;
    const maxDepth = Math.min(...placements.map((p) => p.market.manager.exchange.book.maxDepth));
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1 || depth > maxDepth) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `Venues.books(${JSON.stringify(symbol)}): depth must be an integer from 1 to ${maxDepth} (the smallest book limit of the venues selected); received ${describeValue(depth)}`,
      );
    }
    const unsubscribes: Unsubscribe[] = [];
    try {
      for (const { market, venueSymbol } of placements) {
        const relay = new BookRelay(market.venue, symbol, depth, l);
        unsubscribes.push(market.manager.orderBook(venueSymbol, relay, { depth }));
      }
    } catch (error) {
      for (const unsubscribe of unsubscribes) unsubscribe();
      throw error;
    }
    return unsubscribeAll(unsubscribes);
  }

  /** Per venue, trade items skipped as unreadable since start. */
  stats(): VenueStats[] {
    return this.names.map((venue) => ({ venue, unreadTrades: this.unreadTrades.get(venue) ?? 0 }));
  }

  /** @internal */
  countUnread(venue: string, count: number): void {
    this.unreadTrades.set(venue, (this.unreadTrades.get(venue) ?? 0) + count);
  }

  private managerOf(target: VenueStream): WSManager {
    const { venue, category } = typeof target === 'object' && target !== null ? target : ({} as VenueStream);
    const described = describeValue(target);
    const markets = this.markets.filter(
      (m) => m.venue === venue && (category === undefined || m.view.category === category),
    );
    const known = this.markets.map((m) => `${m.venue} (${m.view.category})`).join(', ');
    if (markets.length === 0) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `Venues.subscribe(${described}): no manager for venue ${describeValue(venue)}${category === undefined ? '' : ` and category ${describeValue(category)}`}; the managers given are ${known}`,
      );
    }
    if (markets.length > 1) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `Venues.subscribe(${described}): ${venue} has several managers (${markets.map((m) => m.view.category).join(', ')}); name the category`,
      );
    }
    return markets[0]!.manager;
  }

  private listenerOf<L extends { next(value: never): void }>(caller: string, listener: L | L['next']): L {
    const l = (typeof listener === 'function' ? { next: listener } : listener) as L;
    if (typeof l !== 'object' || l === null || typeof l.next !== 'function') {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `${caller}(symbol, listener): listener must be a function or an object with a next() method; received ${describeValue(listener)}`,
      );
    }
    return l;
  }

  /** Every selected venue's placement of `symbol`, or the first error: all are checked before any subscribe. */
  private placeAll(caller: string, symbol: string, venues: readonly string[] | undefined): Placement[] {
    const selected = venues ?? this.names;
    if (!Array.isArray(selected) || selected.length === 0) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `${caller}(${describeValue(symbol)}): venues must be a non-empty array of ${this.names.map((n) => `"${n}"`).join(', ')}; received ${describeValue(venues)}`,
      );
    }
    if (new Set(selected).size !== selected.length) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `${caller}(${describeValue(symbol)}): venues names a venue twice: ${JSON.stringify(selected)}`,
      );
    }
    return selected.map((venue) => this.place(caller, symbol, venue));
  }

  private place(caller: string, symbol: string, venue: string): Placement {
    const markets = this.markets.filter((m) => m.venue === venue);
    if (markets.length === 0) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `${caller}(${describeValue(symbol)}): no manager for venue ${describeValue(venue)}; the venues given are ${this.names.map((n) => `"${n}"`).join(', ')}`,
      );
    }
    const reasons: string[] = [];
    for (const market of markets) {
      const answer = typeof symbol === 'string' ? market.view.toVenue(symbol) : undefined;
      if (answer?.ok) return { market, venueSymbol: answer.symbol };
      reasons.push(answer === undefined ? 'symbol must be a string' : answer.reason);
    }
    throw new InvalidArgumentError(
      ErrorCodes.INVALID_ARGUMENT,
      `${caller}(${describeValue(symbol)}): ${venue} cannot read it: ${[...new Set(reasons)].join('; ')}`,
    );
  }
}
