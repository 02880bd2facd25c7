/**
 * Unified symbols on Binance spot: `BTC/USDT` ⇄ `btcusdt`. The stream symbol carries no separator, so
 * reading one back splits it at the longest known quote currency (`KNOWN_QUOTES`): the client side
 * holds no instrument list to ask.
 */
import type { VenueSymbol } from '../exchange.js';
import { accepted, parseUnified, rejected, splitConcatenated, UNIFIED_RULE } from '../unified-symbol.js';
import { isStreamSymbol } from './streams.js';

export function toBinanceSymbol(symbol: string): VenueSymbol {
  const unified = parseUnified(symbol);
  if (unified === undefined) return rejected(`symbol must be ${UNIFIED_RULE}`);
  if (unified.settle !== undefined) {
    return rejected(`the binance adapter serves spot only; "${symbol}" is a contract`);
  }
  const venueSymbol = `${unified.base}${unified.quote}`.toLowerCase();
  return isStreamSymbol(venueSymbol)
    ? accepted(venueSymbol)
    : rejected(`"${venueSymbol}" is not a Binance stream symbol`);
}

export function fromBinanceSymbol(venueSymbol: string): string | undefined {
  if (!isStreamSymbol(venueSymbol)) return undefined;
  const parts = splitConcatenated(venueSymbol.toUpperCase());
  return parts === undefined ? undefined : `${parts[0]}/${parts[1]}`;
}
