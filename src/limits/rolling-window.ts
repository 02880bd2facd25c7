/**
 * Strict rolling-window limits: at most `limit` events in any `windowMs` span.
 *
 * Binance counts this way ("WebSocket Limits": 5 incoming messages per second per connection, pings and
 * pongs included; 300 connection attempts per 5 minutes per IP), unlike a fixed window that lets a
 * burst straddle two buckets. The simulator and the gateway enforce the message limit with this class;
 * WSManager paces its own frames and its connection attempts with it. Its memory grows with its limit
 * (one time per event), which suits one connection's few messages per second; state kept per client
 * address lives in limits/ instead, bounded per address and in the number of addresses.
 *
 * The project's limiters, one home each (all in limits/ unless named otherwise):
 * - `RollingWindow` (here): events of one thing, e.g. frames of one connection.
 * - `FixedWindow` (fixed-window.ts): a count in clock-aligned windows, as the exchange counts request
 *   weight; `MINUTE_MS` there is the window of every per-minute budget.
 * - `KeyedTable` (keyed-table.ts): the one per-key table, capped and swept, behind every per-address
 *   limiter below.
 * - `BucketedWindowPerKey` (bucketed-window.ts): a rolling window per key in sub-window counters, e.g.
 *   upgrade attempts per remote IP.
 * - `RateLimiter` (rate-limiter.ts): HTTP requests per client as token buckets, refilled evenly.
 * - `WeightBudget` (weight-budget.ts): REST request weight and bans per client address, answered by
 *   `chargeRequest` (weighted-answer.ts) in the venue's words; Binance's numbers and words are data in
 *   exchange/binance/weight-budget.ts.
 * - `RetryAfterPause` (retry-after.ts): the pause a refusal's `Retry-After` asks for, kept by
 *   `UpstreamAdmission` and by the manager's REST client.
 * - `UpstreamAdmission` (upstream-admission.ts): our own upstream attempts, a `RollingWindow` plus a
 *   `RetryAfterPause`.
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
