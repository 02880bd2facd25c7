/**
 * A rolling-window counter whose memory does not depend on its limit: events are counted in
 * {@link SUB_WINDOWS} sub-windows of `windowMs / SUB_WINDOWS` each (plus the one in progress), so at
 * most `limit` events are admitted in any `windowMs` span, as with a strict window, but an event is
 * forgotten only once its whole sub-window has left the window: a key over its limit waits up to one
 * sub-window longer (15 s of Binance's 5-minute attempt window) than with a ring of every event's time,
 * which at the documented maximum limit (1,000,000) cost 8 MB per address.
 *
 * `BucketedWindowPerKey` keeps one per key (remote address) in a {@link KeyedTable}: capped, swept
 * as new keys come, never all at once.
 */
import { KeyedTable, type KeyedTableOptions } from './keyed-table.js';

/** Sub-windows per window: the memory per key (21 counters) and the granularity of forgetting. */
export const SUB_WINDOWS = 20;

export class BucketedWindow {
  /** Events per sub-window, a ring indexed by sub-window number; one more than SUB_WINDOWS (see `used`). */
  private readonly counts = new Uint32Array(SUB_WINDOWS + 1);
  /** Number of the latest sub-window counted into `counts`. */
  private latest = Number.NEGATIVE_INFINITY;
  private total = 0;
  private readonly subWindowMs: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.subWindowMs = windowMs / SUB_WINDOWS;
  }

  /** Records an event at `now`; false (and nothing recorded) when it would exceed the limit. */
  tryRecord(now: number): boolean {
    const current = this.advance(now);
    if (this.total >= this.limit) return false;
    const ring = this.counts.length;
    this.counts[((current % ring) + ring) % ring]!++;
    this.total++;
    return true;
  }

  /**
   * Events still counted at `now`: those of the current sub-window and the SUB_WINDOWS before it. The
   * oldest of these began more than `windowMs` ago, so an event is counted for at least `windowMs`.
   */
  used(now: number): number {
    this.advance(now);
    return this.total;
  }

  /** Moves to the sub-window of `now`, forgetting those that left the window; returns its number. */
  private advance(now: number): number {
    const current = Math.floor(now / this.subWindowMs);
    if (current <= this.latest) return Math.max(current, this.latest);
    const ring = this.counts.length;
    const stale = Math.min(ring, current - this.latest);
    // The sub-windows that begin now take the slots of those that left: clear them.
    for (let i = 1; i <= stale; i++) {
      const slot = (((current - stale + i) % ring) + ring) % ring;
      this.total -= this.counts[slot]!;
      this.counts[slot] = 0;
    }
    this.latest = current;
    return current;
  }
}

/**
 * A `BucketedWindow` per key, e.g. upgrade attempts per remote address. Events beyond the limit are
 * refused and not recorded, so a key regains access once its oldest counted sub-window leaves.
 */
export class BucketedWindowPerKey {
  private readonly table: KeyedTable<BucketedWindow>;

  constructor(
    limit: number,
    windowMs: number,
    private readonly clock: () => number = Date.now,
    maxKeys?: KeyedTableOptions<BucketedWindow>['maxKeys'],
  ) {
    this.table = new KeyedTable({
      maxKeys,
      create: () => new BucketedWindow(limit, windowMs),
      idle: (window, now) => window.used(now) === 0,
    });
  }

  /** Records an event for `key` now; false when the key is over its limit. */
  tryRecord(key: string): boolean {
    const now = this.clock();
    return this.table.entry(key, now)?.tryRecord(now) ?? false;
  }

  /** The table behind it, for its size and the work its sweeps did. */
  get keys(): Pick<KeyedTable<BucketedWindow>, 'size' | 'examined' | 'evicted' | 'maxKeys'> {
    return this.table;
  }
}
