/**
 * The order book the simulator's depth diffs describe: price level → quantity per side, in 10^-8 units.
 * `/api/v3/depth` answers from it, so a snapshot's `lastUpdateId` is consistent with the diffs' `U`/`u`.
 */
import { formatFixed } from './decimal.js';

/** Levels kept per side; a diff removes the farthest ones beyond it, as a real book's depth is bounded. */
export const BOOK_LEVELS_PER_SIDE = 5000;
/** Removed in one batch once a side holds this many more levels than it keeps, so trimming stays rare. */
const TRIM_SLACK = 100;

export type Level = [price: number, quantity: number];

export class PriceBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();

  /** Sets a level (quantity 0 removes it). */
  set(side: 'bid' | 'ask', price: number, quantity: number): void {
    const levels = side === 'bid' ? this.bids : this.asks;
    if (quantity === 0) levels.delete(price);
    else levels.set(price, quantity);
  }

  /**
   * Prices to remove so no bid is at or above `price` and no ask at or below it (the market moved through
   * them), plus the farthest levels of a side grown too deep. Only levels between the previous and the
   * new price can cross, as every bid was below and every ask above the previous price.
   */
  stale(side: 'bid' | 'ask', previous: number, price: number, tick: number): number[] {
    const levels = side === 'bid' ? this.bids : this.asks;
    const out: number[] = [];
    if (side === 'bid') for (let p = price; p < previous; p += tick) if (levels.has(p)) out.push(p);
    if (side === 'ask') for (let p = price; p > previous; p -= tick) if (levels.has(p)) out.push(p);
    if (levels.size > BOOK_LEVELS_PER_SIDE + TRIM_SLACK) {
      const sorted = this.sorted(side);
      for (const [p] of sorted.slice(BOOK_LEVELS_PER_SIDE)) out.push(p);
    }
    return out;
  }

  /** Best first: bids high to low, asks low to high. */
  sorted(side: 'bid' | 'ask', limit = Number.POSITIVE_INFINITY): Level[] {
    const levels = [...(side === 'bid' ? this.bids : this.asks)];
    levels.sort(side === 'bid' ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
    return levels.slice(0, limit);
  }

  /** The JSON of `/api/v3/depth`. */
  snapshot(lastUpdateId: number, limit: number): string {
    const render = (levels: Level[]): string =>
      levels.map(([p, q]) => `["${formatFixed(p)}","${formatFixed(q)}"]`).join(',');
    return `{"lastUpdateId":${lastUpdateId},"bids":[${render(this.sorted('bid', limit))}],"asks":[${render(this.sorted('ask', limit))}]}`;
  }
}
