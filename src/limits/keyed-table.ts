/**
 * The per-address state of the project's limiters (upgrade attempts, HTTP request buckets, REST weight
 * and bans), in one kind of table whose memory and work per address are bounded:
 *
 * - **Cap.** At most `maxKeys` keys are tracked (MAX_TRACKED_ADDRESSES unless a limiter says otherwise).
 * - **Amortised sweeping.** Each lookup first looks at the {@link SWEEP_STEP} entries at the front of
 *   the table (the longest untouched): idle ones (holding nothing the limiter still needs) are deleted,
 *   others move to the back; the entry looked up moves to the back too. So a lookup, of a new key or a
 *   known one, costs the same whether the table holds ten keys or a hundred thousand, and an idle entry
 *   is found within one pass of lookups over the table, with no full scan ever.
 * - **Policy at the cap.** When the table is still full after sweeping, the entry at the front that is
 *   not pinned (a ban in force) is evicted to make room: the address whose last request, or last look
 *   by a sweep, is oldest forgets its count (a sweep's look moves a live entry back as a use does, so
 *   "quiet longest" is approximate, as in a clock cache: an address that keeps asking is never at the
 *   front), and a banned address is never forgotten while others are remembered. Refusing
 *   new addresses instead would let whoever holds `maxKeys` addresses lock every new client out for a
 *   whole window, making the limiter itself the outage; eviction only hands a fresh budget to an
 *   address quiet for longest, which a sender with that many addresses could have from an unused
 *   address anyway. Only when the front {@link SWEEP_STEP} entries are all pinned is the new key refused
 *   (`entry` answers undefined and the limiter treats the key as over its limit); they move to the back,
 *   so the next new key looks at others.
 */

/**
 * Keys tracked by default. Measured on Node 20 with the key: about 0.5 KB per address for attempt
 * windows, 0.2 KB for request buckets or weight records, so at most some 50 MB for a full table.
 */
export const MAX_TRACKED_ADDRESSES = 100_000;

/** Entries each lookup looks at to sweep, and a new key at the cap to find one to evict. */
export const SWEEP_STEP = 4;

export interface KeyedTableOptions<V> {
  /** Keys tracked at most. @default MAX_TRACKED_ADDRESSES */
  readonly maxKeys?: number | undefined;
  /** The state of a new key. */
  readonly create: (now: number) => V;
  /** True when the entry holds nothing worth keeping at `now`: a sweep deletes it. */
  readonly idle: (value: V, now: number) => boolean;
  /** True when the entry must not be evicted to make room (a ban in force). @default never */
  readonly pinned?: (value: V, now: number) => boolean;
}

export class KeyedTable<V> {
  readonly maxKeys: number;
  private readonly entries = new Map<string, V>();
  private examinedCount = 0;
  private evictedCount = 0;

  constructor(private readonly options: KeyedTableOptions<V>) {
    this.maxKeys = options.maxKeys ?? MAX_TRACKED_ADDRESSES;
  }

  /** The state of `key`, created if need be; undefined when the table is full of pinned entries. */
  entry(key: string, now: number): V | undefined {
    this.sweep(now);
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.toBack(key, found);
      return found;
    }
    if (this.entries.size >= this.maxKeys && !this.evict(now)) return undefined;
    const created = this.options.create(now);
    this.entries.set(key, created);
    return created;
  }

  /** Keys tracked now. */
  get size(): number {
    return this.entries.size;
  }

  /** Entries looked at by sweeps and evictions so far: the work lookups cost. */
  get examined(): number {
    return this.examinedCount;
  }

  /** Entries evicted at the cap so far. */
  get evicted(): number {
    return this.evictedCount;
  }

  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_STEP && this.entries.size > 0; i++) {
      const [key, value] = this.front();
      if (this.options.idle(value, now)) this.entries.delete(key);
      else this.toBack(key, value);
    }
  }

  /** Evicts the first unpinned entry among the front SWEEP_STEP; false when they are all pinned. */
  private evict(now: number): boolean {
    for (let i = 0; i < SWEEP_STEP && this.entries.size > 0; i++) {
      const [key, value] = this.front();
      if (this.options.pinned?.(value, now)) this.toBack(key, value);
      else {
        this.entries.delete(key);
        this.evictedCount++;
        return true;
      }
    }
    return false;
  }

  private front(): [string, V] {
    this.examinedCount++;
    return this.entries.entries().next().value as [string, V];
  }

  private toBack(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
  }
}
