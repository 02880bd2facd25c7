/**
 * Validates and resolves WSManager options once, at construction. Every option is one row of
 * `OPTION_TABLE` (name, default, check, meaning); `resolveOptions` loops over the table, and the
 * options table of docs/manager.md is the table rendered (a test keeps the two equal).
 */
import { Registry } from 'prom-client';
import { describeValue, ErrorCodes, InvalidArgumentError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import type { Exchange } from '../exchange/exchange.js';
import { DEFAULT_EXCHANGE } from './default-exchange.js';
import {
  DEFAULTS,
  MAX_RETRY_DELAY_MS,
  type ResolvedOptions,
  rotateAfterMsFor,
  type WSManagerOptions,
} from './options.js';

/** Option values resolved so far, by dotted name: a row's bounds or default may depend on earlier rows. */
type Resolved = Readonly<Record<string, unknown>>;

/** One option: how errors and docs name it, its default, what it accepts, and what it means. */
export interface OptionRow {
  /** Dotted path, e.g. `retry.maxDelayMs`. */
  readonly name: string;
  /** The value when the option is absent; a function derives it (or makes a fresh one). */
  readonly default: (resolved: Resolved) => unknown;
  /** Absent is invalid: no default. */
  readonly required?: boolean;
  /** The default as docs/manager.md shows it. */
  readonly shownDefault: string;
  /** What a valid value is, completing "must be ..." in the error message. */
  readonly expected: (resolved: Resolved) => string;
  readonly accepts: (value: unknown, resolved: Resolved) => boolean;
  /** The resolved form of an accepted value (as given when absent). */
  readonly normalise?: (value: never) => unknown;
  /** The meaning, as docs/manager.md shows it. */
  readonly doc: string;
}

type Bound = number | ((resolved: Resolved) => number);
const bound = (b: Bound, resolved: Resolved): number => (typeof b === 'number' ? b : b(resolved));

function integer(name: string, fallback: number, min: Bound, max: Bound, doc: string): OptionRow {
  return {
    name,
    default: () => fallback,
    shownDefault: String(fallback),
    expected: (r) => `an integer from ${bound(min, r)} to ${bound(max, r)}`,
    accepts: (v, r) =>
      typeof v === 'number' && Number.isInteger(v) && v >= bound(min, r) && v <= bound(max, r),
    doc,
  };
}

/** The exchange row's value: the rows below it take their exchange-given defaults and bounds from it. */
const exchangeIn = (r: Resolved): Exchange => r['exchange'] as Exchange;
const streamsPerConnection = (r: Resolved): number => exchangeIn(r).limits.streamsPerConnection;
/** Keys every adapter has, so a plain object standing in for one is caught at construction. */
const EXCHANGE_PARTS = [
  'streams',
  'endpoints',
  'control',
  'frames',
  'heartbeat',
  'limits',
  'sequence',
  'history',
  'book',
];

function fn(name: string, fallback: () => unknown, shownDefault: string, doc: string): OptionRow {
  return {
    name,
    default: () => fallback,
    shownDefault,
    expected: () => 'a function',
    accepts: (v) => typeof v === 'function',
    doc,
  };
}

const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '');

/** Every option, in the order they are checked (a row may read the rows above it). */
export const OPTION_TABLE: readonly OptionRow[] = [
  {
    name: 'exchange',
    default: () => DEFAULT_EXCHANGE,
    shownDefault: '`binance`',
    expected: () => 'an Exchange adapter such as binance',
    accepts: (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as Exchange).name === 'string' &&
      EXCHANGE_PARTS.every((part) => typeof (v as Record<string, unknown>)[part] === 'object'),
    doc: 'The venue: stream names, endpoints, control messages, heartbeats, limits, sequence ids, REST history and order-book procedure (see Exchange adapter). Defaults and bounds marked Binance below follow its limits.',
  },
  {
    name: 'url',
    default: () => undefined,
    required: true,
    shownDefault: '(required)',
    expected: (r) => `a ws:// or wss:// URL such as "${exchangeIn(r).endpoints.exampleUrl}"`,
    accepts: (v) => typeof v === 'string' && /^wss?:\/\/[^/\s]+/.test(v) && URL.canParse(v),
    normalise: withoutTrailingSlash,
    doc: 'Upstream base URL, `ws://` or `wss://`. The manager opens `${url}/stream` (Binance).',
  },
  {
    name: 'registry',
    default: () => new Registry(),
    shownDefault: 'a new `Registry`',
    expected: () => 'a prom-client Registry',
    accepts: (v) => v instanceof Registry,
    doc: 'prom-client registry for the metrics below.',
  },
  {
    name: 'logger',
    default: () => silentLogger(),
    shownDefault: 'silent',
    expected: () => 'a pino Logger',
    accepts: (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as Logger).info === 'function' &&
      typeof (v as Logger).warn === 'function',
    doc: 'pino logger.',
  },
  {
    ...integer(
      'maxStreamsPerConnection',
      DEFAULTS.maxStreamsPerConnection,
      1,
      streamsPerConnection,
      'Streams packed onto one connection (Binance maximum 1024).',
    ),
    default: streamsPerConnection,
  },
  {
    ...integer(
      'pacing.messages',
      DEFAULTS.pacing.messages,
      1,
      1000,
      "Frames sent per connection in any rolling window of `pacing.windowMs`: SUBSCRIBE, UNSUBSCRIBE **and pongs**. Binance allows 5 per second; more than 5 per 1000 ms is rejected. The default is one below the exchange's limit per second (Bybit and OKX: 9).",
    ),
    // One frame of margin under the exchange's limit, as Binance's 4 of 5.
    default: (r) => Math.max(1, exchangeIn(r).limits.incomingMessagesPerSecond - 1),
  },
  integer('pacing.windowMs', DEFAULTS.pacing.windowMs, 1, MAX_TIMER_MS, 'The window of `pacing.messages`.'),
  {
    ...integer(
      'pacing.maxStreamsPerMessage',
      DEFAULTS.pacing.maxStreamsPerMessage,
      1,
      (r) => Math.min(exchangeIn(r).control.argsPerMessage, streamsPerConnection(r)),
      'Streams carried by one SUBSCRIBE/UNSUBSCRIBE.',
    ),
    default: (r) => Math.min(exchangeIn(r).control.argsPerMessage, streamsPerConnection(r)),
  },
  integer(
    'idleGraceMs',
    DEFAULTS.idleGraceMs,
    0,
    MAX_TIMER_MS,
    'A stream without subscribers stays subscribed this long, then is released.',
  ),
  integer(
    'retry.baseDelayMs',
    DEFAULTS.retry.baseDelayMs,
    1,
    MAX_RETRY_DELAY_MS,
    'Upper bound of the first retry delay.',
  ),
  integer(
    'retry.maxDelayMs',
    DEFAULTS.retry.maxDelayMs,
    (r) => r['retry.baseDelayMs'] as number,
    MAX_RETRY_DELAY_MS,
    'Cap of any retry delay (at most 30000). Delay = `random() * min(cap, base * 2^attempt)` (full jitter).',
  ),
  {
    ...integer(
      'retry.maxAttempts',
      DEFAULTS.retry.maxAttempts,
      1,
      Number.MAX_SAFE_INTEGER,
      'Consecutive failed attempts before a connection gives up (`Infinity` allowed).',
    ),
    expected: () => `an integer from 1 to ${Number.MAX_SAFE_INTEGER} or Infinity`,
    accepts: (v) =>
      v === Number.POSITIVE_INFINITY || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1),
  },
  integer(
    'retry.resetAfterMs',
    DEFAULTS.retry.resetAfterMs,
    0,
    MAX_TIMER_MS,
    'A connection that stayed open this long resets its attempt counter.',
  ),
  integer(
    'retry.healthyAfterMs',
    DEFAULTS.retry.healthyAfterMs,
    0,
    MAX_TIMER_MS,
    'A socket that served this long before it ended unexpectedly was healthy: its first reconnect goes out at once (see Reconnection).',
  ),
  integer(
    'retry.firstRetryJitterMs',
    DEFAULTS.retry.firstRetryJitterMs,
    0,
    MAX_RETRY_DELAY_MS,
    'Upper bound of the random delay of that immediate first reconnect.',
  ),
  {
    ...integer(
      'connectionAttempts.limit',
      DEFAULTS.connectionAttempts.limit,
      1,
      1_000_000,
      'Connection attempts (connects, reconnects, rotations) allowed per rolling window, shared by all connections of the manager. When spent, connections wait.',
    ),
    default: (r) => exchangeIn(r).limits.connectionAttempts.limit,
  },
  {
    ...integer(
      'connectionAttempts.windowMs',
      DEFAULTS.connectionAttempts.windowMs,
      1,
      MAX_TIMER_MS,
      'The window of `connectionAttempts.limit`. It is kept 1 s longer than given, since the exchange counts an attempt when it arrives.',
    ),
    default: (r) => exchangeIn(r).limits.connectionAttempts.windowMs,
  },
  integer(
    'stallTimeoutMs',
    DEFAULTS.stallTimeoutMs,
    4,
    MAX_TIMER_MS,
    'No frame and no ping for this long: the connection is terminated and replaced. The last resort for quiet connections: a busy one that falls silent is probed within seconds (see Liveness). Gateway: `UPSTREAM_STALL_TIMEOUT_SECONDS`.',
  ),
  integer('connectTimeoutMs', DEFAULTS.connectTimeoutMs, 1, MAX_TIMER_MS, 'Opening handshake timeout.'),
  {
    ...integer(
      'rotateAfterMs',
      DEFAULTS.rotateAfterMs,
      1,
      // Binance closes connections at 24 h; rotating later than that would be a disconnect, not a rotation.
      (r) => exchangeIn(r).limits.connectionLifetimeMs - 1,
      'Connection age at which it is rotated (must be below 24 h).',
    ),
    default: (r) => rotateAfterMsFor(exchangeIn(r)),
    shownDefault: `${DEFAULTS.rotateAfterMs} (23.5 h)`,
  },
  integer(
    'rotationTimeoutMs',
    DEFAULTS.rotationTimeoutMs,
    1,
    MAX_TIMER_MS,
    'During a rotation the old socket closes when every stream delivered on the new one, or after this long.',
  ),
  integer(
    'healthGraceMs',
    DEFAULTS.healthGraceMs,
    0,
    MAX_TIMER_MS,
    'A connection carrying streams that is down longer than this makes the manager unhealthy.',
  ),
  {
    name: 'recovery',
    default: () => 'report',
    shownDefault: "`'report'`",
    expected: () => '"backfill" or "report"',
    accepts: (v) => v === 'backfill' || v === 'report',
    doc: "What a gap means for subscribers that do not say (`listener.recovery`): `'backfill'` refills aggTrade, trade and kline gaps from the exchange's REST history (see Backfill), `'report'` only reports them.",
  },
  {
    name: 'restUrl',
    default: (r) => exchangeIn(r).endpoints.restBaseFor(r['url'] as string),
    shownDefault: 'derived from `url`',
    expected: () => 'an http:// or https:// URL such as "https://api.binance.com"',
    accepts: (v) => typeof v === 'string' && /^https?:\/\/[^/\s]+/.test(v),
    normalise: withoutTrailingSlash,
    doc: 'REST base of the history: `https://api.binance.com` for `stream.binance.com`, `https://data-api.binance.vision` for `data-stream.binance.vision`, the same host and port over `http://` for a `ws://` URL (the simulator); none for other `wss://` hosts (gaps are then reported).',
  },
  integer(
    'restWeightPerMinute',
    DEFAULTS.restWeightPerMinute,
    1,
    (r) => exchangeIn(r).limits.restWeightPerMinute,
    "Request weight all REST calls of the manager may use per minute together (at most 6000, Binance's limit per IP).",
  ),
  fn('random', Math.random, '`Math.random`', 'Returns a number in [0, 1) for jitter; injectable for tests.'),
  fn('now', Date.now, '`Date.now`', 'Wall clock in epoch milliseconds; injectable for tests.'),
];

function fail(name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(
    ErrorCodes.INVALID_OPTION,
    `WSManager option "${name}" must be ${expected}; received ${describeValue(value)}`,
  );
}

/** The value given for a dotted name; a group (`retry`) that is not an object is refused. */
function given(options: object, name: string): unknown {
  const [group, key] = name.split('.') as [string, string | undefined];
  const value: unknown = (options as Record<string, unknown>)[group];
  if (key === undefined) return value;
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(group, 'an object', value);
  return (value as Record<string, unknown>)[key];
}

/** Builds `{retry: {maxDelayMs}}` from `{'retry.maxDelayMs'}`, the groups frozen. */
function nest(flat: Resolved): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const groups = new Map<string, Record<string, unknown>>();
  for (const [name, value] of Object.entries(flat)) {
    const [group, key] = name.split('.') as [string, string | undefined];
    if (key === undefined) {
      out[group] = value;
      continue;
    }
    const members = groups.get(group) ?? {};
    members[key] = value;
    groups.set(group, members);
  }
  for (const [group, members] of groups) out[group] = Object.freeze(members);
  return out;
}

/** Validates `options` once; throws `InvalidArgumentError` (code `WS_ERR_INVALID_OPTION`) naming the option. */
export function resolveOptions(options: WSManagerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    fail('options', 'an object with at least "url"', options);
  const flat: Record<string, unknown> = {};
  for (const row of OPTION_TABLE) {
    const value = given(options, row.name);
    if (value === undefined && !row.required) flat[row.name] = row.default(flat);
    else if (!row.accepts(value, flat)) fail(row.name, row.expected(flat), value);
    else flat[row.name] = row.normalise ? row.normalise(value as never) : value;
  }
  // The exchange's limit on messages it receives (Binance "WebSocket Limits": 5 per second per
  // connection, or 1008 and a disconnect).
  const { 'pacing.messages': messages, 'pacing.windowMs': windowMs } = flat as Record<string, number>;
  const { endpoints, limits } = exchangeIn(flat);
  if (messages! * 1000 > limits.incomingMessagesPerSecond * windowMs!) {
    const expected = `at most ${limits.incomingMessagesPerSecond} messages per 1000 ms (the exchange limit)`;
    fail('pacing', expected, options.pacing);
  }
  const resolved = nest(flat) as unknown as Omit<ResolvedOptions, 'streamUrl'>;
  return Object.freeze({ ...resolved, streamUrl: endpoints.connectionUrl(resolved.url) });
}
