/**
 * A strict rolling-window counter: at most `limit` events in any `windowMs` span.
 *
 * Binance counts every incoming frame of a connection this way ("WebSocket Limits": 5 messages per
 * second, pings and pongs included), unlike a fixed window that lets a burst straddle two buckets.
 * The simulator and the gateway enforce limits with it; WSManager paces its own frames and its
 * connection attempts with it.
 */
export class RollingWindow {
  /** Times of the last `limit` recorded events, a ring buffer; `next` is the oldest once full. */
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.times = new Float64Array(limit);
  }

  /** Milliseconds until an event may be recorded at `now` (0 when it may be now). */
  waitMs(now: number): number {
    if (this.count < this.limit) return 0;
    return Math.max(0, this.times[this.next]! + this.windowMs - now);
  }

  /** Records an event at `now`; false (and nothing recorded) when it would be the (limit+1)-th within the window. */
  tryRecord(now: number): boolean {
    if (this.waitMs(now) > 0) return false;
    if (this.count < this.limit) this.count++;
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    return true;
  }

  /** Events recorded within the window ending at `now`. */
  used(now: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.times[i]! + this.windowMs > now) n++;
    return n;
  }
}
