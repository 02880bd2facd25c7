/**
 * A count in fixed windows aligned to the clock: window n spans [n·windowMs, (n+1)·windowMs) and the
 * count starts again from 0 when the next one begins. Binance counts request weight this way (the
 * `X-MBX-USED-WEIGHT-1M` counter resets at each minute), so the budgets that mirror it count this way
 * too: the weight budget per client address (weight-budget.ts) and the manager's own REST budget.
 */

/** The window of every per-minute budget: request weight, the manager's REST budget, HTTP requests. */
export const MINUTE_MS = 60_000;

export class FixedWindow {
  /** Amount counted in the current window. */
  used = 0;
  /** Number of the current window; none yet before the first `advance`. */
  private index = Number.NEGATIVE_INFINITY;

  constructor(readonly windowMs: number) {}

  /** Moves to the window of `now`; true when that began a new one (the count is then 0). */
  advance(now: number): boolean {
    const index = Math.floor(now / this.windowMs);
    if (index === this.index) return false;
    this.index = index;
    this.used = 0;
    return true;
  }

  /** Windows from the current one to the window of `now` (0 while `now` is in the current one). */
  windowsSince(now: number): number {
    return Math.floor(now / this.windowMs) - this.index;
  }

  /** Milliseconds from `now` to the end of its window. */
  msToEnd(now: number): number {
    return msToWindowEnd(now, this.windowMs);
  }

  /**
   * Takes a count made elsewhere (the exchange's, which sees every client of this address) when it is
   * higher than ours and `now` is still in the current window.
   */
  raiseTo(used: number, now: number): void {
    if (used > this.used && this.windowsSince(now) === 0) this.used = used;
  }
}

/** Milliseconds from `now` to the end of its window of `windowMs`. */
export function msToWindowEnd(now: number, windowMs: number): number {
  return (Math.floor(now / windowMs) + 1) * windowMs - now;
}
