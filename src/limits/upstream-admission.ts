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
import { RollingWindow } from './rolling-window.js';

/**
 * Pause after a 429 or 418 without a usable `Retry-After`: 2 minutes, the shortest ban Binance
 * documents. Trying earlier after a refusal is what turns a 429 into a 418 and lengthens the ban.
 */
export const DEFAULT_RETRY_AFTER_MS = 120_000;
/** Shortest pause: a `Retry-After: 0` (or a date already past) must not let a refused client loop. */
export const MIN_RETRY_AFTER_MS = 1000;
/** Longest pause: 3 days, Binance's longest ban; a longer value is more likely a broken header. */
export const MAX_RETRY_AFTER_MS = 3 * 24 * 3600 * 1000;
/**
 * The exchange counts an attempt when it arrives, up to a network delay after it was made here; an
 * attempt made the moment the oldest one leaves our window could still be inside the exchange's. The
 * budget's window is kept this much longer (0.3 % of Binance's 5 minutes).
 */
export const ATTEMPT_WINDOW_MARGIN_MS = 1000;

/**
 * The wait a `Retry-After` value names, in ms from `now`: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`), RFC 9110 section 10.2.3. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only a date-like text: Date.parse also accepts bare numbers and fragments such as "1".
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at - now;
}

/**
 * How long a refused upgrade stops every attempt, or undefined when the refusal asks for no pause
 * (another status, or a 503 without `Retry-After`, which the ordinary backoff handles).
 */
export function refusalPauseMs(
  status: number,
  retryAfter: string | undefined,
  now: number,
): number | undefined {
  const named = parseRetryAfter(retryAfter, now);
  if (status !== 429 && status !== 418 && !(status === 503 && named !== undefined)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, named ?? DEFAULT_RETRY_AFTER_MS));
}

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
  private pausedUntil = 0;
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
    if (pauseMs === undefined || now + pauseMs <= this.pausedUntil) return;
    const starting = this.pausedMs(now) === 0;
    this.pausedUntil = now + pauseMs;
    this.pauseCause = status === 418 ? `banned (HTTP 418)` : `refused with HTTP ${status}`;
    if (starting) {
      this.opts.logger.warn(
        {
          implementation: this.opts.name,
          status,
          retryAfter: retryAfter ?? null,
          pauseMs,
          resumeAt: new Date(this.pausedUntil).toISOString(),
        },
        'Upstream refused a connection; pausing every connection attempt until Retry-After passes',
      );
    }
  }

  /** Milliseconds until the Retry-After pause ends (0 when attempts are allowed). */
  pausedMs(now = this.opts.now()): number {
    return Math.max(0, this.pausedUntil - now);
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
