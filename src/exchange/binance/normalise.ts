/**
 * Binance `<symbol>@trade` events in the venue-independent `Trade` shape. `m` (the buyer is the maker)
 * gives the taker's side: a maker buyer means the taker sold.
 */
import type { MarketView, TradeSink } from '../exchange.js';
import { fromBinanceSymbol, toBinanceSymbol } from './symbols.js';

export function readBinanceTrades(
  payload: unknown,
  venue: string,
  symbol: string,
  raw: boolean,
  sink: TradeSink,
): number {
  if (typeof payload !== 'object' || payload === null) return 1;
  const t = payload as Record<string, unknown>;
  const { t: id, p: price, q: amount, T: time, m: makerBuyer } = t;
  if (
    typeof id !== 'number' ||
    typeof price !== 'string' ||
    typeof amount !== 'string' ||
    typeof time !== 'number' ||
    typeof makerBuyer !== 'boolean'
  ) {
    return 1;
  }
  const side = makerBuyer ? 'sell' : 'buy';
  const tradeId = String(id);
  sink.trade(
    raw
      ? { venue, symbol, id: tradeId, price, amount, side, timestamp: time, raw: t }
      : { venue, symbol, id: tradeId, price, amount, side, timestamp: time },
  );
  return 0;
}

export const binanceMarket: MarketView = Object.freeze<MarketView>({
  category: 'spot',
  markets: 'spot',
  toVenue: toBinanceSymbol,
  fromVenue: fromBinanceSymbol,
  tradeStream: (venueSymbol) => `${venueSymbol}@trade`,
  readTrades: readBinanceTrades,
});
