/**
 * What a feed remembers of the events it produced, so the REST API can answer `/aggTrades`, `/trades` and
 * `/klines` with the very events the streams carried (same ids, prices and times).
 */

/** A feed's memory of its events. `record` sees every payload the feed produces, sent or not. */
export interface FeedHistory {
  record(payload: string): void;
}

/** The integer value of `"key":123` in a flat JSON payload, found without parsing the whole payload. */
export function numberField(payload: string, key: string, from = 0): number {
  const at = payload.indexOf(`"${key}":`, from);
  if (at < 0) return Number.NaN;
  const start = at + key.length + 3;
  let end = start;
  while (end < payload.length && payload.charCodeAt(end) >= 48 && payload.charCodeAt(end) <= 57) end++;
  return Number(payload.slice(start, end));
}

/** Bytes of one history slot: a trade or aggTrade payload is about 150; a longer one is kept as a string. */
const SLOT_BYTES = 256;
/** Slots allocated together (512: 128 KiB), so a feed's history takes memory as it fills. */
const CHUNK_SHIFT = 9;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;

/**
 * The last `capacity` events of a stream whose ids go up by one per event (`a` of aggTrade, `t` of
 * trade), in a ring of fixed-size byte slots. A payload is copied into its slot (the generators write
 * ASCII, so latin1 is exact) rather than kept as a string: ten thousand retained strings per feed would
 * all survive into the old generation and make the collector a large share of a feed's cost at full
 * speed. Ids and times are read from the payloads only when a REST request asks. Ids in the ring are
 * contiguous, so an id finds its slot by subtraction: a feed that skips events nobody listened to still
 * produces the last `capacity` of them (`Feed.skip`), which refills the whole ring.
 */
export class SequencedHistory implements FeedHistory {
  private readonly chunks: Buffer[] = [];
  private readonly lengths: Uint16Array;
  /** Payloads longer than a slot, by slot. */
  private readonly long = new Map<number, string>();
  private start = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly idKey: string,
  ) {
    this.lengths = new Uint16Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Id of the oldest event kept (NaN when empty). */
  get oldestId(): number {
    return this.count === 0 ? Number.NaN : numberField(this.at(0), this.idKey);
  }

  record(payload: string): void {
    if (this.capacity === 0) return;
    let slot: number;
    if (this.count < this.capacity) slot = this.count++;
    else {
      slot = this.start;
      this.start = this.start + 1 === this.capacity ? 0 : this.start + 1;
    }
    if (this.long.size > 0) this.long.delete(slot);
    if (payload.length > SLOT_BYTES) {
      this.long.set(slot, payload);
      return;
    }
    const chunk = slot >>> CHUNK_SHIFT;
    const bytes = this.chunks[chunk] ?? this.allocate(chunk);
    this.lengths[slot] = bytes.write(payload, (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES, SLOT_BYTES, 'latin1');
  }

  /** Up to `limit` payloads with id ≥ `fromId`, oldest first. */
  fromId(fromId: number, limit: number): string[] {
    const oldest = this.oldestId;
    const offset = Number.isNaN(oldest) ? 0 : Math.max(0, fromId - oldest);
    return this.slice(offset, offset + limit);
  }

  /** Up to `limit` payloads with `startTime` ≤ T ≤ `endTime`, oldest first. */
  between(startTime: number, endTime: number, limit: number): string[] {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < startTime) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < this.count && end - lo < limit && this.timeAt(end) <= endTime) end++;
    return this.slice(lo, end);
  }

  /** The `limit` most recent payloads, oldest first. */
  latest(limit: number): string[] {
    return this.slice(Math.max(0, this.count - limit), this.count);
  }

  private allocate(chunk: number): Buffer {
    const bytes = Buffer.allocUnsafeSlow(CHUNK_SLOTS * SLOT_BYTES);
    this.chunks[chunk] = bytes;
    return bytes;
  }

  /** The payload of the `index`-th event kept, oldest first. */
  private at(index: number): string {
    const slot = (this.start + index) % this.capacity;
    const long = this.long.size > 0 ? this.long.get(slot) : undefined;
    if (long !== undefined) return long;
    const offset = (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES;
    return (this.chunks[slot >>> CHUNK_SHIFT] as Buffer).toString(
      'latin1',
      offset,
      offset + (this.lengths[slot] as number),
    );
  }

  private timeAt(index: number): number {
    return numberField(this.at(index), 'T');
  }

  private slice(from: number, to: number): string[] {
    const out: string[] = [];
    for (let i = from; i < Math.min(to, this.count); i++) out.push(this.at(i));
    return out;
  }
}

/** The last update of each of the last `capacity` candles of a kline stream, keyed by open time. */
export class KlineHistory implements FeedHistory {
  private readonly candles = new Map<number, string>();

  constructor(readonly capacity: number) {}

  record(payload: string): void {
    // The payload's first `"t":` is the candle's open time (`E` and `s` come before `k`, whose first key is t).
    const openTime = numberField(payload, 't');
    if (!this.candles.has(openTime) && this.candles.size >= this.capacity) {
      const oldest = this.candles.keys().next().value;
      if (oldest !== undefined) this.candles.delete(oldest);
    }
    this.candles.set(openTime, payload);
  }

  /** Up to `limit` candles with open time in [startTime, endTime], oldest first; the latest ones when no start. */
  between(startTime: number | undefined, endTime: number, limit: number): string[] {
    const inRange: string[] = [];
    for (const [openTime, payload] of this.candles) {
      if ((startTime === undefined || openTime >= startTime) && openTime <= endTime) inRange.push(payload);
    }
    return startTime === undefined ? inRange.slice(-limit) : inRange.slice(0, limit);
  }
}
