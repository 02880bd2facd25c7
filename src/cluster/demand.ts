/**
 * Demand: which streams some client somewhere wants. A gateway keeps one KV entry per wanted stream
 * (`<stream token>.<gateway id>`), refreshed every third of DEMAND_TTL_MS and deleted when its last
 * client leaves; an entry a crashed gateway stops refreshing counts for DEMAND_TTL_MS after its last
 * write. Ingest nodes watch the bucket and subscribe upstream to what is wanted in the shards they own.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from '../log.js';
import { DEMAND_TTL_MS } from './broker.js';
import { kvTokenOf, streamOfKvToken } from './subjects.js';

/** The gateway side: declares this gateway's wanted streams. */
export class DemandDeclarer {
  private readonly wanted = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly kv: KV,
    private readonly gatewayId: string,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => {
      for (const stream of this.wanted) this.put(stream);
    }, DEMAND_TTL_MS / 3);
  }

  get size(): number {
    return this.wanted.size;
  }

  add(stream: string): void {
    if (this.wanted.has(stream)) return;
    this.wanted.add(stream);
    this.put(stream);
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

  private put(stream: string): void {
    this.kv.put(this.key(stream), '1').catch((error: unknown) => {
      // The next refresh retries; the entry outlives a few failed refreshes.
      this.logger.debug({ stream, err: String(error) }, 'Demand refresh failed');
    });
  }

  private key(stream: string): string {
    return `${kvTokenOf(stream)}.${this.gatewayId}`;
  }
}

/** The ingest side: every stream wanted by at least one gateway whose entry has not expired. */
export class DemandView {
  /** stream → gateway id → when its entry expires (epoch ms). */
  private readonly entries = new Map<string, Map<string, number>>();
  private readonly timer: NodeJS.Timeout;
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    private readonly onChange: (stream: string, wanted: boolean) => void,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.sweep(), 1000);
  }

  async start(): Promise<void> {
    const watch = await this.kv.watch({ key: '>' });
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        const dot = entry.key.lastIndexOf('.');
        if (dot <= 0) continue;
        const stream = streamOfKvToken(entry.key.slice(0, dot));
        const gateway = entry.key.slice(dot + 1);
        if (entry.operation === 'PUT') {
          const written = Math.min(entry.created.getTime(), Date.now());
          this.set(stream, gateway, written + DEMAND_TTL_MS);
        } else {
          this.unset(stream, gateway);
        }
      }
    })().catch((error: unknown) => this.logger.warn({ err: String(error) }, 'Demand watch ended'));
  }

  wants(stream: string): boolean {
    return this.entries.has(stream);
  }

  streams(): string[] {
    return [...this.entries.keys()];
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopWatch?.();
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
