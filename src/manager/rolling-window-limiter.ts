/**
 * A strict rolling-window limiter: at most `limit` events in any interval of `windowMs`.
 *
 * Binance counts every incoming message of a connection (pings, pongs, control messages) against
 * "5 incoming messages per second" ("WebSocket Limits", spot market streams), measured by the
 * server when it receives them. Pacing below the limit (e.g. 4 per 1000 ms) leaves room for the
 * network to bunch frames together without breaching it.
 */
export class RollingWindowLimiter {
  private readonly stamps: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds until a slot is free at `now` (0 when one is free now). */
  waitMs(now: number): number {
    this.expire(now);
    if (this.stamps.length < this.limit) return 0;
    return this.stamps[0]! + this.windowMs - now;
  }

  /** Takes a slot when one is free now; returns whether it did. */
  tryTake(now: number): boolean {
    if (this.waitMs(now) > 0) return false;
    this.stamps.push(now);
    return true;
  }

  /** Slots used within the window ending at `now`. */
  used(now: number): number {
    this.expire(now);
    return this.stamps.length;
  }

  private expire(now: number): void {
    while (this.stamps.length > 0 && this.stamps[0]! + this.windowMs <= now) this.stamps.shift();
  }
}
