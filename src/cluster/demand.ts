/**
 * Demand: which streams some client somewhere wants. A gateway keeps one KV entry per wanted stream
 * (`<stream token>.<gateway id>-<instance>`: the instance, random per process, keeps two gateways
 * started with one NODE_ID from sharing, and deleting, each other's entries), refreshed every third of DEMAND_TTL_SECONDS and deleted when its last
 * client leaves; an entry a crashed gateway stops refreshing counts for DEMAND_TTL_SECONDS after its last
 * write. Ingest nodes watch the bucket and subscribe upstream to what is wanted in the shards they own.
 */
import { randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { Logger } from '../core/log.js';
import { BINANCE_FEED, type FeedNames } from './subjects.js';

/** The demand bucket as both sides use it. */
export interface DemandBucket {
  readonly kv: KV;
  /** DEMAND_TTL_SECONDS in ms: how long an entry counts after its last write. */
  readonly ttlMs: number;
  /** Recreates the bucket after NATS lost it (memory storage does on a server restart). */
  reopen(): Promise<KV>;
}

/** The gateway side: declares this gateway's wanted streams. */
export class DemandDeclarer {
  private readonly wanted = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  /** The gateway id and this process's instance: the last token of every key it writes. */
  private readonly owner: string;

  private failed = false;
  /** Set when NATS returned, cleared once every wanted stream has been written again. */
  private redeclaring = false;

  /** The bucket in use: the one given, or its replacement once NATS lost it. */
  private kv: KV;

  /** @param feed the feed whose streams this declares (its key shape). @default Binance's */
  constructor(
    private readonly bucket: DemandBucket,
    gatewayId: string,
    private readonly logger: Logger,
    private readonly feed: FeedNames = BINANCE_FEED,
  ) {
    this.kv = bucket.kv;
    this.owner = `${gatewayId}-${randomBytes(4).toString('hex')}`;
    this.timer = setInterval(() => void this.refresh(), this.bucket.ttlMs / 3);
  }

  /** False from NATS returning until this gateway's demand is written again: no events flow before. */
  get declared(): boolean {
    return !this.redeclaring;
  }

  /**
   * NATS returned: the server may have lost the bucket with every entry, so recreate it and write the
   * demand at once instead of at the next refresh (up to a third of DEMAND_TTL_SECONDS later).
   */
  redeclare(): void {
    this.redeclaring = true;
    this.failed = true;
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.failed) {
      this.kv = await this.bucket.reopen().catch(() => this.kv);
    }
    this.failed = false;
    const written = await Promise.all([...this.wanted].map((stream) => this.put(stream)));
    if (written.every(Boolean) && !this.failed) this.redeclaring = false;
  }

  get size(): number {
    return this.wanted.size;
  }

  add(stream: string): void {
    if (this.wanted.has(stream)) return;
    this.wanted.add(stream);
    void this.put(stream);
  }

  remove(stream: string): void {
    if (!this.wanted.delete(stream)) return;
    this.kv.delete(this.key(stream)).catch(() => {});
  }

  /** Stops refreshing and withdraws every entry. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const streams = [...this.wanted];
    this.wanted.clear();
    await Promise.all(streams.map((s) => this.kv.delete(this.key(s)).catch(() => {})));
  }

  private put(stream: string): Promise<boolean> {
    return this.kv.put(this.key(stream), '1').then(
      () => true,
      (error: unknown) => {
        // The next refresh retries; the entry outlives a few failed refreshes.
        this.failed = true;
        this.logger.debug({ stream, err: String(error) }, 'Demand refresh failed');
        return false;
      },
    );
  }

  private key(stream: string): string {
    return this.feed.demandKey(stream, this.owner);
  }
}

/** The ingest side: every stream wanted by at least one gateway whose entry has not expired. */
export class DemandView {
  /** stream → gateway id → when its entry expires (epoch ms). */
  private readonly entries = new Map<string, Map<string, number>>();
  private readonly timer: NodeJS.Timeout;
  private watch: { stop(): void } | undefined;
  private rewatching = false;
  private stopped = false;

  /** The bucket in use: the one given, or its replacement once NATS lost it (the watch restarts on it). */
  private kv: KV;

  /** @param feed the feed whose demand this watches; other feeds' keys are skipped. @default Binance's */
  constructor(
    private readonly bucket: DemandBucket,
    private readonly onChange: (stream: string, wanted: boolean) => void,
    private readonly logger: Logger,
    private readonly feed: FeedNames = BINANCE_FEED,
  ) {
    this.kv = bucket.kv;
    this.timer = setInterval(() => this.sweep(), 1000);
  }

  /** True while a watch of the bucket is established (false from NATS returning until it is again). */
  get watching(): boolean {
    return this.watch !== undefined;
  }

  async start(): Promise<void> {
    const watch = await this.kv.watch({ key: this.feed.demandFilter });
    if (this.stopped) {
      watch.stop();
      return;
    }
    this.watch = watch;
    void (async () => {
      for await (const entry of watch) {
        const demand = this.feed.demandOf(entry.key);
        if (demand === undefined) continue;
        const { stream, owner: gateway } = demand;
        if (entry.operation === 'PUT') {
          const written = Math.min(entry.created.getTime(), Date.now());
          this.set(stream, gateway, written + this.bucket.ttlMs);
        } else {
          this.unset(stream, gateway);
        }
      }
    })()
      .catch((error: unknown) => this.logger.warn({ err: String(error) }, 'Demand watch ended'))
      // The watch ends when its bucket disappears (a restarted NATS server loses memory-stored
      // buckets): recreate the bucket and watch again; entries already seen keep expiring on their own.
      .finally(() => {
        if (this.watch !== watch) return;
        this.watch = undefined;
        if (!this.stopped) void this.rewatch(1000);
      });
  }

  /**
   * NATS returned: watch again at once. A server that restarted lost the watch's consumer, and the
   * client only notices that after two missed idle heartbeats (a minute), during which no demand
   * written since reaches this node.
   */
  restart(): void {
    const watch = this.watch;
    if (this.stopped || watch === undefined) return;
    this.watch = undefined;
    watch.stop();
    void this.rewatch(0);
  }

  wants(stream: string): boolean {
    return this.entries.has(stream);
  }

  streams(): string[] {
    return [...this.entries.keys()];
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.watch?.stop();
  }

  private async rewatch(delayMs: number): Promise<void> {
    if (this.rewatching) return;
    this.rewatching = true;
    try {
      for (let delay = delayMs; !this.stopped; delay = 1000) {
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopped) return;
        try {
          this.kv = await this.bucket.reopen();
          await this.start();
          this.logger.info('Demand watch restarted');
          return;
        } catch (error) {
          this.logger.warn({ err: String(error) }, 'Demand watch cannot restart yet');
        }
      }
    } finally {
      this.rewatching = false;
    }
  }

  private set(stream: string, gateway: string, expiresAt: number): void {
    let gateways = this.entries.get(stream);
    const fresh = gateways === undefined;
    if (gateways === undefined) {
      gateways = new Map();
      this.entries.set(stream, gateways);
    }
    gateways.set(gateway, expiresAt);
    if (fresh) this.onChange(stream, true);
  }

  private unset(stream: string, gateway: string): void {
    const gateways = this.entries.get(stream);
    if (gateways === undefined || !gateways.delete(gateway)) return;
    if (gateways.size === 0) {
      this.entries.delete(stream);
      this.onChange(stream, false);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [stream, gateways] of this.entries) {
      for (const [gateway, expiresAt] of gateways) if (expiresAt <= now) this.unset(stream, gateway);
    }
  }
}
