/** Simulator defaults in one place, and the validation that turns options into a frozen configuration. */
import { describeValue, ErrorCodes, InvalidArgumentError } from '../core/errors.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import {
  CONNECTION_ATTEMPT_WINDOW_MS,
  isStreamSymbol,
  MAX_CONNECTION_ATTEMPTS,
  MAX_CONNECTION_LIFETIME_MS,
  MAX_INCOMING_MESSAGES_PER_SECOND,
  MAX_STREAMS_PER_CONNECTION,
  PONG_DEADLINE_MS,
  SERVER_PING_INTERVAL_MS,
} from '../exchange/binance/streams.js';
import { BINANCE_WEIGHT_BUDGET } from '../exchange/binance/weight-budget.js';
import type { SimulatorLimits, SimulatorOptions, SimulatorRestLimits } from './types.js';

export const DEFAULT_SYMBOLS: readonly string[] = ['btcusdt', 'ethusdt', 'bnbusdt', 'solusdt', 'xrpusdt'];
export const DEFAULT_RATE = 5;
export const DEFAULT_SEED = 1;
/** Binance does not say how early the notice comes; ten seconds leaves a client time to reconnect. */
export const DEFAULT_SHUTDOWN_NOTICE_MS = 10_000;
/** Highest `rate` accepted as a number; beyond it use 'max'. */
export const MAX_NUMERIC_RATE = 100_000;

export interface ResolvedLimits {
  readonly maxStreamsPerConnection: number;
  readonly maxMessagesPerSecond: number;
  readonly maxConnectionAttempts: number;
  readonly attemptWindowMs: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly shutdownNoticeMs: number;
}

export type ResolvedRestLimits = Readonly<Required<SimulatorRestLimits>>;

/** Events kept per trade/aggTrade feed: minutes of history at usual rates, a few MB per stream. */
export const DEFAULT_HISTORY_SIZE = 10_000;

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly symbols: readonly string[];
  readonly rate: number | 'max';
  readonly seed: number;
  readonly limits: ResolvedLimits;
  readonly rest: ResolvedRestLimits;
}

/** Throws the TypeError every bad option gets: it names the option, what was expected and what came. */
export function invalidOption(name: string, expected: string, received: unknown): never {
  throw new InvalidArgumentError(
    ErrorCodes.INVALID_OPTION,
    `${name} must be ${expected}, received ${describeValue(received)}`,
  );
}

/** An integer in [min, max], or the fallback when undefined. */
export function integerOption(
  name: string,
  value: unknown,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', 'an object', options);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) invalidOption('host', 'a non-empty string', host);
  const port = integerOption('port', options.port, 0, 65_535, 0);
  const symbols = options.symbols ?? DEFAULT_SYMBOLS;
  if (!Array.isArray(symbols) || symbols.length === 0) {
    invalidOption('symbols', 'a non-empty array of lowercase symbols', symbols);
  }
  for (const s of symbols) {
    if (!isStreamSymbol(s)) {
      invalidOption('symbols', 'lowercase symbols of 2 to 20 letters or digits', s);
    }
  }
  const rate = options.rate ?? DEFAULT_RATE;
  if (rate !== 'max' && (typeof rate !== 'number' || !(rate > 0) || rate > MAX_NUMERIC_RATE)) {
    invalidOption('rate', `a number above 0 and at most ${MAX_NUMERIC_RATE}, or 'max'`, rate);
  }
  const seed = integerOption('seed', options.seed, 0, 0xffff_ffff, DEFAULT_SEED);
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    invalidOption('clock', 'a function', options.clock);
  }
  return Object.freeze({
    host,
    port,
    symbols: Object.freeze([...new Set(symbols)]),
    rate,
    seed,
    limits: resolveLimits(options.limits ?? {}),
    rest: resolveRestLimits(options.rest ?? {}),
  });
}

function resolveLimits(limits: SimulatorLimits): ResolvedLimits {
  if (typeof limits !== 'object' || limits === null) invalidOption('limits', 'an object', limits);
  const n = (key: keyof SimulatorLimits, min: number, max: number, fallback: number): number =>
    integerOption(`limits.${key}`, limits[key], min, max, fallback);
  const maxLifetimeMs = n('maxLifetimeMs', 1, MAX_TIMER_MS, MAX_CONNECTION_LIFETIME_MS);
  const resolved: ResolvedLimits = {
    maxStreamsPerConnection: n('maxStreamsPerConnection', 1, 1_000_000, MAX_STREAMS_PER_CONNECTION),
    maxMessagesPerSecond: n('maxMessagesPerSecond', 1, 1_000_000, MAX_INCOMING_MESSAGES_PER_SECOND),
    maxConnectionAttempts: n('maxConnectionAttempts', 1, 1_000_000, MAX_CONNECTION_ATTEMPTS),
    attemptWindowMs: n('attemptWindowMs', 1, MAX_TIMER_MS, CONNECTION_ATTEMPT_WINDOW_MS),
    pingIntervalMs: n('pingIntervalMs', 1, MAX_TIMER_MS, SERVER_PING_INTERVAL_MS),
    pongTimeoutMs: n('pongTimeoutMs', 1, MAX_TIMER_MS, PONG_DEADLINE_MS),
    maxLifetimeMs,
    shutdownNoticeMs: n(
      'shutdownNoticeMs',
      0,
      maxLifetimeMs,
      Math.min(DEFAULT_SHUTDOWN_NOTICE_MS, maxLifetimeMs),
    ),
  };
  return Object.freeze(resolved);
}

function resolveRestLimits(rest: SimulatorRestLimits): ResolvedRestLimits {
  if (typeof rest !== 'object' || rest === null) invalidOption('rest', 'an object', rest);
  const n = (key: keyof SimulatorRestLimits, min: number, max: number, fallback: number): number =>
    integerOption(`rest.${key}`, rest[key], min, max, fallback);
  return Object.freeze({
    weightLimit: n('weightLimit', 1, 1_000_000_000, BINANCE_WEIGHT_BUDGET.limit),
    windowMs: n('windowMs', 1, MAX_TIMER_MS, BINANCE_WEIGHT_BUDGET.windowMs),
    requestsBeforeBan: n('requestsBeforeBan', 0, 1_000_000, BINANCE_WEIGHT_BUDGET.requestsBeforeBan),
    banMs: n('banMs', 1, MAX_TIMER_MS, BINANCE_WEIGHT_BUDGET.banMs),
    historySize: n('historySize', 0, 1_000_000, DEFAULT_HISTORY_SIZE),
  });
}
