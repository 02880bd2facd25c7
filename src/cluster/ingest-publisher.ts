/**
 * The ingest node's core: for every stream that is wanted (demand) and in a shard this node leases,
 * subscribe through the StreamSource (WSManager) and publish each event's payload bytes, untouched,
 * to `md.binance.<stream>` with the per-stream sequence and the lease epoch in headers. The sequence
 * continues from the last one in the history, so it stays contiguous across owners. Losing a shard
 * ends its subscriptions at once, and a publish first checks the lease, so nothing goes out after.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from '../core/log.js';
import type { StreamMessage, StreamSource, Unsubscribe } from '../core/stream-source.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { DemandView } from './demand.js';
import type { LeaseEvents, ShardLeases } from './shard-leases.js';
import { shardOf } from './shards.js';
import { HEADERS, HISTORY_STREAM, subjectOf } from './subjects.js';

interface Publishing {
  readonly epoch: number;
  readonly shard: number;
  readonly subject: string;
  /**
   * The publish options, reused for every event of the stream (publish encodes the headers at once):
   * only Ws-Seq changes, so the hot path sets one header instead of building three on a new object.
   */
  readonly publishOptions: { readonly headers: MsgHdrs };
  seq: number;
  unsubscribe: Unsubscribe | undefined;
}

export interface IngestPublisherOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly source: StreamSource;
  readonly nodeId: string;
  readonly shardCount: number;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger;
}

export class IngestPublisher implements LeaseEvents {
  private readonly active = new Map<string, Publishing>();
  private leases: ShardLeases | undefined;
  private demand: DemandView | undefined;

  constructor(private readonly o: IngestPublisherOptions) {}

  /** Wires the two inputs (they are built after the publisher, as they call back into it). */
  attach(leases: ShardLeases, demand: DemandView): void {
    this.leases = leases;
    this.demand = demand;
  }

  get streams(): number {
    return this.active.size;
  }

  gained(shard: number): void {
    for (const stream of this.demand?.streams() ?? []) {
      if (shardOf(stream, this.o.shardCount) === shard) this.reconcile(stream);
    }
  }

  lost(shard: number): void {
    for (const stream of [...this.active.keys()]) {
      if (shardOf(stream, this.o.shardCount) === shard) this.stop(stream);
    }
  }

  demandChanged(stream: string): void {
    this.reconcile(stream);
  }

  /** Stops every publication (shutdown). */
  stopAll(): void {
    for (const stream of [...this.active.keys()]) this.stop(stream);
  }

  private reconcile(stream: string): void {
    const epoch = this.leases?.epochOf(shardOf(stream, this.o.shardCount));
    const wanted = epoch !== undefined && this.demand?.wants(stream) === true;
    const current = this.active.get(stream);
    if (current !== undefined && (!wanted || current.epoch !== epoch)) this.stop(stream);
    if (wanted && !this.active.has(stream)) void this.start(stream, epoch);
  }

  private async start(stream: string, epoch: number): Promise<void> {
    const headers = natsHeaders();
    headers.set(HEADERS.epoch, String(epoch));
    headers.set(HEADERS.node, this.o.nodeId);
    const state: Publishing = {
      epoch,
      shard: shardOf(stream, this.o.shardCount),
      subject: subjectOf(stream),
      publishOptions: { headers },
      seq: 0,
      unsubscribe: undefined,
    };
    this.active.set(stream, state);
    const last = await this.lastSeq(stream);
    if (this.active.get(stream) !== state) return;
    state.seq = last;
    try {
      state.unsubscribe = this.o.source.subscribe(stream, {
        next: (_data, message) => this.publish(stream, state, message),
        error: (error) => {
          this.o.logger.warn({ stream, code: error.code }, 'Upstream ended the stream');
          if (this.active.get(stream) === state) this.active.delete(stream);
        },
      });
      this.o.logger.info({ stream, epoch, seq: last }, 'Publishing stream');
    } catch (error) {
      this.active.delete(stream);
      this.o.logger.warn({ stream, err: String(error) }, 'Cannot subscribe upstream');
    }
  }

  private stop(stream: string): void {
    const state = this.active.get(stream);
    if (state === undefined) return;
    this.active.delete(stream);
    state.unsubscribe?.();
  }

  private publish(stream: string, state: Publishing, message: StreamMessage): void {
    if (this.active.get(stream) !== state) return;
    if (this.leases?.epochOf(state.shard) !== state.epoch) {
      this.stop(stream);
      return;
    }
    state.seq++;
    state.publishOptions.headers.set(HEADERS.seq, String(state.seq));
    this.o.nc.publish(state.subject, message.payloadBytes(), state.publishOptions);
    this.o.metrics.tally.published++;
  }

  /**
   * The last per-stream sequence in the history, or 0 when it holds nothing usable for the stream. Each
   * event an owner numbers is stored once, so a stream's sequence cannot pass the history's own: one that
   * does came from another publisher, and continuing from it (up to past the safe integers) would make
   * every later event unreadable. Starting afresh instead is a restart, which gateways follow.
   */
  private async lastSeq(stream: string): Promise<number> {
    try {
      const m = await this.o.jsm.streams.getMessage(HISTORY_STREAM, { last_by_subj: subjectOf(stream) });
      const seq = Number(m?.header.get(HEADERS.seq));
      return Number.isSafeInteger(seq) && seq > 0 && m !== null && seq <= m.seq ? seq : 0;
    } catch {
      return 0;
    }
  }
}
