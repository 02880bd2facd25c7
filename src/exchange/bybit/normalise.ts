/**
 * Bybit `publicTrade.<symbol>` envelopes (`{topic, type, ts, data: [trade...]}`) in the
 * venue-independent `Trade` shape: one per item of `data`. `S` is the taker's side (`Buy`/`Sell`), `i`
 * the trade id (a UUID on linear), `T` the trade time.
 */
import type { MarketView, TradeSink } from '../exchange.js';
import { dataArrayTrades } from '../trade-items.js';
import type { BybitMarket } from './rest.js';
import { fromBybitSymbol, toBybitSymbol } from './symbols.js';

/** One item of a `publicTrade` envelope's `data`, as Bybit v5 documents it. */
export interface BybitPublicTrade {
  /** Trade time (ms). */
  T: number;
  s: string;
  /** Taker side. */
  S: 'Buy' | 'Sell';
  /** Quantity. */
  v: string;
  p: string;
  /** Tick direction: `PlusTick`, `ZeroPlusTick`, `MinusTick`, `ZeroMinusTick`. */
  L?: string;
  /** Trade id. */
  i: string;
  /** Block trade. */
  BT: boolean;
  /** Cross sequence (shared with the order book; not contiguous). */
  seq?: number;
}

/** A `publicTrade` envelope, as the manager delivers it. */
export interface BybitPublicTradeEnvelope {
  topic: string;
  type: 'snapshot';
  ts: number;
  data: BybitPublicTrade[];
}

function readItem(item: unknown, venue: string, symbol: string, raw: boolean, sink: TradeSink): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const { i: id, p: price, v: amount, S: taker, T: time } = item as Record<string, unknown>;
  if (typeof id !== 'string' || typeof price !== 'string' || typeof amount !== 'string') return false;
  if (typeof time !== 'number' || (taker !== 'Buy' && taker !== 'Sell')) return false;
  const side = taker === 'Buy' ? 'buy' : 'sell';
  sink.trade(
    raw
      ? { venue, symbol, id, price, amount, side, timestamp: time, raw: item }
      : { venue, symbol, id, price, amount, side, timestamp: time },
  );
  return true;
}

export const readBybitTrades = dataArrayTrades(readItem);

export function bybitMarket(category: BybitMarket): MarketView {
  return Object.freeze<MarketView>({
    category,
    markets: category === 'spot' ? 'spot' : 'USDT-settled linear perpetuals',
    toVenue: (symbol) => toBybitSymbol(category, symbol),
    fromVenue: (venueSymbol) => fromBybitSymbol(category, venueSymbol),
    tradeStream: (venueSymbol) => `publicTrade.${venueSymbol}`,
    readTrades: readBybitTrades,
  });
}
