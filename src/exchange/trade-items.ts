/**
 * Venues whose trade pushes carry their trades as an array under `data` (Bybit `publicTrade`, OKX
 * `trades`): the push walk is the same, each venue reads its own items.
 */
import type { MarketView, TradeSink } from './exchange.js';

/** Hands one item to `sink` as a `Trade`; false when the item is not a trade this venue writes. */
export type TradeItemReader = (
  item: unknown,
  venue: string,
  symbol: string,
  raw: boolean,
  sink: TradeSink,
) => boolean;

/** A `readTrades` for pushes with a `data` array: the items not read are counted (1 for no array). */
export function dataArrayTrades(readItem: TradeItemReader): MarketView['readTrades'] {
  return (payload, venue, symbol, raw, sink) => {
    const data =
      typeof payload === 'object' && payload !== null ? (payload as { data?: unknown }).data : undefined;
    if (!Array.isArray(data)) return 1;
    let unread = 0;
    for (const item of data) if (!readItem(item, venue, symbol, raw, sink)) unread++;
    return unread;
  };
}
