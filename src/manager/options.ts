/**
 * WSManager options as users write them, their documented defaults (in one place), and the frozen,
 * fully resolved form the rest of the manager reads. resolve-options.ts validates and resolves them.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import type { Exchange } from '../exchange/exchange.js';
import { DEFAULT_EXCHANGE } from './default-exchange.js';

/** Reconnection policy (full-jitter exponential backoff). */
export interface RetryOptions {
  /** Upper bound of the first retry delay. @default 1000 */
  baseDelayMs?: number;
  /** Upper bound of any retry delay; at most 30 000. @default 30000 */
  maxDelayMs?: number;
  /**
   * Consecutive failed attempts after which a connection gives up: its subscribers get
   * `WS_ERR_RETRIES_EXHAUSTED` and the manager reports unhealthy. `Infinity` never gives up.
   * @default 10
   */
  maxAttempts?: number;
  /** A connection that stayed open this long resets the attempt counter. @default 30000 */
  resetAfterMs?: number;
  /**
   * A socket that served this long before it ended unexpectedly was healthy: its first reconnect goes
   * out at once (within `firstRetryJitterMs`), the backoff applies from the second attempt on. @default 1000
   */
  healthyAfterMs?: number;
  /** Upper bound of the random delay of that immediate first reconnect. @default 50 */
  firstRetryJitterMs?: number;
}

/**
 * The connection-attempt budget shared by every connection of one manager. A refused upgrade's
 * `Retry-After` (429, 418, or 503 with the header) also stops every attempt until it has passed.
 */
export interface ConnectionAttemptOptions {
  /** Attempts allowed per window (Binance: 300 per 5 minutes per IP). @default 300 */
  limit?: number;
  /** @default 300000 */
  windowMs?: number;
}

/** Pacing of every frame the manager sends on one connection (control messages and pongs). */
export interface PacingOptions {
  /**
   * Frames allowed in any rolling window of `windowMs`. The exchange allows 5 per second; 4 leaves a
   * margin for network bunching. `messages / windowMs` may not exceed 5 per 1000 ms.
   * @default 4
   */
  messages?: number;
  /** @default 1000 */
  windowMs?: number;
  /** Streams carried by one SUBSCRIBE/UNSUBSCRIBE message. @default 1024 */
  maxStreamsPerMessage?: number;
}

export interface WSManagerOptions {
  /**
   * The venue: its stream names, endpoints, control messages, limits, sequence ids, REST history and
   * order-book procedure. Defaults and bounds of the options below follow its limits. @default binance
   */
  exchange?: Exchange;
  /** Upstream base URL (`ws://` or `wss://`), e.g. `wss://stream.binance.com:9443`; the manager opens `${url}/stream`. */
  url: string;
  /** prom-client registry for the metrics. @default a new Registry of its own */
  registry?: Registry;
  /** pino logger. @default silent */
  logger?: Logger;
  /** Streams packed onto one upstream connection (Binance maximum: 1024). @default 1024 */
  maxStreamsPerConnection?: number;
  pacing?: PacingOptions;
  /** How long a stream with no subscriber stays subscribed upstream before release. @default 30000 */
  idleGraceMs?: number;
  retry?: RetryOptions;
  connectionAttempts?: ConnectionAttemptOptions;
  /**
   * A connection that received nothing (no event, no ping) for this long is terminated and
   * replaced. Binance pings every 20 s. The last resort for quiet connections: one whose events
   * usually come often is probed with a ping once silent for ten usual gaps (at least 1 s) and
   * replaced when no pong comes within 2 s. @default 50000
   */
  stallTimeoutMs?: number;
  /** WebSocket opening handshake timeout. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Age at which a connection is rotated (make-before-break), ahead of Binance's 24 h limit.
   * @default 84600000 (23.5 h)
   */
  rotateAfterMs?: number;
  /**
   * During a rotation, the old connection closes once every stream delivered on the new one, or
   * after this long. @default 5000
   */
  rotationTimeoutMs?: number;
  /**
   * A wanted connection down longer than this (waiting for backoff or the attempt budget; a stalled
   * one since its last traffic) makes `health()` unhealthy. @default 30000
   */
  healthGraceMs?: number;
  /**
   * What a sequence gap means for subscribers that do not say (`StreamListener.recovery`):
   * `'backfill'` refills aggTrade, trade and kline gaps from the exchange's REST history when it can (the
   * missing events arrive in order before the live ones, no `gap` call), reporting the rest;
   * `'report'` only reports them. @default 'report'
   */
  recovery?: 'backfill' | 'report';
  /**
   * REST base URL of the exchange history used by backfills. @default derived from `url`:
   * `https://api.binance.com` for `stream.binance.com`, the same host and port over http for `ws://`
   * (the simulator); none otherwise (gaps are then reported).
   */
  restUrl?: string;
  /**
   * Request weight the manager's REST calls may use per minute, all together; kept below the
   * exchange's 6000 per IP so other clients of the IP keep room. @default 1200
   */
  restWeightPerMinute?: number;
  /** Returns a number in [0, 1) for jitter. @default Math.random */
  random?: () => number;
  /** Wall clock in epoch milliseconds. @default Date.now */
  now?: () => number;
}

export interface ResolvedOptions {
  readonly exchange: Exchange;
  readonly url: string;
  readonly streamUrl: string;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly maxStreamsPerConnection: number;
  readonly pacing: Required<PacingOptions>;
  readonly idleGraceMs: number;
  readonly retry: Required<RetryOptions>;
  readonly connectionAttempts: Required<ConnectionAttemptOptions>;
  readonly stallTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly rotateAfterMs: number;
  readonly rotationTimeoutMs: number;
  readonly healthGraceMs: number;
  readonly recovery: 'backfill' | 'report';
  readonly restUrl: string | undefined;
  readonly restWeightPerMinute: number;
  readonly random: () => number;
  readonly now: () => number;
}

/** The longest retry delay (`retry.maxDelayMs` at most). */
export const MAX_RETRY_DELAY_MS = 30_000;

const { limits } = DEFAULT_EXCHANGE;

/** The defaults with the default exchange; another exchange's limits change those derived from them. */
export const DEFAULTS = Object.freeze({
  maxStreamsPerConnection: limits.streamsPerConnection,
  pacing: Object.freeze({
    messages: 4,
    windowMs: 1000,
    maxStreamsPerMessage: DEFAULT_EXCHANGE.control.argsPerMessage,
  }),
  idleGraceMs: 30_000,
  retry: Object.freeze({
    baseDelayMs: 1000,
    maxDelayMs: MAX_RETRY_DELAY_MS,
    maxAttempts: 10,
    resetAfterMs: 30_000,
    healthyAfterMs: 1000,
    // Enough to spread the reconnects of many clients dropped together over a few round trips.
    firstRetryJitterMs: 50,
  }),
  connectionAttempts: Object.freeze({
    limit: limits.connectionAttempts.limit,
    windowMs: limits.connectionAttempts.windowMs,
  }),
  stallTimeoutMs: 50_000,
  connectTimeoutMs: 10_000,
  rotateAfterMs: rotateAfterMsFor(DEFAULT_EXCHANGE),
  rotationTimeoutMs: 5_000,
  healthGraceMs: 30_000,
  restWeightPerMinute: 1200,
});

/** Connections rotate half an hour before the exchange would close them. */
export function rotateAfterMsFor(exchange: Exchange): number {
  return exchange.limits.connectionLifetimeMs - 30 * 60_000;
}
