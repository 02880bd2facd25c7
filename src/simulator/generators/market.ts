/** The price model behind every generator: a seeded random walk in integer 10^-8 units around a base price. */
import { UNIT } from './decimal.js';
import { hashString, type Random } from './random.js';

/** Rough 2024 price levels, so the familiar symbols look familiar. */
const BASE_PRICES: Readonly<Record<string, number>> = {
  btcusdt: 65_000,
  ethusdt: 3_200,
  bnbusdt: 580,
  solusdt: 150,
  xrpusdt: 0.52,
};

function powerOfTen(value: number): number {
  return 10 ** Math.max(0, Math.round(Math.log10(Math.max(1, value))));
}

/** The starting price of a symbol in 10^-8 units; other symbols get a stable price from their name. */
export function basePriceUnits(symbol: string): number {
  const known = BASE_PRICES[symbol];
  const price = known ?? (1 + (hashString(symbol) % 50_000)) / 100;
  return Math.round(price * UNIT);
}

/** Everything a generator needs to know about one symbol's market, advanced one step at a time. */
export class Market {
  readonly symbol: string;
  /** Uppercase, as Binance writes `s`. */
  readonly upper: string;
  /** Price increment in units: about a ten-millionth of the price, a power of ten. */
  readonly tick: number;
  /** Quantity increment in units: about one quote unit's worth. */
  readonly lot: number;
  private readonly floor: number;
  price: number;

  constructor(
    symbol: string,
    readonly random: Random,
  ) {
    this.symbol = symbol;
    this.upper = symbol.toUpperCase();
    this.price = basePriceUnits(symbol);
    this.tick = powerOfTen(this.price / 10_000_000);
    this.lot = powerOfTen((UNIT * UNIT) / this.price);
    this.floor = this.tick * 100;
  }

  /** Moves the price a few ticks and returns it. */
  step(): number {
    this.price = Math.max(this.floor, this.price + this.tick * this.random.int(-3, 3));
    return this.price;
  }

  quantity(): number {
    return this.lot * this.random.int(1, 500);
  }

  /** Price of the `level`-th (0-based) bid or ask around the current price. */
  level(side: 'bid' | 'ask', level: number): number {
    const offset = this.tick * (level + 1);
    return side === 'bid' ? Math.max(this.tick, this.price - offset) : this.price + offset;
  }
}
