/**
 * The upstream subscriptions all downstream clients cause, with a cap (MAX_UPSTREAM_STREAMS). The exchange
 * limits what one IP may open (Binance "WebSocket Limits": 300 connection attempts per 5 minutes, 1024
 * streams per connection), so clients together must not be able to ask for an unbounded number.
 * With a sharing source (WSManager) a stream held by many clients is one upstream subscription, so the
 * cap counts distinct streams; with the legacy baseline every client subscription is its own upstream
 * socket, so the cap counts client subscriptions.
 */
export class StreamBudget {
  private readonly holders = new Map<string, number>();
  private subscriptionCount = 0;

  constructor(
    readonly limit: number,
    private readonly shared: boolean,
  ) {}

  /** Distinct streams held now. */
  get streams(): number {
    return this.holders.size;
  }

  /** Client subscriptions held now (a stream held by two clients counts twice). */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Upstream subscriptions the held streams cost, the quantity the cap applies to. */
  get used(): number {
    return this.shared ? this.holders.size : this.subscriptionCount;
  }

  /** True when one client may add `streams` (none of which it holds yet) without passing the cap. */
  admits(streams: Iterable<string>): boolean {
    let cost = 0;
    for (const stream of new Set(streams)) if (!this.shared || !this.holders.has(stream)) cost++;
    return this.used + cost <= this.limit;
  }

  /** Records one more holder of `stream`; false (nothing recorded) when it would pass the cap. */
  acquire(stream: string): boolean {
    const held = this.holders.get(stream);
    const cost = this.shared && held !== undefined ? 0 : 1;
    if (this.used + cost > this.limit) return false;
    this.holders.set(stream, (held ?? 0) + 1);
    this.subscriptionCount++;
    return true;
  }

  /** Forgets one holder of `stream`. */
  release(stream: string): void {
    const held = this.holders.get(stream);
    if (held === undefined) return;
    if (held <= 1) this.holders.delete(stream);
    else this.holders.set(stream, held - 1);
    this.subscriptionCount--;
  }
}
