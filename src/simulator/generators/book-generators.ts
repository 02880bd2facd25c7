/**
 * Order-book streams (Binance "Diff. Depth Stream", "Partial Book Depth Streams", "Individual Symbol Book
 * Ticker Streams"). Diff events chain without gaps: each event's `U` is the previous event's `u` + 1.
 */
import { formatFixed } from './decimal.js';
import type { EventGenerator } from './event-generator.js';
import type { Market } from './market.js';
import { PriceBook } from './price-book.js';

function levels(market: Market, side: 'bid' | 'ask', count: number, allowRemoval: boolean): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    const removed = allowRemoval && market.random.next() < 0.1;
    const qty = removed ? 0 : market.quantity();
    out += `${i === 0 ? '' : ','}["${formatFixed(market.level(side, i))}","${formatFixed(qty)}"]`;
  }
  return out;
}

/** Levels per side of a depth feed's book when it starts, so the first snapshot is not empty. */
const INITIAL_LEVELS = 50;

export class DepthDiffGenerator implements EventGenerator {
  /** The book these diffs describe, as of update id `lastUpdateId`. */
  readonly book = new PriceBook();
  private nextId: number;

  constructor(private readonly market: Market) {
    this.nextId = market.random.int(1_000_000_000, 2_000_000_000);
    for (let i = 0; i < INITIAL_LEVELS; i++) {
      this.book.set('bid', market.level('bid', i), market.quantity());
      this.book.set('ask', market.level('ask', i), market.quantity());
    }
  }

  get lastUpdateId(): number {
    return this.nextId - 1;
  }

  next(now: number): string {
    const m = this.market;
    const previous = m.price;
    m.step();
    const first = this.nextId;
    const last = first + m.random.int(0, 4);
    this.nextId = last + 1;
    const bids = this.side('bid', previous, m.random.int(1, 3));
    const asks = this.side('ask', previous, m.random.int(1, 3));
    return `{"e":"depthUpdate","E":${now},"s":"${m.upper}","U":${first},"u":${last},"b":[${bids}],"a":[${asks}]}`;
  }

  skip(count: number): void {
    this.nextId += count * 3;
  }

  /** New levels near the price plus removals of crossed or too-deep ones, applied to the book. */
  private side(side: 'bid' | 'ask', previous: number, count: number): string {
    const m = this.market;
    const changes = new Map<number, number>();
    for (const price of this.book.stale(side, previous, m.price, m.tick)) changes.set(price, 0);
    for (let i = 0; i < count; i++) {
      const removed = m.random.next() < 0.1;
      changes.set(m.level(side, i), removed ? 0 : m.quantity());
    }
    let out = '';
    for (const [price, qty] of changes) {
      this.book.set(side, price, qty);
      out += `${out === '' ? '' : ','}["${formatFixed(price)}","${formatFixed(qty)}"]`;
    }
    // A price drifting one way takes the levels it crosses and only lays new ones next to it, so a side
    // would thin out to a few levels (or none), which no venue's book does: fresh levels refill it.
    const levels = side === 'bid' ? this.book.bids : this.book.asks;
    for (let i = 0; levels.size < INITIAL_LEVELS && i < 2 * INITIAL_LEVELS; i++) {
      const price = m.level(side, i);
      if (levels.has(price) || changes.has(price)) continue;
      const qty = m.quantity();
      this.book.set(side, price, qty);
      out += `${out === '' ? '' : ','}["${formatFixed(price)}","${formatFixed(qty)}"]`;
    }
    return out;
  }
}

export class PartialDepthGenerator implements EventGenerator {
  private lastUpdateId: number;

  constructor(
    private readonly market: Market,
    private readonly depth: number,
  ) {
    this.lastUpdateId = market.random.int(1_000_000_000, 2_000_000_000);
  }

  next(_now: number): string {
    const m = this.market;
    m.step();
    this.lastUpdateId += m.random.int(1, 10);
    const bids = levels(m, 'bid', this.depth, false);
    const asks = levels(m, 'ask', this.depth, false);
    return `{"lastUpdateId":${this.lastUpdateId},"bids":[${bids}],"asks":[${asks}]}`;
  }

  skip(count: number): void {
    this.lastUpdateId += count * 5;
  }
}

export class BookTickerGenerator implements EventGenerator {
  private updateId: number;

  constructor(private readonly market: Market) {
    this.updateId = market.random.int(1_000_000_000, 2_000_000_000);
  }

  next(_now: number): string {
    const m = this.market;
    m.step();
    this.updateId += m.random.int(1, 3);
    return (
      `{"u":${this.updateId},"s":"${m.upper}","b":"${formatFixed(m.level('bid', 0))}",` +
      `"B":"${formatFixed(m.quantity())}","a":"${formatFixed(m.level('ask', 0))}","A":"${formatFixed(m.quantity())}"}`
    );
  }

  skip(count: number): void {
    this.updateId += count * 2;
  }
}
