/**
 * The fields of every Binance stream payload, in the order Binance sends them. Each list is checked
 * against the payload type of its stream name at compile time, so the types, the simulator and its
 * tests agree on one list.
 */
import type { StreamPayload } from '../../src/index.js';

/** All the keys of `T`: a list that misses one, or names one `T` lacks, does not compile. */
const keysOf =
  <T>() =>
  <const L extends readonly (keyof T)[]>(
    keys: L &
      (Exclude<keyof T, L[number]> extends never ? unknown : { missing: Exclude<keyof T, L[number]> }),
  ): string[] =>
    [...keys] as string[];

/** One field list per payload type, checked against what the simulator sends. */
export const PAYLOAD_FIELDS: Record<string, string[]> = {
  'btcusdt@trade': keysOf<StreamPayload<'btcusdt@trade'>>()(['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']),
  'btcusdt@aggTrade': keysOf<StreamPayload<'btcusdt@aggTrade'>>()([
    'e',
    'E',
    's',
    'a',
    'p',
    'q',
    'f',
    'l',
    'T',
    'm',
    'M',
  ]),
  'btcusdt@bookTicker': keysOf<StreamPayload<'btcusdt@bookTicker'>>()(['u', 's', 'b', 'B', 'a', 'A']),
  'btcusdt@miniTicker': keysOf<StreamPayload<'btcusdt@miniTicker'>>()([
    'e',
    'E',
    's',
    'c',
    'o',
    'h',
    'l',
    'v',
    'q',
  ]),
  'btcusdt@ticker': keysOf<StreamPayload<'btcusdt@ticker'>>()([
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
  'btcusdt@ticker_1h': keysOf<StreamPayload<'btcusdt@ticker_1h'>>()([
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
  'btcusdt@avgPrice': keysOf<StreamPayload<'btcusdt@avgPrice'>>()(['e', 'E', 's', 'i', 'w', 'T']),
  'btcusdt@kline_1m': keysOf<StreamPayload<'btcusdt@kline_1m'>>()(['e', 'E', 's', 'k']),
  'btcusdt@depth': keysOf<StreamPayload<'btcusdt@depth'>>()(['e', 'E', 's', 'U', 'u', 'b', 'a']),
  'btcusdt@depth10': keysOf<StreamPayload<'btcusdt@depth10'>>()(['lastUpdateId', 'bids', 'asks']),
};
export const KLINE_FIELDS = keysOf<StreamPayload<'btcusdt@kline_1m'>['k']>()([
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
