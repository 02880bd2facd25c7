/**
 * Unified symbols, as ccxt writes them: `BASE/QUOTE` for spot, `BASE/QUOTE:SETTLE` for a perpetual
 * swap settled in SETTLE (`BTC/USDT:USDT` linear, `BTC/USD:BTC` inverse), and `BASE/QUOTE:SETTLE-YYMMDD`
 * for a dated future. Each venue's symbol codec maps them to and from its own instrument names.
 */
import type { VenueSymbol } from './exchange.js';

export interface UnifiedSymbol {
  readonly base: string;
  readonly quote: string;
  /** The settlement currency of a contract; undefined for spot. */
  readonly settle: string | undefined;
  /** A dated future's expiry as `YYMMDD`; undefined for spot and perpetuals. */
  readonly expiry: string | undefined;
}

const UNIFIED = /^([A-Z0-9]{1,20})\/([A-Z0-9]{1,20})(?::([A-Z0-9]{1,20})(?:-(\d{6}))?)?$/;

/** How a unified symbol looks, completing "symbol must be ..." in an error message. */
export const UNIFIED_RULE =
  'an uppercase unified symbol such as "BTC/USDT" (spot) or "BTC/USDT:USDT" (perpetual settled in USDT)';

/** Splits a unified symbol, or undefined when it is not one. */
export function parseUnified(symbol: unknown): UnifiedSymbol | undefined {
  if (typeof symbol !== 'string') return undefined;
  const match = UNIFIED.exec(symbol);
  if (match === null) return undefined;
  return { base: match[1]!, quote: match[2]!, settle: match[3], expiry: match[4] };
}

/**
 * Quote currencies of Binance and Bybit spot pairs, longest first so that `BTCFDUSD` reads as
 * `BTC/FDUSD` and `FDUSDUSDT` as `FDUSD/USDT`. Their concatenated symbols carry no separator: a symbol
 * whose quote is missing here cannot be split (its codec answers undefined), and an asset whose name
 * ends in one of these as a whole pair (none is listed today) would be split wrongly.
 */
export const KNOWN_QUOTES: readonly string[] = [
  'FDUSD',
  'USDT',
  'USDC',
  'BUSD',
  'TUSD',
  'USDP',
  'USDE',
  'EURI',
  'BTC',
  'ETH',
  'BNB',
  'DAI',
  'MNT',
  'EUR',
  'GBP',
  'TRY',
  'BRL',
  'JPY',
  'AUD',
  'PLN',
  'ZAR',
  'UAH',
  'ARS',
  'MXN',
  'COP',
  'IDR',
  'RON',
  'CZK',
].sort((a, b) => b.length - a.length);

const KNOWN_QUOTE_SET: ReadonlySet<string> = new Set(KNOWN_QUOTES);

/** True when `quote` is in `KNOWN_QUOTES`, so a concatenated symbol ending in it splits back. */
export function isKnownQuote(quote: string): boolean {
  return KNOWN_QUOTE_SET.has(quote);
}

/** `BTCUSDT` → `['BTC', 'USDT']` by the longest known quote it ends in; undefined when none fits. */
export function splitConcatenated(upper: string): readonly [base: string, quote: string] | undefined {
  for (const quote of KNOWN_QUOTES) {
    if (upper.length > quote.length && upper.endsWith(quote)) {
      return [upper.slice(0, upper.length - quote.length), quote];
    }
  }
  return undefined;
}

/** A rejected symbol, with the reason an error message gives. */
export function rejected(reason: string): VenueSymbol {
  return { ok: false, reason };
}

export function accepted(symbol: string): VenueSymbol {
  return { ok: true, symbol };
}
