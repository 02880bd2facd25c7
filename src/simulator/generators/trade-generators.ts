/** `<symbol>@trade` and `<symbol>@aggTrade` (Binance "Trade Streams", "Aggregate Trade Streams"). */
import { formatFixed } from './decimal.js';
import type { EventGenerator } from './event-generator.js';
import type { Market } from './market.js';

export class TradeGenerator implements EventGenerator {
  private id: number;

  constructor(private readonly market: Market) {
    this.id = market.random.int(1_000_000, 9_000_000);
  }

  next(now: number): string {
    const m = this.market;
    const t = this.id++;
    return (
      `{"e":"trade","E":${now},"s":"${m.upper}","t":${t},"p":"${formatFixed(m.step())}",` +
      `"q":"${formatFixed(m.quantity())}","T":${now},"m":${m.random.bool()},"M":true}`
    );
  }

  skip(count: number): void {
    this.id += count;
  }
}

export class AggTradeGenerator implements EventGenerator {
  private id: number;
  private nextTradeId: number;

  constructor(private readonly market: Market) {
    this.id = market.random.int(100_000, 900_000);
    this.nextTradeId = market.random.int(1_000_000, 9_000_000);
  }

  next(now: number): string {
    const m = this.market;
    const first = this.nextTradeId;
    const last = first + m.random.int(0, 4);
    this.nextTradeId = last + 1;
    const a = this.id++;
    return (
      `{"e":"aggTrade","E":${now},"s":"${m.upper}","a":${a},"p":"${formatFixed(m.step())}",` +
      `"q":"${formatFixed(m.quantity())}","f":${first},"l":${last},"T":${now},"m":${m.random.bool()},"M":true}`
    );
  }

  skip(count: number): void {
    this.id += count;
    this.nextTradeId += count * 3;
  }
}
