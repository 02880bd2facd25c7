/**
 * Bybit v5 public topics: `publicTrade.{symbol}`, `orderbook.{depth}.{symbol}`, `kline.{interval}.{symbol}`
 * and `tickers.{symbol}`. A stream name is the topic itself, so what a subscriber names is what goes
 * upstream and what comes back in the `topic` field.
 */
import type { ParsedStream } from '../exchange.js';
import { BOOK_DEPTHS } from './limits.js';

/** Bybit's kline intervals: minutes, then day, week, month. */
export const KLINE_INTERVALS: ReadonlySet<string> = new Set([
  '1',
  '3',
  '5',
  '15',
  '30',
  '60',
  '120',
  '240',
  '360',
  '720',
  'D',
  'W',
  'M',
]);

const DEPTHS: ReadonlySet<string> = new Set(BOOK_DEPTHS.map(String));
const SYMBOL = /^[A-Z0-9]{2,30}$/;

export function isSymbol(symbol: unknown): symbol is string {
  return typeof symbol === 'string' && SYMBOL.test(symbol);
}

export function parseTopic(name: string): ParsedStream | undefined {
  if (typeof name !== 'string') return undefined;
  const parts = name.split('.');
  const kind = parts[0];
  if (parts.length === 2 && (kind === 'publicTrade' || kind === 'tickers')) {
    return isSymbol(parts[1]) ? { name, kind, symbol: parts[1], param: undefined } : undefined;
  }
  if (parts.length !== 3) return undefined;
  const [, param, symbol] = parts as [string, string, string];
  if (!isSymbol(symbol)) return undefined;
  if (kind === 'orderbook' && DEPTHS.has(param)) return { name, kind, symbol, param };
  if (kind === 'kline' && KLINE_INTERVALS.has(param)) return { name, kind, symbol, param };
  return undefined;
}

export function isValidTopic(name: unknown): name is string {
  return typeof name === 'string' && parseTopic(name) !== undefined;
}

/** The smallest book topic depth carrying at least `depth` levels per side (the largest when none does). */
export function bookDepthFor(depth: number): number {
  for (const d of BOOK_DEPTHS) if (d >= depth) return d;
  return BOOK_DEPTHS[BOOK_DEPTHS.length - 1]!;
}
