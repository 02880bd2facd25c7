/**
 * The upstream subscriptions all downstream clients cause, with a cap (MAX_UPSTREAM_STREAMS). The exchange
 * limits what one IP may open (Binance "WebSocket Limits": 300 connection attempts per 5 minutes, 1024
 * streams per connection), so clients together must not be able to ask for an unbounded number.
 * With a source that shares upstream subscriptions (`sharesUpstream`: WSManager, the NATS source) a
 * stream held by many clients is one upstream subscription, so the cap counts distinct streams subscribed
 * upstream: those clients hold and those the source keeps for its idle grace after the last client
 * left. When a new stream would pass the cap, the oldest idle streams are released early; only when
 * clients hold every stream is the new one refused.
 * With the legacy baseline every client subscription is its own upstream socket, closed as soon as the
 * client lets go, so the cap counts client subscriptions.
 * Every upstream subscription counts, whoever asked for it: the order books the depth route keeps hold
 * their `@depth@100ms` stream here too (as holders that are not client subscriptions).
 */
import type { StreamSource } from '../core/stream-source.js';

/** What the cap needs from the source: which streams are idle upstream, and a way to release them. */
export type UpstreamStreams = Pick<
  StreamSource,
  'sharesUpstream' | 'listStreams' | 'forceCleanupIdleStreams'
>;

export class UpstreamStreamCap {
  private readonly holders = new Map<string, number>();
  /**
   * Streams no client holds that may still be subscribed upstream (idle grace). An upper bound: the
   * source may have cleaned some up already, which `makeRoom` learns from its listing.
   */
  private readonly lingering = new Set<string>();
  private readonly shared: boolean;
  /** Holds of every holder: client subscriptions and kept order books. */
  private holdCount = 0;
  private subscriptionCount = 0;

  constructor(
    readonly limit: number,
    private readonly source: UpstreamStreams,
  ) {
    this.shared = source.sharesUpstream === true;
  }

  /** Distinct streams held now. */
  get streams(): number {
    return this.holders.size;
  }

  /** Client subscriptions held now (a stream held by two clients counts twice). */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Upstream subscriptions held now: what cannot be released to make room. */
  get used(): number {
    return this.shared ? this.holders.size : this.holdCount;
  }

  /** True when one client may add `streams` (none of which it holds yet) without passing the cap. */
  admits(streams: Iterable<string>): boolean {
    return this.used + this.cost(streams) <= this.limit;
  }

  /**
   * Makes room upstream for `streams` in one go (one listing of the source for a whole SUBSCRIBE rather
   * than one per stream); `acquire` does the same for a stream not prepared for.
   */
  prepare(streams: Iterable<string>): void {
    if (!this.shared) return;
    let fresh = 0;
    for (const stream of new Set(streams))
      if (!this.holders.has(stream) && !this.lingering.has(stream)) fresh++;
    this.makeRoom(fresh);
  }

  /**
   * Records one more holder of `stream`; false (nothing recorded) when it would pass the cap. `client`
   * is false for a holder that is not a client subscription (a kept order book).
   */
  acquire(stream: string, client = true): boolean {
    const held = this.holders.get(stream);
    const cost = this.shared && held !== undefined ? 0 : 1;
    if (this.used + cost > this.limit) return false;
    // A lingering stream is still subscribed upstream: holding it again costs no new subscription.
    if (this.shared && held === undefined && !this.lingering.delete(stream) && !this.makeRoom(1))
      return false;
    this.holders.set(stream, (held ?? 0) + 1);
    this.holdCount++;
    if (client) this.subscriptionCount++;
    return true;
  }

  /** Forgets one holder of `stream`, recorded with the same `client` as it was acquired with. */
  release(stream: string, client = true): void {
    const held = this.holders.get(stream);
    if (held === undefined) return;
    if (held <= 1) {
      this.holders.delete(stream);
      if (this.shared) this.lingering.add(stream);
    } else this.holders.set(stream, held - 1);
    this.holdCount--;
    if (client) this.subscriptionCount--;
  }

  private cost(streams: Iterable<string>): number {
    let cost = 0;
    for (const stream of new Set(streams)) if (!this.shared || !this.holders.has(stream)) cost++;
    return cost;
  }

  /**
   * Ensures `fresh` new streams fit upstream beside the held and idle ones, releasing the longest-idle
   * streams now rather than at the end of their grace. False when they cannot fit.
   */
  private makeRoom(fresh: number): boolean {
    if (this.holders.size + this.lingering.size + fresh <= this.limit) return true;
    const idle = this.source
      .listStreams()
      .filter((s) => s.idleMs !== undefined && !this.holders.has(s.stream))
      .sort((a, b) => (b.idleMs ?? 0) - (a.idleMs ?? 0));
    this.lingering.clear();
    const excess = Math.min(idle.length, this.holders.size + idle.length + fresh - this.limit);
    let kept = idle;
    if (excess > 0) {
      // Releases every stream idle at least as long as the excess-th oldest: those, and any tied with it.
      const threshold = idle[excess - 1]?.idleMs ?? 0;
      this.source.forceCleanupIdleStreams(threshold);
      kept = idle.filter((s) => (s.idleMs ?? 0) < threshold);
    }
    for (const s of kept) this.lingering.add(s.stream);
    return this.holders.size + this.lingering.size + fresh <= this.limit;
  }
}
