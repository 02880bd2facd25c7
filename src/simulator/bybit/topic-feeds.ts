/**
 * Bybit topics of the simulator: each is one subscriber of the internal feed it views, turning every
 * event into one Bybit frame that all its sessions share. Order-book topics keep the top `depth` levels
 * of the internal book and their own update id `u`: a subscriber gets a `snapshot` first, then a `delta`
 * per change of those levels with `u` one above the previous (depth 1: a snapshot each time).
 */
import type { ParsedStream } from '../../exchange/exchange.js';
import type { Subscriber } from '../feed.js';
import type { FeedHub } from '../feed-hub.js';
import { DepthDiffGenerator } from '../generators/book-generators.js';
import { formatFixed } from '../generators/decimal.js';
import type { BybitBookView } from '../types.js';
import { klineFrame, sourceStreamOf, tickerFrame, tradeFrame } from './translate.js';

/** What a topic sends frames to: a Bybit session. */
export interface TopicSubscriber {
  readonly accepting: boolean;
  deliver(frame: Buffer): void;
  pendingBytes(): number;
}

/** Above this many pending bytes a session is skipped (it then misses updates), as the Binance feeds do. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

type Side = Map<string, string>;

export class TopicFeed implements Subscriber {
  readonly combined = false;
  readonly accepting = true;
  readonly sessions = new Set<TopicSubscriber>();
  private readonly source: string;
  /** Order-book topics: the levels last sent, and the update id of the last frame. */
  private readonly bids: Side = new Map();
  private readonly asks: Side = new Map();
  private u: number;
  private readonly depth: number;
  /** Set by `skipUpdate`: the next delta's `u` jumps by one more (a lost update, as a client would see it). */
  private skipNext = false;

  constructor(
    readonly topic: ParsedStream,
    private readonly hub: FeedHub,
    private readonly clock: () => number,
  ) {
    this.source = sourceStreamOf(topic);
    this.depth = topic.kind === 'orderbook' ? Number(topic.param) : 0;
    // A running service's id: far from 1, so a restart (`u=1`) is unmistakable.
    this.u = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  }

  get isBook(): boolean {
    return this.depth > 0;
  }

  add(session: TopicSubscriber): void {
    const first = this.sessions.size === 0;
    this.sessions.add(session);
    if (first) {
      this.hub.subscribe(this, this.source);
      if (this.isBook) this.refreshLevels();
    }
    // Bybit answers a book subscription with a snapshot of the book as it stands.
    if (this.isBook) session.deliver(Buffer.from(this.snapshotFrame(this.clock())));
  }

  remove(session: TopicSubscriber): void {
    if (!this.sessions.delete(session) || this.sessions.size > 0) return;
    this.hub.unsubscribe(this, this.source);
  }

  /** The book as the topic last sent it. */
  view(): BybitBookView {
    return { u: this.u, bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
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

  pendingBytes(): number {
    return 0;
  }

  cork(): void {}

  uncork(): void {}

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
    fill(this.bids, generator.book.sorted('bid', this.depth));
    fill(this.asks, generator.book.sorted('ask', this.depth));
  }

  private broadcast(text: string): void {
    let frame: Buffer | undefined;
    for (const s of this.sessions) {
      if (!s.accepting || s.pendingBytes() > MAX_PENDING_BYTES) continue;
      frame ??= Buffer.from(text);
      s.deliver(frame);
    }
  }
}

function fill(side: Side, levels: readonly [number, number][]): void {
  side.clear();
  for (const [p, q] of levels) side.set(formatFixed(p), formatFixed(q));
}

function sameSide(a: Side, b: Side): boolean {
  if (a.size !== b.size) return false;
  for (const [p, q] of a) if (b.get(p) !== q) return false;
  return true;
}

/** Levels changed from `before` to `after`: new or changed quantities, and `0` for levels gone. */
function changes(before: Side, after: Side): [string, string][] {
  const out: [string, string][] = [];
  for (const [p, q] of after) if (before.get(p) !== q) out.push([p, q]);
  for (const p of before.keys()) if (!after.has(p)) out.push([p, '0']);
  return out;
}

function sorted(side: Side, descending: boolean): [string, string][] {
  const out = [...side];
  out.sort(descending ? (x, y) => Number(y[0]) - Number(x[0]) : (x, y) => Number(x[0]) - Number(y[0]));
  return out;
}

function levels(list: readonly [string, string][]): string {
  return JSON.stringify(list);
}

/** Every running topic, by name. */
export class TopicFeeds {
  private readonly feeds = new Map<string, TopicFeed>();

  constructor(
    private readonly hub: FeedHub,
    private readonly clock: () => number,
  ) {}

  get(name: string): TopicFeed | undefined {
    return this.feeds.get(name);
  }

  subscribe(session: TopicSubscriber, topic: ParsedStream): void {
    let feed = this.feeds.get(topic.name);
    if (feed === undefined) {
      feed = new TopicFeed(topic, this.hub, this.clock);
      this.feeds.set(topic.name, feed);
    }
    feed.add(session);
  }

  unsubscribe(session: TopicSubscriber, name: string): void {
    const feed = this.feeds.get(name);
    if (feed === undefined) return;
    // The topic stays known when its last session leaves, so its update ids carry on as a venue's do.
    feed.remove(session);
  }
}
