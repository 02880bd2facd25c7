/**
 * One global stream feed: a generator, its subscribers, and the frames it sends them. Each event is
 * serialised once; raw subscribers get the payload bytes and combined ones the `{"stream":..,"data":..}`
 * wrapper, built once by concatenation. Every subscriber receives the very same Buffer.
 */

import { combinedPrefix } from '../exchange/binance/frames.js';
import type { ParsedStream } from '../exchange/binance/streams.js';
import type { EventGenerator } from './generators/event-generator.js';
import type { FeedHistory } from './rest/feed-history.js';

/** The side of a connection a feed talks to. */
export interface Subscriber {
  /** Wrap events as `{"stream":..,"data":..}`. */
  readonly combined: boolean;
  /** False while stalled or closing: such a subscriber neither receives events nor paces 'max' feeds. */
  readonly accepting: boolean;
  /** Sends one text frame. */
  deliver(frame: Buffer): void;
  /** Bytes not yet handed to the kernel (socket buffer plus frames held back by injected latency). */
  pendingBytes(): number;
  /** Holds writes back until `uncork()`, so a burst of frames leaves in one system call. */
  cork(): void;
  uncork(): void;
}

/**
 * Above this many pending bytes a subscriber is skipped, so a client that stops reading cannot make
 * the simulator's memory grow without bound; it sees a gap in the sequence ids instead.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** 'max' feeds produce only while every accepting subscriber has fewer pending bytes than this. */
export const MAX_RATE_HIGH_WATER = 256 * 1024;

export class Feed {
  readonly subscribers = new Set<Subscriber>();
  /** Clock time up to which the feed's sequence ids have been advanced. */
  advancedTo: number;
  /** Fraction of an event owed from earlier ticks. */
  carry = 0;
  private readonly prefix: string;

  constructor(
    readonly stream: ParsedStream,
    readonly generator: EventGenerator,
    now: number,
    /** Kept for the REST API. */
    readonly history?: FeedHistory,
    /** How many of the events owed while nobody listens are still produced (see `skip`). */
    private readonly idleEvents = 0,
  ) {
    this.advancedTo = now;
    this.prefix = combinedPrefix(stream.name);
  }

  /** Events owed at `now` for a rate in events per second; moves the feed's clock to `now`. */
  owed(now: number, rate: number): number {
    const due = ((now - this.advancedTo) * rate) / 1000 + this.carry;
    const count = Math.floor(due);
    this.carry = due - count;
    this.advancedTo = now;
    return count;
  }

  /**
   * Advances the sequence ids without sending events (nobody listens). The last `idleEvents` of them are
   * produced anyway, timed evenly over [from, to], so the REST API can serve them (history, order book).
   */
  skip(count: number, from: number, to: number): void {
    if (count <= 0) return;
    const kept = Math.min(count, this.idleEvents);
    if (count > kept) this.generator.skip(count - kept);
    this.produce(kept, from, to);
  }

  /** Produces `count` events into the history without sending them, timed evenly over (from, to]. */
  produce(count: number, from: number, to: number): void {
    for (let i = 1; i <= count; i++) {
      const payload = this.generator.next(Math.round(from + ((to - from) * i) / count));
      this.history?.record(payload);
    }
  }

  /** Produces one event and sends it to every accepting subscriber. Returns how many received it. */
  emit(now: number): number {
    const payload = this.generator.next(now);
    this.history?.record(payload);
    let raw: Buffer | undefined;
    let wrapped: Buffer | undefined;
    let delivered = 0;
    for (const s of this.subscribers) {
      if (!s.accepting || s.pendingBytes() > MAX_PENDING_BYTES) continue;
      if (s.combined) {
        wrapped ??= Buffer.from(`${this.prefix}${payload}}`);
        s.deliver(wrapped);
      } else {
        raw ??= Buffer.from(payload);
        s.deliver(raw);
      }
      delivered++;
    }
    return delivered;
  }

  cork(): void {
    for (const s of this.subscribers) s.cork();
  }

  uncork(): void {
    for (const s of this.subscribers) s.uncork();
  }

  /** True when at least one subscriber accepts events and all accepting ones are below the high-water mark. */
  canPush(): boolean {
    let accepting = false;
    for (const s of this.subscribers) {
      if (!s.accepting) continue;
      if (s.pendingBytes() >= MAX_RATE_HIGH_WATER) return false;
      accepting = true;
    }
    return accepting;
  }
}
