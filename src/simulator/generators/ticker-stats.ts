/** Rolling statistics behind the ticker family (`miniTicker`, `ticker`, `ticker_<window>`, `!miniTicker@arr`). */
import { formatFixed, multiplyUnits, percentChange } from './decimal.js';
import type { Market } from './market.js';

export class TickerStats {
  private readonly open: number;
  private high: number;
  private low: number;
  private last: number;
  private lastQty = 0;
  private volume = 0n;
  private quoteVolume = 0n;
  private firstId: number;
  private lastId: number;
  private readonly openTime: number;

  constructor(
    private readonly market: Market,
    now: number,
    windowMs: number,
  ) {
    this.open = market.price;
    this.high = market.price;
    this.low = market.price;
    this.last = market.price;
    this.openTime = now - windowMs;
    this.firstId = market.random.int(1_000_000, 9_000_000);
    this.lastId = this.firstId - 1;
  }

  /** Records a few trades since the previous event. */
  update(): void {
    const trades = this.market.random.int(1, 20);
    for (let i = 0; i < trades; i++) {
      const price = this.market.step();
      const qty = this.market.quantity();
      if (price > this.high) this.high = price;
      if (price < this.low) this.low = price;
      this.last = price;
      this.lastQty = qty;
      this.volume += BigInt(qty);
      this.quoteVolume += multiplyUnits(price, qty);
    }
    this.lastId += trades;
  }

  /** Fields of `24hrMiniTicker` after `e`/`E`/`s`. */
  miniFields(): string {
    return (
      `"c":"${formatFixed(this.last)}","o":"${formatFixed(this.open)}","h":"${formatFixed(this.high)}",` +
      `"l":"${formatFixed(this.low)}","v":"${formatFixed(this.volume)}","q":"${formatFixed(this.quoteVolume)}"`
    );
  }

  miniTicker(now: number): string {
    return `{"e":"24hrMiniTicker","E":${now},"s":"${this.market.upper}",${this.miniFields()}}`;
  }

  private weightedAverage(): string {
    if (this.volume === 0n) return formatFixed(this.last);
    return formatFixed((this.quoteVolume * 100_000_000n) / this.volume);
  }

  private tail(now: number): string {
    const count = this.lastId - this.firstId + 1;
    return `"O":${this.openTime},"C":${now},"F":${this.firstId},"L":${this.lastId},"n":${count}`;
  }

  ticker(now: number): string {
    const m = this.market;
    return (
      `{"e":"24hrTicker","E":${now},"s":"${m.upper}","p":"${formatFixed(this.last - this.open)}",` +
      `"P":"${percentChange(this.last, this.open)}","w":"${this.weightedAverage()}",` +
      `"x":"${formatFixed(this.open)}","c":"${formatFixed(this.last)}","Q":"${formatFixed(this.lastQty)}",` +
      `"b":"${formatFixed(m.level('bid', 0))}","B":"${formatFixed(m.quantity())}",` +
      `"a":"${formatFixed(m.level('ask', 0))}","A":"${formatFixed(m.quantity())}",` +
      `"o":"${formatFixed(this.open)}","h":"${formatFixed(this.high)}","l":"${formatFixed(this.low)}",` +
      `"v":"${formatFixed(this.volume)}","q":"${formatFixed(this.quoteVolume)}",${this.tail(now)}}`
    );
  }

  /** `<symbol>@ticker_<window>`: event type `1hTicker`, `4hTicker` or `1dTicker`. */
  rollingTicker(now: number, window: string): string {
    return (
      `{"e":"${window}Ticker","E":${now},"s":"${this.market.upper}","p":"${formatFixed(this.last - this.open)}",` +
      `"P":"${percentChange(this.last, this.open)}","o":"${formatFixed(this.open)}",` +
      `"h":"${formatFixed(this.high)}","l":"${formatFixed(this.low)}","c":"${formatFixed(this.last)}",` +
      `"w":"${this.weightedAverage()}","v":"${formatFixed(this.volume)}","q":"${formatFixed(this.quoteVolume)}",` +
      `${this.tail(now)}}`
    );
  }
}
