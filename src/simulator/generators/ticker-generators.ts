/**
 * The ticker family (Binance "Individual Symbol Mini Ticker Stream", "Individual Symbol Ticker Streams",
 * "Individual Symbol Rolling Window Statistics Streams", "Average Price", "All Market Mini Tickers Stream").
 */
import { formatFixed } from './decimal.js';
import type { EventGenerator } from './event-generator.js';
import type { Market } from './market.js';
import { TickerStats } from './ticker-stats.js';

const DAY_MS = 86_400_000;
const WINDOW_MS: Readonly<Record<string, number>> = { '1h': 3_600_000, '4h': 14_400_000, '1d': DAY_MS };

export class MiniTickerGenerator implements EventGenerator {
  private readonly stats: TickerStats;

  constructor(market: Market, now: number) {
    this.stats = new TickerStats(market, now, DAY_MS);
  }

  next(now: number): string {
    this.stats.update();
    return this.stats.miniTicker(now);
  }

  skip(_count: number): void {}
}

export class TickerGenerator implements EventGenerator {
  private readonly stats: TickerStats;

  constructor(market: Market, now: number) {
    this.stats = new TickerStats(market, now, DAY_MS);
  }

  next(now: number): string {
    this.stats.update();
    return this.stats.ticker(now);
  }

  skip(_count: number): void {}
}

export class RollingTickerGenerator implements EventGenerator {
  private readonly stats: TickerStats;

  constructor(
    market: Market,
    private readonly window: string,
    now: number,
  ) {
    this.stats = new TickerStats(market, now, WINDOW_MS[window] ?? DAY_MS);
  }

  next(now: number): string {
    this.stats.update();
    return this.stats.rollingTicker(now, this.window);
  }

  skip(_count: number): void {}
}

export class AvgPriceGenerator implements EventGenerator {
  private average: number;

  constructor(private readonly market: Market) {
    this.average = market.price;
  }

  next(now: number): string {
    const price = this.market.step();
    // An exponential average stands in for Binance's 5-minute volume-weighted mean.
    this.average = Math.round((this.average * 15 + price) / 16);
    const lastTrade = now - this.market.random.int(0, 999);
    return `{"e":"avgPrice","E":${now},"s":"${this.market.upper}","i":"5m","w":"${formatFixed(this.average)}","T":${lastTrade}}`;
  }

  skip(_count: number): void {}
}

/** `!miniTicker@arr`: the mini tickers of the symbols that changed since the previous event. */
export class AllMiniTickersGenerator implements EventGenerator {
  private readonly stats: TickerStats[];

  constructor(
    private readonly markets: Market[],
    now: number,
  ) {
    this.stats = markets.map((m) => new TickerStats(m, now, DAY_MS));
  }

  next(now: number): string {
    let out = '';
    for (let i = 0; i < this.stats.length; i++) {
      const stats = this.stats[i]!;
      // Binance lists only the tickers that changed; the first symbol always changes so no event is empty.
      if (i > 0 && this.markets[i]!.random.next() < 0.3) continue;
      stats.update();
      out += `${out === '' ? '' : ','}${stats.miniTicker(now)}`;
    }
    return `[${out}]`;
  }

  skip(_count: number): void {}
}
