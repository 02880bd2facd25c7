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

/** The key bytes `sequenceRange` reads per kind: [first id, last id] (the same key for single ids). */
function idKeys(kind: string): readonly [number, number] | undefined {
  switch (kind) {
    case 'trade':
      return T_KEYS;
    case 'aggTrade':
      return A_KEYS;
    case 'depth':
      return DEPTH_KEYS;
    case 'bookTicker':
      return U_KEYS;
    default:
      return undefined;
  }
}
const T_KEYS = [0x74, 0x74] as const;
const A_KEYS = [0x61, 0x61] as const;
const DEPTH_KEYS = [0x55, 0x75] as const;
const U_KEYS = [0x75, 0x75] as const;

/**
 * `sequenceRange` of the payload `bytes[start..end)`, read from its bytes: the top-level members of the
 * event object are walked (nested objects, arrays and strings skipped whole, so kline's `k.t` is not
 * taken for a trade id) and only the id members' values are read. Whatever the walk is not sure of (a
 * negative, fractional or long number, an escaped key, bytes that are no object) is left to a full parse.
 */
export function sequenceRangeIn(
  kind: string,
  bytes: Buffer,
  start: number,
  end: number,
): SequenceRange | undefined {
  const keys = idKeys(kind);
  if (keys === undefined) return undefined;
  if (!scanIds(bytes, start, end, keys[0], keys[1])) return parsedRange(kind, bytes, start, end);
  const first = scannedFirst;
  const last = scannedLast;
  // NaN: the member is absent or not a number, as `sequenceRange` reads it.
  if (Number.isNaN(first) || Number.isNaN(last)) return undefined;
  return { first, last };
}

function parsedRange(kind: string, bytes: Buffer, start: number, end: number): SequenceRange | undefined {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8', start, end));
  } catch {
    return undefined;
  }
  return typeof data === 'object' && data !== null
    ? sequenceRange(kind, data as Record<string, unknown>)
    : undefined;
}

// The walk's answers, in module state rather than a result object per event.
let scannedFirst = Number.NaN;
let scannedLast = Number.NaN;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
/** Digits of an id read exactly: 15 stay below 2^53. */
const MAX_DIGITS = 15;

/**
 * Walks the top-level members of the object in `bytes[start..end)`, leaving the values of the members
 * named by the one-byte keys `firstKey` and `lastKey` in `scannedFirst` and `scannedLast` (NaN when
 * absent or not a number; the last member of a repeated key wins, as in JSON.parse). False when unsure.
 */
function scanIds(bytes: Buffer, start: number, end: number, firstKey: number, lastKey: number): boolean {
  scannedFirst = Number.NaN;
  scannedLast = Number.NaN;
  let i = skipSpace(bytes, start, end);
  if (bytes[i] !== OPEN_BRACE) return false;
  i = skipSpace(bytes, i + 1, end);
  if (bytes[i] === CLOSE_BRACE) return skipSpace(bytes, i + 1, end) === end;
  for (;;) {
    if (i >= end || bytes[i] !== QUOTE) return false;
    let key = -1;
    if (i + 2 < end && bytes[i + 2] === QUOTE && bytes[i + 1] !== BACKSLASH) {
      key = bytes[i + 1]!;
      i += 3;
    } else {
      // A longer key is none of the ids, unless an escape spells one.
      for (i++; i < end && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) return false;
      i++;
    }
    i = skipSpace(bytes, i, end);
    if (bytes[i] !== COLON) return false;
    i = skipSpace(bytes, i + 1, end);
    if (i >= end) return false;
    if (key === firstKey || key === lastKey) {
      let value = Number.NaN;
      const c = bytes[i]!;
      if (c >= ZERO && c <= NINE) {
        let n = 0;
        let j = i;
        for (; j < end; j++) {
          const d = bytes[j]!;
          if (d < ZERO || d > NINE) break;
          n = n * 10 + (d - ZERO);
        }
        // A fraction, an exponent, a leading zero or too many digits: JSON.parse reads it better.
        if (j - i > MAX_DIGITS || (c === ZERO && j - i > 1)) return false;
        const next = bytes[j];
        if (next !== COMMA && next !== CLOSE_BRACE && !isSpace(next)) return false;
        value = n;
        i = j;
      } else {
        if (c === 0x2d) return false; // a negative number
        i = skipValue(bytes, i, end);
        if (i < 0) return false;
      }
      if (key === firstKey) scannedFirst = value;
      if (key === lastKey) scannedLast = value;
    } else {
      i = skipValue(bytes, i, end);
      if (i < 0) return false;
    }
    i = skipSpace(bytes, i, end);
    const sep = bytes[i];
    if (sep === CLOSE_BRACE) return skipSpace(bytes, i + 1, end) === end;
    if (sep !== COMMA) return false;
    i = skipSpace(bytes, i + 1, end);
  }
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(bytes: Buffer, i: number, end: number): number {
  while (i < end && isSpace(bytes[i])) i++;
  return i;
}

/** The index after the string opening at `i`, or -1 when it does not end before `end`. */
function skipString(bytes: Buffer, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = bytes[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return -1;
}

/** The index after the value starting at `i`, or -1 when it does not end before `end`. */
function skipValue(bytes: Buffer, i: number, end: number): number {
  const c = bytes[i];
  if (c === QUOTE) return skipString(bytes, i, end);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const b = bytes[j];
      if (b === QUOTE) {
        j = skipString(bytes, j, end);
        if (j < 0) return -1;
        j--;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next separator.
  let j = i;
  while (j < end) {
    const b = bytes[j];
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b)) return j;
    j++;
  }
  return -1;
}
