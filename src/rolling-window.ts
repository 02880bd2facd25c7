/**
 * Strict rolling-window limits: at most `limit` events in any `windowMs` span.
 *
 * Binance counts this way ("WebSocket Limits": 5 incoming messages per second per connection, pings and
 * pongs included; 300 connection attempts per 5 minutes per IP), unlike a fixed window that lets a
 * burst straddle two buckets. The simulator and the gateway enforce both limits with these classes;
 * WSManager paces its own frames and its connection attempts with them.
 *
 * The project's limiters, one concept each:
 * - `RollingWindow` (here): events of one thing, e.g. frames of one connection.
 * - `RollingWindowPerKey` (here): a `RollingWindow` per key, e.g. upgrade attempts per remote IP.
 * - `RateLimiter` (gateway/rate-limiter.ts): HTTP requests per client as token buckets, refilled evenly.
 * - `UpstreamAdmission` (upstream-admission.ts): our own upstream attempts, a `RollingWindow` plus the
 *   pause a refusal's `Retry-After` asks for.
 * - `UpstreamStreamCap` (gateway/upstream-stream-cap.ts): not a rate but a ceiling on the upstream
 *   subscriptions the gateway's clients cause together.
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

/** Keys (addresses) beyond which idle ones are swept before a new one is added. */
const SWEEP_THRESHOLD = 1_024;

/**
 * A `RollingWindow` per key. Events beyond the limit are refused and not recorded, so a key regains
 * access once its oldest recorded event leaves the window.
 */
export class RollingWindowPerKey {
  private readonly windows = new Map<string, RollingWindow>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records an event for `key` now; false when the key is over its limit. */
  tryRecord(key: string): boolean {
    const now = this.clock();
    let window = this.windows.get(key);
    if (window === undefined) {
      if (this.windows.size >= SWEEP_THRESHOLD) this.sweep(now);
      window = new RollingWindow(this.limit, this.windowMs);
      this.windows.set(key, window);
    }
    return window.tryRecord(now);
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.used(now) === 0) this.windows.delete(key);
    }
  }
}
