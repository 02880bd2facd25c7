/**
 * Decides whether a WebSocket upgrade is accepted, in the order a client would meet the checks: the
 * per-IP attempt budget, an injected refusal window, then the path and its streams.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseConnectionPath } from '../exchange/binance/connection-path.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { BucketedWindowPerKey } from '../limits/bucketed-window.js';
import type { ResolvedLimits } from './options.js';
import type { SimulatorCounters } from './session.js';
import type { RefuseStatus } from './types.js';

export type UpgradeVerdict =
  | { readonly ok: true; readonly combined: boolean; readonly streams: string[] }
  | { readonly ok: false; readonly status: number; readonly message: string; readonly retryAfterS?: number };

export class UpgradeGate {
  private readonly attempts: BucketedWindowPerKey;
  private refuseUntil = 0;
  private refuseStatus: RefuseStatus = 429;
  private refuseRetryAfterS: number | null | undefined;

  constructor(
    private readonly limits: ResolvedLimits,
    private readonly counters: SimulatorCounters,
    private readonly clock: () => number,
  ) {
    this.attempts = new BucketedWindowPerKey(limits.maxConnectionAttempts, limits.attemptWindowMs, clock);
  }

  /**
   * Refuses every upgrade for the next `ms` milliseconds (0 ends a refusal early), announcing
   * `Retry-After: retryAfterS`, or the seconds left of the refusal when undefined, or none when null.
   */
  refuse(ms: number, status: RefuseStatus, retryAfterS?: number | null): void {
    this.refuseUntil = this.clock() + ms;
    this.refuseStatus = status;
    this.refuseRetryAfterS = retryAfterS;
  }

  /** The injected refusal in force now, which the REST API honours too. */
  refusal(): { status: RefuseStatus; retryAfterS: number | undefined; until: number } | undefined {
    const now = this.clock();
    if (now >= this.refuseUntil) return undefined;
    const retryAfterS =
      this.refuseRetryAfterS === null
        ? undefined
        : (this.refuseRetryAfterS ?? Math.ceil((this.refuseUntil - now) / 1000));
    return { status: this.refuseStatus, retryAfterS, until: this.refuseUntil };
  }

  check(req: IncomingMessage): UpgradeVerdict {
    this.counters.connectionAttempts++;
    const address = req.socket.remoteAddress ?? 'unknown';
    if (!this.attempts.tryRecord(address)) {
      this.counters.breaches.connectionAttempts++;
      return {
        ok: false,
        status: 429,
        message: `Too many connection attempts: at most ${this.limits.maxConnectionAttempts} per ${this.limits.attemptWindowMs} ms per IP`,
        retryAfterS: Math.ceil(this.limits.attemptWindowMs / 1000),
      };
    }
    const now = this.clock();
    if (now < this.refuseUntil) {
      return {
        ok: false,
        status: this.refuseStatus,
        message: 'Connections are refused for now (fault injection)',
        ...(this.refuseRetryAfterS === null
          ? {}
          : { retryAfterS: this.refuseRetryAfterS ?? Math.ceil((this.refuseUntil - now) / 1000) }),
      };
    }
    const path = parseConnectionPath(req.url);
    if (!path.ok) return path;
    if (path.streams.length > this.limits.maxStreamsPerConnection) {
      this.counters.breaches.streams++;
      return {
        ok: false,
        status: 400,
        message: `Too many streams: a connection can listen to at most ${this.limits.maxStreamsPerConnection}`,
      };
    }
    return path;
  }
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
export function rejectUpgrade(socket: Duplex, verdict: Extract<UpgradeVerdict, { ok: false }>): void {
  refuseUpgrade(socket, verdict.status, { error: verdict.message }, { 'Retry-After': verdict.retryAfterS });
}
