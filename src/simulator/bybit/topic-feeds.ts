/**
 * Bybit topics of the simulator: each is one subscriber of the internal feed it views, turning every
 * event into one Bybit frame that all its sessions share. Order-book topics keep the top `depth` levels
 * of the internal book and their own update id `u`: a subscriber gets a `snapshot` first, then a `delta`
 * per change of those levels with `u` one above the previous (depth 1: a snapshot each time).
 */
import type { ParsedStream } from '../../exchange/exchange.js';
import type { FeedHub } from '../feed-hub.js';
import { DepthDiffGenerator } from '../generators/book-generators.js';
import type { BybitBookView } from '../types.js';
import {
  changes,
  fillSide,
  type Side,
  sortedSide,
  VenueFeed,
  VenueFeeds,
  type VenueSubscriber,
} from '../venue-feed.js';
import { klineFrame, sourceStreamOf, tickerFrame, tradeFrame } from './translate.js';

/** What a topic sends frames to: a Bybit session. */
export type TopicSubscriber = VenueSubscriber;

export class TopicFeed extends VenueFeed {
  /** Order-book topics: the update id of the last frame. */
  private u: number;
  private readonly depth: number;
  /** Set by `skipUpdate`: the next delta's `u` jumps by one more (a lost update, as a client would see it). */
  private skipNext = false;

  constructor(
    readonly topic: ParsedStream,
    hub: FeedHub,
    private readonly clock: () => number,
  ) {
    super(hub, sourceStreamOf(topic));
    this.depth = topic.kind === 'orderbook' ? Number(topic.param) : 0;
    // A running service's id: far from 1, so a restart (`u=1`) is unmistakable.
    this.u = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  }

  get isBook(): boolean {
    return this.depth > 0;
  }

  protected override start(): void {
    super.start();
    if (this.isBook) this.refreshLevels();
  }

  /** Bybit answers a book subscription with a snapshot of the book as it stands. */
  protected joined(session: TopicSubscriber): void {
    if (this.isBook) session.deliver(Buffer.from(this.snapshotFrame(this.clock())));
  }

  /** The book as the topic last sent it. */
  view(): BybitBookView {
    return { u: this.u, bids: sortedSide(this.bids, true), asks: sortedSide(this.asks, false) };
  }

  /** Sends a snapshot with `u=1` to every session: the service restarted, the book starts over. */
  restart(): void {
    this.u = 1;
    this.broadcast(this.snapshotFrame(this.clock()));
  }

  /** The next delta skips one update id. */
  skipUpdate(): void {
    this.skipNext = true;
  }

  deliver(frame: Buffer): void {
    const payload = frame.toString();
    const name = this.topic.name;
    switch (this.topic.kind) {
      case 'publicTrade':
        this.broadcast(tradeFrame(name, payload));
        return;
      case 'kline':
        this.broadcast(klineFrame(name, this.topic.param ?? '1', payload));
        return;
      case 'tickers':
        this.broadcast(tickerFrame(name, payload));
        return;
      default:
        this.bookChanged(JSON.parse(payload) as { E: number });
    }
  }

  private bookChanged(diff: { E: number }): void {
    const before = { bids: new Map(this.bids), asks: new Map(this.asks) };
    this.refreshLevels();
    if (this.depth === 1) {
      if (sameSide(before.bids, this.bids) && sameSide(before.asks, this.asks)) return;
      this.u++;
      this.broadcast(this.snapshotFrame(diff.E));
      return;
    }
    const b = changes(before.bids, this.bids);
    const a = changes(before.asks, this.asks);
    if (b.length === 0 && a.length === 0) return;
    this.u += this.skipNext ? 2 : 1;
    this.skipNext = false;
    const symbol = this.topic.symbol;
    this.broadcast(
      `{"topic":"${this.topic.name}","type":"delta","ts":${diff.E},"data":{"s":"${symbol}","b":${levels(b)},` +
        `"a":${levels(a)},"u":${this.u},"seq":${this.u}},"cts":${diff.E}}`,
    );
  }

  private snapshotFrame(ts: number): string {
    const { bids, asks } = this.view();
    return (
      `{"topic":"${this.topic.name}","type":"snapshot","ts":${ts},"data":{"s":"${this.topic.symbol}",` +
      `"b":${levels(bids)},"a":${levels(asks)},"u":${this.u},"seq":${this.u}},"cts":${ts}}`
    );
  }

  /** Reads the top `depth` levels of the internal book into this topic's view. */
  private refreshLevels(): void {
    const feed = this.hub.catchUp(this.source);
    const generator = feed?.generator;
    if (!(generator instanceof DepthDiffGenerator)) return;
    fillSide(this.bids, generator.book.sorted('bid', this.depth));
    fillSide(this.asks, generator.book.sorted('ask', this.depth));
  }
}

function sameSide(a: Side, b: Side): boolean {
  if (a.size !== b.size) return false;
  for (const [p, q] of a) if (b.get(p) !== q) return false;
  return true;
}

function levels(list: readonly [string, string][]): string {
  return JSON.stringify(list);
}

/** Every running topic, by name. */
export class TopicFeeds extends VenueFeeds<TopicFeed> {
  constructor(
    private readonly hub: FeedHub,
    private readonly clock: () => number,
  ) {
    super();
  }

  protected create(topic: ParsedStream): TopicFeed {
    return new TopicFeed(topic, this.hub, this.clock);
  }
}
