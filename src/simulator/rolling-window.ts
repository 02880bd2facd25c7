/**
 * A strict rolling-window counter: at most `limit` events in any `windowMs` span. Binance counts every
 * incoming frame of a connection this way ("WebSocket Limits": 5 messages per second, pings and pongs
 * included), unlike a fixed window that lets a burst straddle two buckets.
 */
export class RollingWindow {
  /** Times of the last `limit` accepted events, a ring buffer. */
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.times = new Float64Array(limit);
  }

  /** Records an event at `now`; false when it would be the (limit+1)-th within the window. */
  tryRecord(now: number): boolean {
    if (this.count === this.limit) {
      const oldest = this.times[this.next]!;
      if (now - oldest < this.windowMs) return false;
    } else {
      this.count++;
    }
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    return true;
  }

  /** Time of the newest recorded event, or -Infinity. */
  newest(): number {
    if (this.count === 0) return Number.NEGATIVE_INFINITY;
    return this.times[(this.next + this.limit - 1) % this.limit]!;
  }
}
