/**
 * OKX v5 public channels as stream names: `<channel>:<instId>`, e.g. `trades:BTC-USDT`,
 * `books:BTC-USDT-SWAP`, `candle1m:BTC-USDT`. OKX subscribes by `{channel, instId}` objects and tags each
 * push with the same `arg`, so the name maps both ways without a table. Candles are served by
 * `/ws/v5/business`, everything else here by `/ws/v5/public` (`routeOf`).
 */
import type { ParsedStream } from '../exchange.js';

/** Channels carried on `/ws/v5/public`, by name; candles (`candle<bar>`) are on `/ws/v5/business`. */
const PUBLIC_CHANNELS: ReadonlySet<string> = new Set([
  'trades',
  'books',
  'books5',
  'bbo-tbt',
  'books-l2-tbt',
  'books50-l2-tbt',
  'tickers',
]);

/** Candle bars: Hong Kong time by default, `utc` variants from 6 h up. */
export const CANDLE_BARS: ReadonlySet<string> = new Set([
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1H',
  '2H',
  '4H',
  '6H',
  '12H',
  '1D',
  '2D',
  '3D',
  '1W',
  '1M',
  '3M',
  '6Hutc',
  '12Hutc',
  '1Dutc',
  '2Dutc',
  '3Dutc',
  '1Wutc',
  '1Mutc',
  '3Mutc',
]);

/** `BTC-USDT`, `BTC-USDT-SWAP`, `BTC-USD-250627`, `BTC-USD-250627-100000-C`. */
const INST_ID = /^[A-Z0-9]{1,20}(-[A-Z0-9]{1,20}){1,4}$/;

export function isInstId(instId: unknown): instId is string {
  return typeof instId === 'string' && INST_ID.test(instId);
}

export function parseChannel(name: string): ParsedStream | undefined {
  if (typeof name !== 'string') return undefined;
  const colon = name.indexOf(':');
  if (colon <= 0) return undefined;
  const channel = name.slice(0, colon);
  const symbol = name.slice(colon + 1);
  if (!isInstId(symbol)) return undefined;
  if (PUBLIC_CHANNELS.has(channel)) return { name, kind: channel, symbol, param: undefined };
  if (channel.startsWith('candle') && CANDLE_BARS.has(channel.slice(6)))
    return { name, kind: 'candle', symbol, param: channel.slice(6) };
  return undefined;
}

export function isValidChannel(name: unknown): name is string {
  return typeof name === 'string' && parseChannel(name) !== undefined;
}

/** The endpoint carrying a stream: candles on `business`, the rest on `public`. */
export function routeOf(stream: string): string {
  return stream.startsWith('candle') ? 'business' : 'public';
}

/** The `{channel, instId}` arg of a stream name (valid names only). */
export function argOf(stream: string): string {
  const colon = stream.indexOf(':');
  return `{"channel":"${stream.slice(0, colon)}","instId":"${stream.slice(colon + 1)}"}`;
}

/** A candle bar's length in ms; undefined for months, whose length varies. */
export function barMs(bar: string | undefined): number | undefined {
  if (bar === undefined) return undefined;
  const m = /^(\d+)([smHDWM])(utc)?$/.exec(bar);
  if (m === null) return undefined;
  const unit = { s: 1_000, m: 60_000, H: 3_600_000, D: 86_400_000, W: 604_800_000, M: undefined }[
    m[2] as 's' | 'm' | 'H' | 'D' | 'W' | 'M'
  ];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}
