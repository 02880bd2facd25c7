/** The generator interface every stream kind implements, and the factory that picks one per stream. */
import type { ParsedStream } from '../../exchange/binance/streams.js';
import { BookTickerGenerator, DepthDiffGenerator, PartialDepthGenerator } from './book-generators.js';
import { KlineGenerator } from './kline-generator.js';
import { Market } from './market.js';
import { hashString, Random } from './random.js';
import {
  AllMiniTickersGenerator,
  AvgPriceGenerator,
  MiniTickerGenerator,
  RollingTickerGenerator,
  TickerGenerator,
} from './ticker-generators.js';
import { AggTradeGenerator, TradeGenerator } from './trade-generators.js';

/** Produces the payloads of one stream, each already serialised as JSON text. */
export interface EventGenerator {
  /** The next event's payload (what a raw `/ws/<stream>` client receives). */
  next(now: number): string;
  /**
   * Advances the sequence ids as if `count` events had been produced, without producing them: what
   * happens to a global feed while nobody listens.
   */
  skip(count: number): void;
}

/**
 * Creates the generator of one stream. The stream's random source is seeded from the simulator seed and
 * the stream name alone, so a stream's data does not depend on which other streams exist.
 */
export function createGenerator(
  stream: ParsedStream,
  seed: number,
  symbols: readonly string[],
  now: number,
): EventGenerator {
  const random = new Random((seed ^ hashString(stream.name)) >>> 0);
  if (stream.kind === 'allMiniTickers') {
    return new AllMiniTickersGenerator(
      symbols.map((s) => new Market(s, random)),
      now,
    );
  }
  const market = new Market(stream.symbol ?? 'btcusdt', random);
  switch (stream.kind) {
    case 'trade':
      return new TradeGenerator(market);
    case 'aggTrade':
      return new AggTradeGenerator(market);
    case 'depth':
      return new DepthDiffGenerator(market);
    case 'partialDepth':
      return new PartialDepthGenerator(market, Number(stream.param));
    case 'bookTicker':
      return new BookTickerGenerator(market);
    case 'kline':
      return new KlineGenerator(market, stream.param ?? '1m');
    case 'miniTicker':
      return new MiniTickerGenerator(market, now);
    case 'ticker':
      return new TickerGenerator(market, now);
    case 'rollingTicker':
      return new RollingTickerGenerator(market, stream.param ?? '1h', now);
    case 'avgPrice':
      return new AvgPriceGenerator(market);
  }
}
