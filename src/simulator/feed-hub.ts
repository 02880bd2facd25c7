/**
 * The global feeds of the simulated exchange. A feed starts with its first subscriber or REST request,
 * with a history as if the market had been running before (`producePast`); from then on its sequence
 * ids advance at the configured rate whether or not anyone listens (an idle feed is caught up lazily when
 * a subscriber returns, so it costs no timer). Every subscriber of a stream receives the same events with
 * the same ids.
 */
import { LIST_MAX_LIMIT } from '../exchange/binance/rest-limits.js';
import { type ParsedStream, parseStreamName } from '../exchange/binance/streams.js';
import { Feed, type Subscriber } from './feed.js';
import { createGenerator } from './generators/event-generator.js';
import { candleBounds } from './generators/kline-generator.js';
import { KlineHistory, SequencedHistory } from './rest/feed-history.js';

export interface FeedHubOptions {
  readonly rate: number | 'max';
  readonly seed: number;
  readonly symbols: readonly string[];
  readonly clock?: () => number;
  /** Events of each trade and aggTrade feed kept for the REST API (0: none). */
  readonly historySize?: number;
}

/** Depth diffs still applied to the book while nobody listens, so `/api/v3/depth` sees a moving book. */
const DEPTH_IDLE_EVENTS = 1000;
/** Candles of each kline feed kept for the REST API: one full `/klines` answer. */
const KLINE_HISTORY = 1000;

/** Events produced per feed before a 'max' pump yields to the event loop. */
const MAX_RATE_BATCH = 256;

export class FeedHub {
  private readonly feeds = new Map<string, Feed>();
  private readonly active = new Set<Feed>();
  private readonly clock: () => number;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(private readonly options: FeedHubOptions) {
    this.clock = options.clock ?? Date.now;
    // Ticks between 10 and 100 ms: often enough for smooth delivery, rarely enough to stay cheap.
    this.tickMs = options.rate === 'max' ? 1 : Math.max(10, Math.min(100, 1000 / options.rate));
  }

  /** Adds a subscriber to a stream (the name must already be valid). */
  subscribe(subscriber: Subscriber, name: string): void {
    if (this.closed) return;
    const feed = this.feedFor(name);
    if (feed.subscribers.has(subscriber)) return;
    if (feed.subscribers.size === 0) {
      const now = this.clock();
      if (this.options.rate !== 'max') this.skipOwed(feed, now);
      else feed.advancedTo = now;
      this.active.add(feed);
    }
    feed.subscribers.add(subscriber);
    this.schedule();
  }

  unsubscribe(subscriber: Subscriber, name: string): void {
    const feed = this.feeds.get(name);
    if (feed === undefined || !feed.subscribers.delete(subscriber)) return;
    if (feed.subscribers.size === 0) this.active.delete(feed);
  }

  /**
   * The feed of `name`, started if need be and advanced to now: events owed are sent to its subscribers,
   * or produced into its history when it has none. The REST API calls this before reading a feed, so it
   * never answers with an event the stream has not carried yet, nor misses one it has.
   */
  catchUp(name: string): Feed | undefined {
    if (this.closed) return undefined;
    const feed = this.feedFor(name);
    if (this.options.rate === 'max') return feed;
    const now = this.clock();
    if (feed.subscribers.size === 0) {
      this.skipOwed(feed, now);
      return feed;
    }
    const count = feed.owed(now, this.options.rate);
    feed.cork();
    for (let i = 0; i < count; i++) feed.emit(now);
    feed.uncork();
    return feed;
  }

  /** True when a feed of `symbol` (lowercase) has started. */
  hasSymbol(symbol: string): boolean {
    for (const feed of this.feeds.values()) if (feed.stream.symbol === symbol) return true;
    return false;
  }

  /** Streams whose feed has started. */
  startedStreams(): string[] {
    return [...this.feeds.keys()];
  }

  close(): void {
    this.closed = true;
    this.stop();
    this.active.clear();
    for (const feed of this.feeds.values()) feed.subscribers.clear();
  }

  private feedFor(name: string): Feed {
    let feed = this.feeds.get(name);
    if (feed === undefined) {
      const parsed: ParsedStream | undefined = parseStreamName(name);
      if (parsed === undefined) throw new TypeError(`not a Binance stream name: ${name}`);
      const now = this.clock();
      const generator = createGenerator(parsed, this.options.seed, this.options.symbols, now);
      const history = this.historyFor(parsed);
      const idle = history?.capacity ?? (parsed.kind === 'depth' ? DEPTH_IDLE_EVENTS : 0);
      feed = new Feed(parsed, generator, now, history, idle);
      if (history !== undefined) {
        this.producePast(feed, history, now);
        // The feed starts once its past is made, so the time that took owes no events: a stream's first
        // ids do not depend on how fast the machine produced the history.
        feed.advancedTo = this.clock();
      }
      this.feeds.set(name, feed);
    }
    return feed;
  }

  /**
   * Fills a new feed's history as if the market had been running before it started, so the REST API
   * answers with recent trades and candles from the first request: one full answer of the largest
   * `limit` (LIST_MAX_LIMIT trades at the configured rate, 1 ms apart at 'max'; the ring fills further
   * as the market runs), or two updates per candle for the last KLINE_HISTORY candles. Producing more
   * would hold the event loop (about 15 µs an event) on a feed's first request. The events come from the
   * feed's own generator, so the stream carries on with the next ids.
   */
  private producePast(feed: Feed, history: SequencedHistory | KlineHistory, now: number): void {
    if (history instanceof KlineHistory) {
      const [start, end] = candleBounds(feed.stream.param ?? '1m', now);
      const from = Math.max(0, now - history.capacity * (end - start + 1));
      feed.produce(2 * history.capacity, from, now);
      return;
    }
    const count = Math.min(history.capacity, LIST_MAX_LIMIT);
    const spacingMs = this.options.rate === 'max' ? 1 : 1000 / this.options.rate;
    feed.produce(count, now - count * spacingMs, now);
  }

  private historyFor(stream: ParsedStream): SequencedHistory | KlineHistory | undefined {
    const size = this.options.historySize ?? 0;
    if (size === 0) return undefined;
    if (stream.kind === 'aggTrade') return new SequencedHistory(size, 'a');
    if (stream.kind === 'trade') return new SequencedHistory(size, 't');
    if (stream.kind === 'kline') return new KlineHistory(KLINE_HISTORY);
    return undefined;
  }

  private skipOwed(feed: Feed, now: number): void {
    const from = feed.advancedTo;
    feed.skip(feed.owed(now, this.options.rate as number), from, now);
  }

  private schedule(): void {
    if (this.closed || this.active.size === 0 || this.timer !== undefined || this.immediate !== undefined)
      return;
    if (this.options.rate === 'max') this.immediate = setImmediate(this.pump);
    else this.timer = setInterval(this.tick, this.tickMs);
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private readonly tick = (): void => {
    if (this.active.size === 0) {
      this.stop();
      return;
    }
    const rate = this.options.rate as number;
    const now = this.clock();
    for (const feed of this.active) {
      const count = feed.owed(now, rate);
      if (count === 0) continue;
      feed.cork();
      for (let i = 0; i < count && feed.subscribers.size > 0; i++) feed.emit(now);
      feed.uncork();
    }
  };

  /** 'max' rate: produce while the subscribers' sockets drain; poll each millisecond while they are full. */
  private readonly pump = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.closed || this.active.size === 0) return;
    const now = this.clock();
    let progressed = false;
    for (const feed of this.active) {
      feed.cork();
      for (let i = 0; i < MAX_RATE_BATCH && feed.canPush(); i++) {
        feed.emit(now);
        progressed = true;
      }
      feed.uncork();
      feed.advancedTo = now;
    }
    if (progressed) this.immediate = setImmediate(this.pump);
    else this.timer = setTimeout(this.pump, this.tickMs);
  };
}
