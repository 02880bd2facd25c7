/**
 * The fields of every Binance stream payload, in the order Binance sends them. Each list is checked
 * against its payload type at compile time, so the types, the simulator and its tests agree on one list.
 */
import type {
  AggTradeEvent,
  AvgPriceEvent,
  BookTickerEvent,
  DepthUpdateEvent,
  KlineEvent,
  MiniTickerEvent,
  PartialDepthEvent,
  RollingTickerEvent,
  TickerEvent,
  TradeEvent,
} from '../../src/index.js';

/** All the keys of `T`: a list that misses one, or names one `T` lacks, does not compile. */
const keysOf =
  <T>() =>
  <const L extends readonly (keyof T)[]>(
    keys: L &
      (Exclude<keyof T, L[number]> extends never ? unknown : { missing: Exclude<keyof T, L[number]> }),
  ): string[] =>
    [...keys] as string[];

/** One field list per interface above, checked against what the simulator sends. */
export const PAYLOAD_FIELDS: Record<string, string[]> = {
  'btcusdt@trade': keysOf<TradeEvent>()(['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']),
  'btcusdt@aggTrade': keysOf<AggTradeEvent>()(['e', 'E', 's', 'a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']),
  'btcusdt@bookTicker': keysOf<BookTickerEvent>()(['u', 's', 'b', 'B', 'a', 'A']),
  'btcusdt@miniTicker': keysOf<MiniTickerEvent>()(['e', 'E', 's', 'c', 'o', 'h', 'l', 'v', 'q']),
  'btcusdt@ticker': keysOf<TickerEvent>()([
    'e',
    'E',
    's',
    'p',
    'P',
    'w',
    'x',
    'c',
    'Q',
    'b',
    'B',
    'a',
    'A',
    'o',
    'h',
    'l',
    'v',
    'q',
    'O',
    'C',
    'F',
    'L',
    'n',
  ]),
  'btcusdt@ticker_1h': keysOf<RollingTickerEvent>()([
    'e',
    'E',
    's',
    'p',
    'P',
    'o',
    'h',
    'l',
    'c',
    'w',
    'v',
    'q',
    'O',
    'C',
    'F',
    'L',
    'n',
  ]),
  'btcusdt@avgPrice': keysOf<AvgPriceEvent>()(['e', 'E', 's', 'i', 'w', 'T']),
  'btcusdt@kline_1m': keysOf<KlineEvent>()(['e', 'E', 's', 'k']),
  'btcusdt@depth': keysOf<DepthUpdateEvent>()(['e', 'E', 's', 'U', 'u', 'b', 'a']),
  'btcusdt@depth10': keysOf<PartialDepthEvent>()(['lastUpdateId', 'bids', 'asks']),
};
export const KLINE_FIELDS = keysOf<KlineEvent['k']>()([
  't',
  'T',
  's',
  'i',
  'f',
  'L',
  'o',
  'c',
  'h',
  'l',
  'v',
  'n',
  'x',
  'q',
  'V',
  'Q',
  'B',
]);
