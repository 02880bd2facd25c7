/**
 * Binance spot market-stream names: grammar, limits and sequence ids.
 *
 * Source: Binance "WebSocket Streams" documentation (spot), sections "Stream names",
 * "Live subscribing/unsubscribing" and "WebSocket limits".
 */
import type { SequenceRange } from '../exchange.js';

/** Streams one connection may carry ("A single connection can listen to a maximum of 1024 streams"). */
export const MAX_STREAMS_PER_CONNECTION = 1024;
/** Incoming messages per second per connection (pings, pongs and control messages count). */
export const MAX_INCOMING_MESSAGES_PER_SECOND = 5;
/** Connection attempts per IP per window. */
export const MAX_CONNECTION_ATTEMPTS = 300;
export const CONNECTION_ATTEMPT_WINDOW_MS = 5 * 60_000;
/** The server pings every 20 s and closes when no pong arrives within 60 s. */
export const SERVER_PING_INTERVAL_MS = 20_000;
export const PONG_DEADLINE_MS = 60_000;
/** A connection is valid for 24 hours only. */
export const MAX_CONNECTION_LIFETIME_MS = 24 * 60 * 60_000;

export const KLINE_INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;
export type KlineInterval = (typeof KLINE_INTERVALS)[number];

export const TICKER_WINDOWS = ['1h', '4h', '1d'] as const;
export type TickerWindow = (typeof TICKER_WINDOWS)[number];

/** The event families a stream can carry. */
export type StreamKind =
  | 'trade'
  | 'aggTrade'
  | 'bookTicker'
  | 'miniTicker'
  | 'ticker'
  | 'avgPrice'
  | 'kline'
  | 'rollingTicker'
  | 'depth'
  | 'partialDepth'
  | 'allMiniTickers';

/** A stream name split into its parts. */
export interface ParsedStream {
  /** The name as given (already lowercase for symbols). */
  readonly name: string;
  readonly kind: StreamKind;
  /** Lowercase symbol, or undefined for `!miniTicker@arr`. */
  readonly symbol: string | undefined;
  /** Kline interval, rolling-ticker window or partial-depth level count. */
  readonly param: string | undefined;
  /** Depth update speed: 1000 (default) or 100 milliseconds. */
  readonly speedMs: 100 | 1000;
}

const SYMBOL = '[a-z0-9]{2,20}';
const SYMBOL_RE = new RegExp(`^${SYMBOL}$`);

/** A symbol as the streams name it: lowercase letters and digits, e.g. `btcusdt`. */
export function isStreamSymbol(symbol: unknown): symbol is string {
  return typeof symbol === 'string' && SYMBOL_RE.test(symbol);
}
const SIMPLE = new Set(['trade', 'aggTrade', 'bookTicker', 'miniTicker', 'ticker', 'avgPrice']);
const STREAM_RE = new RegExp(
  `^(${SYMBOL})@(?:(trade|aggTrade|bookTicker|miniTicker|ticker|avgPrice)` +
    `|kline_(${KLINE_INTERVALS.join('|')})` +
    `|ticker_(${TICKER_WINDOWS.join('|')})` +
    `|depth(5|10|20)?(@100ms|@1000ms)?)$`,
);

/**
 * Parses a stream name against the Binance grammar. Returns undefined when the name is not valid;
 * symbols must be lowercase, as Binance requires.
 */
export function parseStreamName(name: string): ParsedStream | undefined {
  if (name === '!miniTicker@arr') {
    return { name, kind: 'allMiniTickers', symbol: undefined, param: undefined, speedMs: 1000 };
  }
  const m = STREAM_RE.exec(name);
  if (!m) return undefined;
  const [, symbol, simple, interval, window, levels, speed] = m;
  const speedMs = speed === '@100ms' ? 100 : 1000;
  if (simple !== undefined && SIMPLE.has(simple)) {
    return { name, kind: simple as StreamKind, symbol, param: undefined, speedMs };
  }
  if (interval !== undefined) return { name, kind: 'kline', symbol, param: interval, speedMs };
  if (window !== undefined) return { name, kind: 'rollingTicker', symbol, param: window, speedMs };
  if (levels !== undefined) return { name, kind: 'partialDepth', symbol, param: levels, speedMs };
  return { name, kind: 'depth', symbol, param: undefined, speedMs };
}

/** True when `name` is a valid Binance market stream name. */
export function isValidStreamName(name: unknown): name is string {
  return typeof name === 'string' && parseStreamName(name) !== undefined;
}

export type { SequenceRange };

/** Kinds whose events carry sequence ids that increase by exactly one per event (or per range). */
export function hasSequenceIds(kind: string): boolean {
  return kind === 'trade' || kind === 'aggTrade' || kind === 'depth';
}

/**
 * Reads the sequence range of an event payload (the `data` of a combined-stream frame).
 * trade: `t`; aggTrade: `a`; depth diff: `U`..`u`. bookTicker's `u` increases but is shared across
 * a symbol's order-book updates, so it is used for ordering (de-duplication) but not for gaps.
 */
export function sequenceRange(kind: string, data: Record<string, unknown>): SequenceRange | undefined {
  switch (kind) {
    case 'trade':
      return single(data['t']);
    case 'aggTrade':
      return single(data['a']);
    case 'depth': {
      const first = data['U'];
      const last = data['u'];
      return typeof first === 'number' && typeof last === 'number' ? { first, last } : undefined;
    }
    case 'bookTicker':
      return single(data['u']);
    default:
      return undefined;
  }
}

function single(v: unknown): SequenceRange | undefined {
  return typeof v === 'number' ? { first: v, last: v } : undefined;
}
