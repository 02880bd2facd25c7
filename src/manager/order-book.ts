/**
 * A local order book: price level → quantity per side, as decimal strings exactly as the exchange
 * sends them. Sorted views are built when first read after a change, so applying a diff stays cheap
 * however often it comes and however rarely it is read.
 */

import type { BookLevel, OrderBookView } from '../core/capabilities.js';

type Side = Map<string, string>;

export class LocalOrderBook implements OrderBookView {
  lastUpdateId = 0;
  private readonly bidLevels: Side = new Map();
  private readonly askLevels: Side = new Map();
  private sortedBids: BookLevel[] | undefined;
  private sortedAsks: BookLevel[] | undefined;

  constructor(
    readonly symbol: string,
    private readonly depth: number,
  ) {}

  /** Replaces the whole book with a snapshot. */
  reset(lastUpdateId: number, bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.bidLevels.clear();
    this.askLevels.clear();
    this.applySide(this.bidLevels, bids);
    this.applySide(this.askLevels, asks);
    this.lastUpdateId = lastUpdateId;
    this.sortedBids = undefined;
    this.sortedAsks = undefined;
  }

  /** Applies one diff's levels (quantity 0 removes a level). */
  apply(lastUpdateId: number, bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    if (bids.length > 0) {
      this.applySide(this.bidLevels, bids);
      this.sortedBids = undefined;
    }
    if (asks.length > 0) {
      this.applySide(this.askLevels, asks);
      this.sortedAsks = undefined;
    }
    this.lastUpdateId = lastUpdateId;
  }

  bids(limit = this.depth): readonly BookLevel[] {
    this.sortedBids ??= sortLevels(this.bidLevels, true);
    return this.sortedBids.slice(0, Math.min(limit, this.depth));
  }

  asks(limit = this.depth): readonly BookLevel[] {
    this.sortedAsks ??= sortLevels(this.askLevels, false);
    return this.sortedAsks.slice(0, Math.min(limit, this.depth));
  }

  private applySide(side: Side, levels: readonly BookLevel[]): void {
    for (const [price, quantity] of levels) {
      if (Number(quantity) === 0) side.delete(price);
      else side.set(price, quantity);
    }
  }
}

function sortLevels(side: Side, descending: boolean): BookLevel[] {
  const levels = [...side].map(([p, q]) => [p, q, Number(p)] as const);
  levels.sort(descending ? (a, b) => b[2] - a[2] : (a, b) => a[2] - b[2]);
  return levels.map(([p, q]) => [p, q] as const);
}
