/**
 * Whether an upstream connection attempt may be made now, for every implementation (WSManager and
 * the legacy baseline): one rolling attempt budget and one Retry-After pause per implementation
 * instance, so all its connections, reconnects and rotations share them.
 *
 * Binance "WebSocket Limits": 300 connection attempts per 5 minutes per IP. A client that keeps
 * connecting after a 429 is answered 418 and banned for 2 minutes up to 3 days, so a 429 or 418 (and
 * a 503 that names a Retry-After) stops every attempt until the time named has passed.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../core/log.js';
import { RetryAfterPause, refusalPauseMs } from './retry-after.js';
import { RollingWindow } from './rolling-window.js';

/**
 * The exchange counts an attempt when it arrives, up to a network delay after it was made here; an
 * attempt made the moment the oldest one leaves our window could still be inside the exchange's. The
 * budget's window is kept this much longer (0.3 % of Binance's 5 minutes).
 */
export const ATTEMPT_WINDOW_MARGIN_MS = 1000;

/** An upgrade answered with an HTTP status instead of 101, with the `Retry-After` it named, if any. */
export interface UpgradeRefusal {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** Reads the refusal from ws's `unexpected-response`, for `UpstreamAdmission.refused`. */
export function readRefusal(res: IncomingMessage): UpgradeRefusal {
  const header = res.headers['retry-after'];
  return { status: res.statusCode ?? 0, retryAfter: Array.isArray(header) ? header[0] : header };
}

/** Where the admission's figures go (the shared `ws_manager_upstream_*` metrics). */
export interface AdmissionMeter {
  /** One upgrade attempt made. */
  attempted(): void;
}

export interface UpstreamAdmissionOptions {
  /** Attempts allowed in any rolling window of `windowMs` (Binance: 300 per 5 minutes). */
  readonly limit: number;
  readonly windowMs: number;
  /** Names the implementation in log lines. */
  readonly name: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly meter?: AdmissionMeter;
}

export class UpstreamAdmission {
  /** Upgrade attempts admitted since start. */
  attempts = 0;
  private readonly window: RollingWindow;
  private readonly pause = new RetryAfterPause();
  private pauseCause: string | undefined;

  constructor(private readonly opts: UpstreamAdmissionOptions) {
    this.window = new RollingWindow(opts.limit, opts.windowMs + ATTEMPT_WINDOW_MARGIN_MS);
  }

  get limit(): number {
    return this.opts.limit;
  }

  /**
   * Takes one attempt slot when both the pause and the budget allow an attempt now, and counts the
   * attempt. Returns 0 when admitted, else the milliseconds to wait before asking again.
   */
  admit(): number {
    const now = this.opts.now();
    const paused = this.pausedMs(now);
    if (paused > 0) return paused;
    if (this.pauseCause !== undefined) {
      this.opts.logger.info(
        { implementation: this.opts.name },
        'Upstream Retry-After pause over; connecting again',
      );
      this.pauseCause = undefined;
    }
    if (!this.window.tryRecord(now)) return Math.max(1, this.window.waitMs(now));
    this.attempts++;
    this.opts.meter?.attempted();
    return 0;
  }

  /**
   * Reports a refused upgrade. A 429 or 418 (or a 503 with `Retry-After`) pauses every attempt until
   * the time named; a refusal during a pause can lengthen it, never shorten it. Logs once per pause.
   */
  refused(status: number, retryAfter: string | undefined): void {
    const now = this.opts.now();
    const pauseMs = refusalPauseMs(status, retryAfter, now);
    if (pauseMs === undefined) return;
    const starting = this.pausedMs(now) === 0;
    if (!this.pause.lengthen(now, pauseMs)) return;
    this.pauseCause = status === 418 ? `banned (HTTP 418)` : `refused with HTTP ${status}`;
    if (starting) {
      this.opts.logger.warn(
        {
          implementation: this.opts.name,
          status,
          retryAfter: retryAfter ?? null,
          pauseMs,
          resumeAt: new Date(this.pause.endsAt).toISOString(),
        },
        'Upstream refused a connection; pausing every connection attempt until Retry-After passes',
      );
    }
  }

  /** Milliseconds until the Retry-After pause ends (0 when attempts are allowed). */
  pausedMs(now = this.opts.now()): number {
    return this.pause.remainingMs(now);
  }

  /** Why attempts are stopped now, for the health verdict; undefined when not paused. */
  pauseReason(now = this.opts.now()): string | undefined {
    const ms = this.pausedMs(now);
    if (ms === 0) return undefined;
    return `upstream ${this.pauseCause ?? 'refused connections'}: no connection attempt for ${Math.ceil(ms / 1000)} s (Retry-After)`;
  }

  /** Milliseconds until the budget allows an attempt (0: now). */
  budgetWaitMs(now = this.opts.now()): number {
    return this.window.waitMs(now);
  }

  /** Attempts in the rolling window ending now, over the limit (1 when spent). */
  budgetRatio(now = this.opts.now()): number {
    return this.window.used(now) / this.opts.limit;
  }
}
