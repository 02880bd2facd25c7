/**
 * `<symbol>@kline_<interval>` (Binance "Kline/Candlestick Streams"): updates of the current candle; when
 * an interval ends, one last update with `"x":true` closes it before the next candle starts.
 */
import { formatFixed, multiplyUnits } from './decimal.js';
import type { EventGenerator } from './event-generator.js';
import type { Market } from './market.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
/** Binance weeks start on Monday; the epoch was a Thursday. */
const WEEK_OFFSET_MS = 4 * 86_400_000;

/** [start, end] of the UTC candle of `interval` containing `now` (end inclusive, as Binance's `T`). */
export function candleBounds(interval: string, now: number): [number, number] {
  const count = Number.parseInt(interval, 10);
  const unit = interval.slice(String(count).length);
  if (unit === 'M') {
    const d = new Date(now);
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    return [start, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - 1];
  }
  const length = count * (UNIT_MS[unit] ?? 60_000);
  const offset = unit === 'w' ? WEEK_OFFSET_MS : 0;
  const start = Math.floor((now - offset) / length) * length + offset;
  return [start, start + length - 1];
}

export class KlineGenerator implements EventGenerator {
  private start = -1;
  private end = -1;
  private open = 0;
  private high = 0;
  private low = 0;
  private close = 0;
  private volume = 0n;
  private quoteVolume = 0n;
  private takerVolume = 0n;
  private takerQuote = 0n;
  private firstId = -1;
  private lastId = -1;
  private nextTradeId: number;

  constructor(
    private readonly market: Market,
    private readonly interval: string,
  ) {
    this.nextTradeId = market.random.int(1_000_000, 9_000_000);
  }

  next(now: number): string {
    const [start, end] = candleBounds(this.interval, now);
    if (this.start !== -1 && start > this.start) {
      // Only the candle that has just ended is closed; one that ended before (the feed had nobody
      // listening, or produced nothing for a whole interval) is forgotten, so no stale close is sent.
      const closing = start === this.end + 1 ? this.render(now, true) : undefined;
      this.begin(start, end);
      if (closing !== undefined) return closing;
    }
    if (this.start === -1) this.begin(start, end);
    this.trade();
    return this.render(now, false);
  }

  /**
   * Nobody listened for a while: the candle in progress was not seen, so it is forgotten and the next
   * event opens the candle of the current time.
   */
  skip(count: number): void {
    this.nextTradeId += count * 3;
    this.start = -1;
  }

  private begin(start: number, end: number): void {
    this.start = start;
    this.end = end;
    const price = this.market.price;
    this.open = price;
    this.high = price;
    this.low = price;
    this.close = price;
    this.volume = 0n;
    this.quoteVolume = 0n;
    this.takerVolume = 0n;
    this.takerQuote = 0n;
    this.firstId = -1;
    this.lastId = -1;
  }

  private trade(): void {
    const m = this.market;
    const trades = m.random.int(1, 5);
    for (let i = 0; i < trades; i++) {
      const price = m.step();
      const qty = m.quantity();
      const quote = multiplyUnits(price, qty);
      if (price > this.high) this.high = price;
      if (price < this.low) this.low = price;
      this.close = price;
      this.volume += BigInt(qty);
      this.quoteVolume += quote;
      if (m.random.bool()) {
        this.takerVolume += BigInt(qty);
        this.takerQuote += quote;
      }
    }
    if (this.firstId === -1) this.firstId = this.nextTradeId;
    this.nextTradeId += trades;
    this.lastId = this.nextTradeId - 1;
  }

  private render(now: number, closed: boolean): string {
    const s = this.market.upper;
    const trades = this.firstId === -1 ? 0 : this.lastId - this.firstId + 1;
    return (
      `{"e":"kline","E":${now},"s":"${s}","k":{"t":${this.start},"T":${this.end},"s":"${s}",` +
      `"i":"${this.interval}","f":${this.firstId},"L":${this.lastId},"o":"${formatFixed(this.open)}",` +
      `"c":"${formatFixed(this.close)}","h":"${formatFixed(this.high)}","l":"${formatFixed(this.low)}",` +
      `"v":"${formatFixed(this.volume)}","n":${trades},"x":${closed},"q":"${formatFixed(this.quoteVolume)}",` +
      `"V":"${formatFixed(this.takerVolume)}","Q":"${formatFixed(this.takerQuote)}","B":"0"}}`
    );
  }
}
