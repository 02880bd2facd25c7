/**
 * The connection-attempt budget one manager shares across all its upstream connections.
 *
 * Binance allows 300 connection attempts per 5 minutes per IP ("WebSocket Limits"); beyond it
 * the upgrade is refused and the IP may be banned. Every attempt (first connect, reconnect,
 * rotation) takes a slot; when none is left, the caller waits `waitMs()` instead of trying.
 */
import { RollingWindow } from '../rolling-window.js';

export class AttemptBudget {
  private readonly window: RollingWindow;

  constructor(limit: number, windowMs: number) {
    this.window = new RollingWindow(limit, windowMs);
  }

  /** Takes one attempt when the budget allows it now. */
  tryTake(now: number): boolean {
    return this.window.tryRecord(now);
  }

  /** Milliseconds until the next attempt is allowed (0: now). */
  waitMs(now: number): number {
    return this.window.waitMs(now);
  }

  /** Attempts made within the window ending at `now`. */
  used(now: number): number {
    return this.window.used(now);
  }
}
