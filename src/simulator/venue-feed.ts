/**
 * What the Bybit topics and the OKX channels share: each is one subscriber of the internal feed it views
 * (subscribed while it has sessions), fans every venue frame out to its sessions, and books keep their
 * top levels per side to send snapshots and changes. The table of running feeds, by stream name, keeps a
 * feed known after its last session leaves, so its update ids carry on as a venue's do.
 */
import type { ParsedStream } from '../exchange/exchange.js';
import { MAX_PENDING_BYTES, type Subscriber } from './feed.js';
import type { FeedHub } from './feed-hub.js';
import { formatFixed } from './generators/decimal.js';

/** What a venue feed sends frames to: a venue session. */
export interface VenueSubscriber {
  readonly accepting: boolean;
  deliver(frame: Buffer): void;
  pendingBytes(): number;
}

/** One side of a book: price to quantity, both as the venue writes them. */
export type Side = Map<string, string>;

export abstract class VenueFeed implements Subscriber {
  readonly combined = false;
  readonly accepting = true;
  readonly sessions = new Set<VenueSubscriber>();
  /** Book feeds: the levels last sent. */
  protected readonly bids: Side = new Map();
  protected readonly asks: Side = new Map();

  constructor(
    protected readonly hub: FeedHub,
    /** The internal stream this feed views. */
    protected readonly source: string,
  ) {}

  add(session: VenueSubscriber): void {
    const first = this.sessions.size === 0;
    this.sessions.add(session);
    if (first) this.start();
    this.joined(session);
  }

  remove(session: VenueSubscriber): void {
    if (!this.sessions.delete(session) || this.sessions.size > 0) return;
    this.hub.unsubscribe(this, this.source);
  }

  abstract deliver(frame: Buffer): void;

  pendingBytes(): number {
    return 0;
  }

  cork(): void {}

  uncork(): void {}

  /** The first session arrived: the internal feed is subscribed. */
  protected start(): void {
    this.hub.subscribe(this, this.source);
  }

  /** What a session gets on joining (a book's snapshot), before any later push. */
  protected abstract joined(session: VenueSubscriber): void;

  /** One frame to every session that reads; a session too far behind misses it, as on the Binance feeds. */
  protected broadcast(text: string): void {
    let frame: Buffer | undefined;
    for (const s of this.sessions) {
      if (!s.accepting || s.pendingBytes() > MAX_PENDING_BYTES) continue;
      frame ??= Buffer.from(text);
      s.deliver(frame);
    }
  }
}

/** Every running feed of a venue, by stream name. */
export abstract class VenueFeeds<F extends VenueFeed> {
  private readonly feeds = new Map<string, F>();

  get(name: string): F | undefined {
    return this.feeds.get(name);
  }

  subscribe(session: VenueSubscriber, stream: ParsedStream): void {
    let feed = this.feeds.get(stream.name);
    if (feed === undefined) {
      feed = this.create(stream);
      this.feeds.set(stream.name, feed);
    }
    feed.add(session);
  }

  unsubscribe(session: VenueSubscriber, name: string): void {
    // The feed stays known when its last session leaves, so its update ids carry on as a venue's do.
    this.feeds.get(name)?.remove(session);
  }

  protected abstract create(stream: ParsedStream): F;
}

/** Replaces a side with the given levels, written as the generators format decimals. */
export function fillSide(side: Side, levels: readonly [number, number][]): void {
  side.clear();
  for (const [p, q] of levels) side.set(formatFixed(p), formatFixed(q));
}

/** Levels changed from `before` to `after`: new or changed quantities, and `0` for levels gone. */
export function changes(before: Side, after: Side): [string, string][] {
  const out: [string, string][] = [];
  for (const [p, q] of after) if (before.get(p) !== q) out.push([p, q]);
  for (const p of before.keys()) if (!after.has(p)) out.push([p, '0']);
  return out;
}

/** A side's levels by price: bids descending, asks ascending. */
export function sortedSide(side: Side, descending: boolean): [string, string][] {
  const out = [...side];
  out.sort(descending ? (x, y) => Number(y[0]) - Number(x[0]) : (x, y) => Number(x[0]) - Number(y[0]));
  return out;
}
