/**
 * OKX `trades:<instId>` pushes (`{arg, data: [trade...]}`) in the venue-independent `Trade` shape: one
 * per item of `data`. `side` is the taker's, `sz` is in contracts for swaps and futures (as OKX counts
 * them), `ts` a string of ms. An item aggregating `count` fills is one trade here, as OKX sends it.
 */
import type { MarketView, TradeSink } from '../exchange.js';
import { dataArrayTrades } from '../trade-items.js';
import { fromOkxInstId, toOkxInstId } from './symbols.js';

/** One item of a `trades` push's `data`, as OKX v5 documents it. */
export interface OkxTrade {
  instId: string;
  tradeId: string;
  px: string;
  sz: string;
  /** Taker side. */
  side: 'buy' | 'sell';
  /** Trade time, ms as a string. */
  ts: string;
  /** Fills aggregated into this item. */
  count?: string;
}

/** A `trades` push, as the manager delivers it. */
export interface OkxTradesPush {
  arg: { channel: 'trades'; instId: string };
  data: OkxTrade[];
}

function readItem(item: unknown, venue: string, symbol: string, raw: boolean, sink: TradeSink): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const { tradeId: id, px: price, sz: amount, side, ts } = item as Record<string, unknown>;
  if (typeof id !== 'string' || typeof price !== 'string' || typeof amount !== 'string') return false;
  if (side !== 'buy' && side !== 'sell') return false;
  const timestamp = typeof ts === 'string' ? Number(ts) : Number.NaN;
  if (!Number.isFinite(timestamp)) return false;
  sink.trade(
    raw
      ? { venue, symbol, id, price, amount, side, timestamp, raw: item }
      : { venue, symbol, id, price, amount, side, timestamp },
  );
  return true;
}

export const readOkxTrades = dataArrayTrades(readItem);

export const okxMarket: MarketView = Object.freeze<MarketView>({
  category: 'all',
  markets: 'spot, perpetuals and dated futures',
  toVenue: toOkxInstId,
  fromVenue: fromOkxInstId,
  tradeStream: (instId) => `trades:${instId}`,
  readTrades: readOkxTrades,
});
