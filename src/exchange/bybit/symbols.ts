/**
 * Unified symbols on Bybit v5: spot `BTC/USDT` ⇄ `BTCUSDT`, linear `BTC/USDT:USDT` ⇄ `BTCUSDT` (the
 * category, not the name, tells them apart). Bybit's symbols carry no separator, so reading one back
 * splits it at the longest known quote currency (`KNOWN_QUOTES`): the client side holds no instrument
 * list to ask. Linear here means USDT-settled perpetuals: Bybit names its USDC contracts and dated
 * futures otherwise (`BTCPERP`, `BTC-26DEC25`), and those are not mapped.
 */
import type { VenueSymbol } from '../exchange.js';
import { accepted, parseUnified, rejected, splitConcatenated, UNIFIED_RULE } from '../unified-symbol.js';
import type { BybitMarket } from './rest.js';
import { isSymbol } from './streams.js';

export function toBybitSymbol(category: BybitMarket, symbol: string): VenueSymbol {
  const unified = parseUnified(symbol);
  if (unified === undefined) return rejected(`symbol must be ${UNIFIED_RULE}`);
  if (category === 'spot' && unified.settle !== undefined) {
    return rejected(
      `the bybit spot adapter serves spot pairs; "${symbol}" is a contract (bybitLinear serves it)`,
    );
  }
  if (category === 'linear') {
    if (unified.settle === undefined) {
      return rejected(
        `the bybit linear adapter serves perpetuals; "${symbol}" is a spot pair (bybitSpot serves it)`,
      );
    }
    if (unified.expiry !== undefined || unified.settle !== 'USDT' || unified.quote !== 'USDT') {
      return rejected(
        `the bybit linear adapter maps USDT-settled perpetuals only ("BTC/USDT:USDT"); received "${symbol}"`,
      );
    }
  }
  const venueSymbol = `${unified.base}${unified.quote}`;
  return isSymbol(venueSymbol) ? accepted(venueSymbol) : rejected(`"${venueSymbol}" is not a Bybit symbol`);
}

export function fromBybitSymbol(category: BybitMarket, venueSymbol: string): string | undefined {
  if (!isSymbol(venueSymbol)) return undefined;
  const parts = splitConcatenated(venueSymbol);
  if (parts === undefined) return undefined;
  if (category === 'spot') return `${parts[0]}/${parts[1]}`;
  return parts[1] === 'USDT' ? `${parts[0]}/USDT:USDT` : undefined;
}
