/**
 * Connection attempts per remote IP (Binance "WebSocket Limits": 300 connection attempts per 5 minutes
 * per IP). Attempts beyond the limit are refused and not recorded, so a client regains access once its
 * oldest recorded attempt leaves the window.
 */
import { RollingWindow } from '../rolling-window.js';

/** Sweep idle addresses once the table grows beyond this many. */
const SWEEP_THRESHOLD = 1_024;

export class AttemptLimiter {
  private readonly windows = new Map<string, RollingWindow>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records an attempt from `address`; false when the address is over its budget. */
  tryAcquire(address: string): boolean {
    const now = this.clock();
    let window = this.windows.get(address);
    if (window === undefined) {
      if (this.windows.size >= SWEEP_THRESHOLD) this.sweep(now);
      window = new RollingWindow(this.limit, this.windowMs);
      this.windows.set(address, window);
    }
    return window.tryRecord(now);
  }

  private sweep(now: number): void {
    for (const [address, window] of this.windows) {
      if (window.used(now) === 0) this.windows.delete(address);
    }
  }
}
