/**
 * OKX channels of the simulator: each is one subscriber of the internal feed it views, turning every
 * event into one OKX push that all its sessions share. `books` keeps the internal book's levels (up to
 * 400 a side) and its own `seqId` numbering: a subscriber gets `action:"snapshot"` (`prevSeqId` -1) first,
 * unless snapshots are withheld (as OKX announced), then an `update` per change whose `prevSeqId` is the
 * `seqId` before. `books5` and `bbo-tbt` push their top levels whole on each change.
 */
import type { ParsedStream } from '../../exchange/exchange.js';
import { BOOK_MAX_DEPTH } from '../../exchange/okx/limits.js';
import type { FeedHub } from '../feed-hub.js';
import { DepthDiffGenerator } from '../generators/book-generators.js';
import type { OkxBookView } from '../types.js';
import { changes, fillSide, sortedSide, VenueFeed, VenueFeeds, type VenueSubscriber } from '../venue-feed.js';
import { candleFrame, sourceStreamOf, tickerFrame, tradeFrame } from './translate.js';

/** What a channel sends frames to: an OKX session. */
export type ChannelSubscriber = VenueSubscriber;

export class ChannelFeed extends VenueFeed {
  private readonly instId: string;
  /** Book channels: levels kept per side (400, 5 or 1; 0 for other channels). */
  private readonly depth: number;
  /** The seqId of the last push, and what is subtracted from the internal update id to get it. */
  private seqId = 0;
  private offset = 0;
  /** The levels are read from the internal book from the first subscriber on. */
  private ready = false;
  /** Set by `dropUpdate`: the next update is counted but never sent (a lost push, as a client sees it). */
  private dropNext = false;
  private generator: DepthDiffGenerator | undefined;

  constructor(
    readonly channel: ParsedStream,
    hub: FeedHub,
    /** Whether a new `books` subscriber gets a snapshot first. */
    private readonly pushesSnapshot: () => boolean,
    private readonly clock: () => number,
  ) {
    super(hub, sourceStreamOf(channel) ?? '');
    this.instId = channel.symbol ?? '';
    const kind = channel.kind;
    this.depth = kind === 'books' ? BOOK_MAX_DEPTH : kind === 'books5' ? 5 : kind === 'bbo-tbt' ? 1 : 0;
  }

  get isBook(): boolean {
    return this.depth > 0;
  }

  protected override start(): void {
    this.ready = false;
    super.start();
    if (this.isBook) this.readLevels();
  }

  protected joined(session: ChannelSubscriber): void {
    if (this.isBook && (this.channel.kind !== 'books' || this.pushesSnapshot()))
      session.deliver(Buffer.from(this.bookFrame(this.clock(), true)));
  }

  /**
   * The book as the channel last sent it; `upToNow` first sends what is owed (the REST answer must not
   * lag the channel), or reads the internal book when nobody is subscribed.
   */
  view(upToNow = false): OkxBookView {
    if (upToNow) {
      if (this.sessions.size > 0) this.hub.catchUp(this.source);
      else this.readLevels();
    }
    return { seqId: this.seqId, bids: sortedSide(this.bids, true), asks: sortedSide(this.asks, false) };
  }

  /** A service restart: seqIds start over from 1 with a new snapshot to every session. */
  restart(): void {
    this.offset += this.seqId - 1;
    this.seqId = 1;
    this.broadcast(this.bookFrame(this.clock(), true));
  }

  dropUpdate(): void {
    this.dropNext = true;
  }

  deliver(frame: Buffer): void {
    const payload = frame.toString();
    switch (this.channel.kind) {
      case 'trades':
        this.broadcast(tradeFrame(this.instId, payload));
        return;
      case 'candle':
        this.broadcast(candleFrame(`candle${this.channel.param}`, this.instId, payload));
        return;
      case 'tickers':
        this.broadcast(tickerFrame(this.instId, payload));
        return;
      default:
        if (this.ready) this.bookChanged(JSON.parse(payload) as { E: number; u: number });
    }
  }

  private bookChanged(diff: { E: number; u: number }): void {
    const seqId = diff.u - this.offset;
    if (seqId <= this.seqId) return;
    const before = { bids: new Map(this.bids), asks: new Map(this.asks) };
    this.fill();
    const b = changes(before.bids, this.bids);
    const a = changes(before.asks, this.asks);
    if (b.length === 0 && a.length === 0) return;
    const prevSeqId = this.seqId;
    this.seqId = seqId;
    if (this.dropNext) {
      this.dropNext = false;
      return;
    }
    if (this.channel.kind !== 'books') {
      this.broadcast(this.bookFrame(diff.E, false));
      return;
    }
    this.broadcast(
      `{"arg":{"channel":"books","instId":"${this.instId}"},"action":"update","data":[{"asks":${levels(a)},` +
        `"bids":${levels(b)},"ts":"${diff.E}","checksum":0,"prevSeqId":${prevSeqId},"seqId":${seqId}}]}`,
    );
  }

  /** A whole-book push: `books`' snapshot, or each push of `books5` and `bbo-tbt` (no action). */
  private bookFrame(ts: number, snapshot: boolean): string {
    const bids = levels(sortedSide(this.bids, true));
    const asks = levels(sortedSide(this.asks, false));
    const arg = `{"channel":"${this.channel.kind}","instId":"${this.instId}"}`;
    if (this.channel.kind === 'books')
      return (
        `{"arg":${arg},"action":"snapshot","data":[{"asks":${asks},"bids":${bids},"ts":"${ts}",` +
        `"checksum":0,"prevSeqId":-1,"seqId":${this.seqId}}]}`
      );
    const inst = snapshot || this.channel.kind === 'books5' ? `,"instId":"${this.instId}"` : '';
    return `{"arg":${arg},"data":[{"asks":${asks},"bids":${bids}${inst},"ts":"${ts}","seqId":${this.seqId}}]}`;
  }

  /** Reads the internal book (brought up to now) into this channel's view, numbered from its update id. */
  private readLevels(): void {
    const feed = this.hub.catchUp(this.source);
    const generator = feed?.generator;
    if (!(generator instanceof DepthDiffGenerator)) return;
    this.generator = generator;
    this.fill();
    this.seqId = generator.lastUpdateId - this.offset;
    this.ready = true;
  }

  /** The internal book's top levels, as they stand after the diff being delivered. */
  private fill(): void {
    const generator = this.generator;
    if (generator === undefined) return;
    fillSide(this.bids, generator.book.sorted('bid', this.depth));
    fillSide(this.asks, generator.book.sorted('ask', this.depth));
  }
}

/** Levels as OKX writes them: price, size, a deprecated "0", and the order count. */
function levels(list: readonly [string, string][]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const [p, q] = list[i]!;
    out += `${i > 0 ? ',' : ''}["${p}","${q}","0","1"]`;
  }
  return `${out}]`;
}

/** Every running channel, by stream name. */
export class ChannelFeeds extends VenueFeeds<ChannelFeed> {
  /** Whether `books` pushes its snapshot on subscribe (OKX announced it would stop). */
  pushesBookSnapshots = true;
  private readonly pushesSnapshot = (): boolean => this.pushesBookSnapshots;

  constructor(
    private readonly hub: FeedHub,
    private readonly clock: () => number,
  ) {
    super();
  }

  protected create(channel: ParsedStream): ChannelFeed {
    return new ChannelFeed(channel, this.hub, this.pushesSnapshot, this.clock);
  }
}
