/**
 * WSManager options: their documented defaults (in one place), validation at construction, and the
 * frozen, fully resolved form the rest of the manager reads.
 */
import type { Registry } from 'prom-client';
import { describeValue, ErrorCodes, InvalidArgumentError } from '../errors.js';
import { restBaseFor } from '../exchange/binance/rest-base.js';
import { REQUEST_WEIGHT_PER_MINUTE } from '../exchange/binance/rest-limits.js';
import {
  CONNECTION_ATTEMPT_WINDOW_MS,
  MAX_CONNECTION_ATTEMPTS,
  MAX_CONNECTION_LIFETIME_MS,
  MAX_INCOMING_MESSAGES_PER_SECOND,
  MAX_STREAMS_PER_CONNECTION,
} from '../exchange/binance/streams.js';
import type { Logger } from '../log.js';

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
  readonly url: string;
  readonly streamUrl: string;
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

/** The longest delay setTimeout honours (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_RETRY_DELAY_MS = 30_000;

export const DEFAULTS = Object.freeze({
  maxStreamsPerConnection: MAX_STREAMS_PER_CONNECTION,
  pacing: Object.freeze({ messages: 4, windowMs: 1000, maxStreamsPerMessage: 1024 }),
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
    limit: MAX_CONNECTION_ATTEMPTS,
    windowMs: CONNECTION_ATTEMPT_WINDOW_MS,
  }),
  stallTimeoutMs: 50_000,
  connectTimeoutMs: 10_000,
  rotateAfterMs: MAX_CONNECTION_LIFETIME_MS - 30 * 60_000,
  rotationTimeoutMs: 5_000,
  healthGraceMs: 30_000,
  restWeightPerMinute: 1200,
});

function fail(name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(
    ErrorCodes.INVALID_OPTION,
    `WSManager option "${name}" must be ${expected}; received ${describeValue(value)}`,
  );
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function object(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, 'an object', value);
  return value as Record<string, unknown>;
}

function fn<T>(name: string, value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(name, 'a function', value);
  return value as T;
}

/** Validates `options` once; throws `InvalidArgumentError` (code `WS_ERR_INVALID_OPTION`) naming the option. */
export function resolveOptions(options: WSManagerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    fail('options', 'an object with at least "url"', options);
  const url: unknown = options.url;
  if (typeof url !== 'string' || !/^wss?:\/\/[^/\s]+/.test(url)) {
    fail('url', 'a ws:// or wss:// URL such as "wss://stream.binance.com:9443"', url);
  }
  try {
    new URL(url);
  } catch {
    fail('url', 'a ws:// or wss:// URL such as "wss://stream.binance.com:9443"', url);
  }
  const base = url.replace(/\/+$/, '');
  const pacingIn = object('pacing', options.pacing);
  const messages = integer('pacing.messages', pacingIn['messages'], DEFAULTS.pacing.messages, 1, 1000);
  const windowMs = integer(
    'pacing.windowMs',
    pacingIn['windowMs'],
    DEFAULTS.pacing.windowMs,
    1,
    MAX_TIMER_MS,
  );
  // Binance "WebSocket Limits": 5 incoming messages per second per connection, or 1008 and a disconnect.
  if (messages * 1000 > MAX_INCOMING_MESSAGES_PER_SECOND * windowMs) {
    fail(
      'pacing',
      `at most ${MAX_INCOMING_MESSAGES_PER_SECOND} messages per 1000 ms (the exchange limit)`,
      pacingIn,
    );
  }
  const maxStreamsPerMessage = integer(
    'pacing.maxStreamsPerMessage',
    pacingIn['maxStreamsPerMessage'],
    DEFAULTS.pacing.maxStreamsPerMessage,
    1,
    MAX_STREAMS_PER_CONNECTION,
  );
  const retryIn = object('retry', options.retry);
  const baseDelayMs = integer(
    'retry.baseDelayMs',
    retryIn['baseDelayMs'],
    DEFAULTS.retry.baseDelayMs,
    1,
    MAX_RETRY_DELAY_MS,
  );
  const maxDelayMs = integer(
    'retry.maxDelayMs',
    retryIn['maxDelayMs'],
    DEFAULTS.retry.maxDelayMs,
    baseDelayMs,
    MAX_RETRY_DELAY_MS,
  );
  let maxAttempts: number = DEFAULTS.retry.maxAttempts;
  if (retryIn['maxAttempts'] === Number.POSITIVE_INFINITY) maxAttempts = Number.POSITIVE_INFINITY;
  else
    maxAttempts = integer(
      'retry.maxAttempts',
      retryIn['maxAttempts'],
      maxAttempts,
      1,
      Number.MAX_SAFE_INTEGER,
    );
  const resetAfterMs = integer(
    'retry.resetAfterMs',
    retryIn['resetAfterMs'],
    DEFAULTS.retry.resetAfterMs,
    0,
    MAX_TIMER_MS,
  );
  const healthyAfterMs = integer(
    'retry.healthyAfterMs',
    retryIn['healthyAfterMs'],
    DEFAULTS.retry.healthyAfterMs,
    0,
    MAX_TIMER_MS,
  );
  const firstRetryJitterMs = integer(
    'retry.firstRetryJitterMs',
    retryIn['firstRetryJitterMs'],
    DEFAULTS.retry.firstRetryJitterMs,
    0,
    MAX_RETRY_DELAY_MS,
  );
  const attemptsIn = object('connectionAttempts', options.connectionAttempts);
  const limit = integer(
    'connectionAttempts.limit',
    attemptsIn['limit'],
    DEFAULTS.connectionAttempts.limit,
    1,
    1_000_000,
  );
  const attemptWindowMs = integer(
    'connectionAttempts.windowMs',
    attemptsIn['windowMs'],
    DEFAULTS.connectionAttempts.windowMs,
    1,
    MAX_TIMER_MS,
  );
  const resolved: ResolvedOptions = {
    url: base,
    streamUrl: `${base}/stream`,
    maxStreamsPerConnection: integer(
      'maxStreamsPerConnection',
      options.maxStreamsPerConnection,
      DEFAULTS.maxStreamsPerConnection,
      1,
      MAX_STREAMS_PER_CONNECTION,
    ),
    pacing: Object.freeze({ messages, windowMs, maxStreamsPerMessage }),
    idleGraceMs: integer('idleGraceMs', options.idleGraceMs, DEFAULTS.idleGraceMs, 0, MAX_TIMER_MS),
    retry: Object.freeze({
      baseDelayMs,
      maxDelayMs,
      maxAttempts,
      resetAfterMs,
      healthyAfterMs,
      firstRetryJitterMs,
    }),
    connectionAttempts: Object.freeze({ limit, windowMs: attemptWindowMs }),
    stallTimeoutMs: integer(
      'stallTimeoutMs',
      options.stallTimeoutMs,
      DEFAULTS.stallTimeoutMs,
      4,
      MAX_TIMER_MS,
    ),
    connectTimeoutMs: integer(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      DEFAULTS.connectTimeoutMs,
      1,
      MAX_TIMER_MS,
    ),
    rotateAfterMs: integer(
      'rotateAfterMs',
      options.rotateAfterMs,
      DEFAULTS.rotateAfterMs,
      1,
      // Binance closes connections at 24 h; rotating later than that would be a disconnect, not a rotation.
      MAX_CONNECTION_LIFETIME_MS - 1,
    ),
    rotationTimeoutMs: integer(
      'rotationTimeoutMs',
      options.rotationTimeoutMs,
      DEFAULTS.rotationTimeoutMs,
      1,
      MAX_TIMER_MS,
    ),
    healthGraceMs: integer('healthGraceMs', options.healthGraceMs, DEFAULTS.healthGraceMs, 0, MAX_TIMER_MS),
    recovery: recoveryOption(options.recovery),
    restUrl: restUrlOption(options.restUrl, base),
    restWeightPerMinute: integer(
      'restWeightPerMinute',
      options.restWeightPerMinute,
      DEFAULTS.restWeightPerMinute,
      1,
      REQUEST_WEIGHT_PER_MINUTE,
    ),
    random: fn('random', options.random, Math.random),
    now: fn('now', options.now, Date.now),
  };
  return Object.freeze(resolved);
}

function recoveryOption(value: unknown): 'backfill' | 'report' {
  if (value === undefined) return 'report';
  if (value !== 'backfill' && value !== 'report') fail('recovery', '"backfill" or "report"', value);
  return value;
}

function restUrlOption(value: unknown, wsUrl: string): string | undefined {
  if (value === undefined) return restBaseFor(wsUrl);
  if (typeof value !== 'string' || !/^https?:\/\/[^/\s]+/.test(value))
    fail('restUrl', 'an http:// or https:// URL such as "https://api.binance.com"', value);
  return value.replace(/\/+$/, '');
}
