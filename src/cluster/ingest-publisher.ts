/**
 * The ingest node's core: for every stream that is wanted (demand) and in a shard this node leases,
 * subscribe through the StreamSource (WSManager) and publish each event's payload bytes, untouched,
 * to `md.<feed>.<stream>` with the per-stream sequence and the lease epoch in headers. The sequence
 * continues from the last one in the history, so it stays contiguous across owners. Losing a shard
 * ends its subscriptions at once, and a publish first checks the lease, so nothing goes out after.
 *
 * Handing a shard over, it publishes each stream until the successor's epoch shows in the history of
 * that stream (plus a grace for the two upstream sockets' skew). Taking a shard, it holds each stream's
 * first live event, reads the stream's last event in the history then, and refills the window between
 * the two from the exchange's REST history (`TakeoverRefill`) before publishing live. After a dead
 * owner that window is what nobody read; after a handover it is empty, as the previous owner still
 * publishes, unless that owner stopped before this node started (an offer taken late).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from '../core/log.js';
import type { StreamMessage, StreamSource, Unsubscribe } from '../core/stream-source.js';
import type { Exchange, RestGetter } from '../exchange/exchange.js';
import { DEFAULT_EXCHANGE } from '../manager/default-exchange.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { DemandView } from './demand.js';
import type { LeaseEvents, LeaseOrigin, ShardLeases } from './shard-leases.js';
import { shardOf } from './shards.js';
import { BINANCE_FEED, type FeedNames, HEADERS, HISTORY_STREAM } from './subjects.js';
import { TakeoverRefill } from './takeover-refill.js';

/** How often a node handing a shard over looks for its successor's epoch in the history. */
const SUCCESSOR_POLL_MS = 100;
/**
 * How long a node publishes a stream after its successor's first event of it showed: the two nodes
 * read the exchange on different sockets, and the old line must reach the successor's first event.
 */
const SUCCESSOR_GRACE_MS = 500;

interface Publishing {
  readonly stream: string;
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
  /**
   * The shard was just taken: the first live event is compared with the history's last event, read
   * this long after it (undefined: not taken, nothing to compare).
   */
  probeAfterMs: number | undefined;
  /** Live payloads held while a refill runs: published after the refilled events. */
  held: Buffer[] | undefined;
}

export interface IngestPublisherOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly source: StreamSource;
  readonly nodeId: string;
  readonly shardCount: number;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger;
  /** The exchange's REST history, for refilling a dead owner's window; unset: such windows are reported. */
  readonly rest?: RestGetter | undefined;
  /** The venue the source reads: sequence ids and history. @default binance */
  readonly exchange?: Exchange;
  /** The feed's names (subjects) over NATS. @default Binance's */
  readonly feed?: FeedNames;
}

export class IngestPublisher implements LeaseEvents {
  private readonly active = new Map<string, Publishing>();
  private leases: ShardLeases | undefined;
  private demand: DemandView | undefined;
  /** Shards being handed over: no stream of theirs starts here any more. */
  private readonly handingShards = new Set<number>();
  private readonly refill: TakeoverRefill;

  constructor(private readonly o: IngestPublisherOptions) {
    this.refill = new TakeoverRefill({
      exchange: o.exchange ?? DEFAULT_EXCHANGE,
      rest: o.rest,
      metrics: o.metrics,
      logger: o.logger,
    });
  }

  /** Wires the two inputs (they are built after the publisher, as they call back into it). */
  attach(leases: ShardLeases, demand: DemandView): void {
    this.leases = leases;
    this.demand = demand;
  }

  get streams(): number {
    return this.active.size;
  }

  gained(shard: number, _epoch: number, origin: LeaseOrigin): void {
    this.handingShards.delete(shard);
    // After a handover the previous owner still publishes: its line passes this node's first event
    // within the sockets' skew, and reading the history after that finds no window to refill.
    const probeAfterMs = origin === 'handover' ? SUCCESSOR_GRACE_MS / 2 : 0;
    for (const stream of this.demand?.streams() ?? []) {
      if (shardOf(stream, this.o.shardCount) === shard) this.reconcile(stream, probeAfterMs);
    }
  }

  lost(shard: number): void {
    this.handingShards.delete(shard);
    for (const stream of [...this.active.keys()]) {
      if (shardOf(stream, this.o.shardCount) === shard) this.stop(stream);
    }
  }

  /**
   * Publishes the shard's streams on until the successor publishes each (its higher epoch is the last
   * in the history of that stream), then for a grace; true when every stream got there before `deadline`.
   */
  async handing(shard: number, deadline: number): Promise<boolean> {
    this.handingShards.add(shard);
    const streams = [...this.active.values()].filter((p) => p.shard === shard);
    const handed = await Promise.all(streams.map((state) => this.handOver(state, deadline)));
    return handed.every(Boolean);
  }

  private async handOver(state: Publishing, deadline: number): Promise<boolean> {
    const seqAtOffer = state.seq;
    while (Date.now() < deadline && this.isCurrent(state)) {
      if ((await this.lastInHistory(state.subject)).epoch > state.epoch) {
        await sleep(Math.min(SUCCESSOR_GRACE_MS, Math.max(0, deadline - Date.now())));
        if (this.isCurrent(state)) this.stop(state.stream);
        return true;
      }
      await sleep(Math.min(SUCCESSOR_POLL_MS, Math.max(0, deadline - Date.now())));
    }
    // Stopped for another reason (demand gone, lease lost) counts as handed: nothing is left to hand;
    // so does a stream with no event since the offer (a quiet symbol): nothing can be lost at its switch.
    return !this.isCurrent(state) || state.seq === seqAtOffer;
  }

  private isCurrent(state: Publishing): boolean {
    return this.active.get(state.stream) === state;
  }

  demandChanged(stream: string): void {
    this.reconcile(stream, undefined);
  }

  /** Stops every publication (shutdown). */
  stopAll(): void {
    for (const stream of [...this.active.keys()]) this.stop(stream);
  }

  /** @param probeAfterMs the shard was just taken: refill the window its previous owner may have left. */
  private reconcile(stream: string, probeAfterMs: number | undefined): void {
    const shard = shardOf(stream, this.o.shardCount);
    const epoch = this.leases?.epochOf(shard);
    const wanted = epoch !== undefined && this.demand?.wants(stream) === true;
    const current = this.active.get(stream);
    if (current !== undefined && (!wanted || current.epoch !== epoch)) this.stop(stream);
    // A stream wanted while its shard is being handed over starts at the successor only.
    if (wanted && !this.active.has(stream) && !this.handingShards.has(shard))
      void this.start(stream, epoch, probeAfterMs);
  }

  private async start(stream: string, epoch: number, probeAfterMs: number | undefined): Promise<void> {
    const headers = natsHeaders();
    headers.set(HEADERS.epoch, String(epoch));
    headers.set(HEADERS.node, this.o.nodeId);
    const state: Publishing = {
      stream,
      epoch,
      shard: shardOf(stream, this.o.shardCount),
      subject: (this.o.feed ?? BINANCE_FEED).subjectOf(stream),
      publishOptions: { headers },
      seq: 0,
      unsubscribe: undefined,
      // A positive probe delay is a handover's (see gained).
      probeAfterMs:
        probeAfterMs !== undefined && this.refill.covers(stream, probeAfterMs > 0) ? probeAfterMs : undefined,
      held: undefined,
    };
    this.active.set(stream, state);
    const last = await this.lastInHistory(state.subject);
    if (this.active.get(stream) !== state) return;
    state.seq = last.seq;
    try {
      state.unsubscribe = this.o.source.subscribe(stream, {
        next: (data, message) => this.publish(stream, state, data, message),
        error: (error) => {
          this.o.logger.warn({ stream, code: error.code }, 'Upstream ended the stream');
          if (this.active.get(stream) === state) this.active.delete(stream);
        },
      });
      this.o.logger.info({ stream, epoch, seq: last.seq }, 'Publishing stream');
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

  private publish(stream: string, state: Publishing, data: unknown, message: StreamMessage): void {
    if (state.held !== undefined) {
      if (!this.refill.hold(stream, state.held, message.payloadBytes())) this.release(stream, state);
      return;
    }
    if (state.probeAfterMs !== undefined && this.active.get(stream) === state) {
      const delay = state.probeAfterMs;
      state.probeAfterMs = undefined;
      const held = [message.payloadBytes()];
      state.held = held;
      void sleep(delay).then(() => this.fillBefore(stream, state, held, data));
      return;
    }
    this.send(stream, state, message.payloadBytes());
  }

  /**
   * Publishes what the exchange's history holds between the stream's last event in the history (read
   * now: a previous owner still publishing has passed `first` by then) and this node's first live event
   * `first`, then the live events held meanwhile.
   */
  private async fillBefore(stream: string, state: Publishing, held: Buffer[], first: unknown): Promise<void> {
    const last = await this.lastInHistory(state.subject);
    const window = last.data === undefined ? undefined : this.refill.windowOf(stream, last.data, first);
    const events = window === undefined ? [] : await this.refill.fetch(stream, window);
    // Released meanwhile (stopped, or too much held back): the refill is void.
    if (state.held !== held) return;
    for (const event of events) this.send(stream, state, Buffer.from(JSON.stringify(event)));
    this.release(stream, state);
  }

  /** Publishes the live payloads held during a refill, then goes live. */
  private release(stream: string, state: Publishing): void {
    const held = state.held ?? [];
    state.held = undefined;
    for (const payload of held) this.send(stream, state, payload);
  }

  private send(stream: string, state: Publishing, payload: Buffer): void {
    if (this.active.get(stream) !== state) return;
    if (this.leases?.epochOf(state.shard) !== state.epoch) {
      this.stop(stream);
      return;
    }
    state.seq++;
    state.publishOptions.headers.set(HEADERS.seq, String(state.seq));
    this.o.nc.publish(state.subject, payload, state.publishOptions);
    this.o.metrics.tally.published++;
  }

  /**
   * The last event of a subject in the history: its per-stream sequence (0 when it holds nothing usable
   * for the stream), epoch (0 when none) and payload. Each event an owner numbers is stored once, so a
   * stream's sequence cannot pass the history's own: one that does came from another publisher, and
   * continuing from it (up to past the safe integers) would make every later event unreadable. Starting
   * afresh instead is a restart, which gateways follow.
   */
  private async lastInHistory(
    subject: string,
  ): Promise<{ seq: number; epoch: number; data: object | undefined }> {
    try {
      const m = await this.o.jsm.streams.getMessage(HISTORY_STREAM, { last_by_subj: subject });
      if (m === null) return NOTHING;
      const seq = Number(m.header.get(HEADERS.seq));
      const epoch = Number(m.header.get(HEADERS.epoch));
      const usable = Number.isSafeInteger(seq) && seq > 0 && seq <= m.seq;
      return {
        seq: usable ? seq : 0,
        epoch: Number.isSafeInteger(epoch) ? epoch : 0,
        data: usable ? jsonObjectOf(m.data) : undefined,
      };
    } catch {
      return NOTHING;
    }
  }
}

const NOTHING = { seq: 0, epoch: 0, data: undefined } as const;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function jsonObjectOf(bytes: Uint8Array): object | undefined {
  try {
    const data: unknown = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : undefined;
  } catch {
    return undefined;
  }
}
