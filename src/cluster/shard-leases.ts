/**
 * Shard ownership through leases in a NATS KV bucket, without a leader. Every tick (a third of the
 * lease TTL) a node: refreshes its entry in the node bucket; renews each lease it holds by revision
 * (a failed compare-and-set means someone else holds it now); hands a shard to the node rendezvous
 * hashing prefers once that node has been seen live twice; and creates the leases of free shards it
 * prefers (or any free shard nobody took within a tick). Both buckets have a bucket-level TTL equal
 * to the lease TTL (NATS 2.9 has no per-key TTL), so a node that stops renewing loses everything
 * after one TTL. The epoch of a lease is its KV revision when its holder got it: it only grows. Each
 * lease this node holds moves through `LEASE_TRANSITIONS` until it is released or lost.
 *
 * A planned handover (the preferred node is another one, or this node stops) is make before break:
 * the holder writes an offer naming the successor into the lease (by revision) and publishes on; the
 * successor takes the offered lease by revision at its next tick, which gives it a higher epoch, and
 * starts publishing; the holder stops each stream once the successor publishes it, and stops the
 * shard at the latest when its lease would expire locally (a lease TTL after the offer), so two owners
 * publish for a bounded moment and gateways drop the overlap by the exchange's ids.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from '../core/log.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import { carriesFeed, liveNodeEntries, type NodeEntries } from './settings-agreement.js';
import { preferredOwner } from './shards.js';
import { BINANCE_FEED, type FeedNames } from './subjects.js';

/** How this node got a lease: a free shard (its owner, if any, died or gave up) or an offer. */
export type LeaseOrigin = 'free' | 'handover';

export interface LeaseEvents {
  /** This node now owns `shard`; events it publishes carry `epoch`. */
  gained(shard: number, epoch: number, origin: LeaseOrigin): void;
  /**
   * This node offered `shard` to a successor and keeps publishing it: resolves true once the
   * successor publishes every stream this node publishes in the shard, false when `deadline` (epoch
   * ms) came first. `lost` follows either way. Absent: the shard is released at once.
   */
  handing?(shard: number, deadline: number): Promise<boolean>;
  /** This node no longer owns `shard`: stop publishing it at once. */
  lost(shard: number): void;
}

export interface ShardLeasesOptions {
  readonly leases: KV;
  readonly nodes: KV;
  /**
   * Called after a failed tick: recreates what NATS may have lost (memory-stored buckets vanish when
   * the server holding them restarts) and returns fresh bucket handles.
   */
  readonly repair?: () => Promise<{ leases: KV; nodes: KV }>;
  readonly nodeId: string;
  readonly shardCount: number;
  readonly ttlMs: number;
  readonly events: LeaseEvents;
  /** What this node writes into its node entry (unset: the time) and learns from the others'. */
  readonly entries?: NodeEntries;
  readonly logger: Logger;
  readonly metrics: ClusterMetrics;
  /**
   * The feed whose shards these are: its lease keys, and the live nodes that carry it (their node
   * entries list it). @default Binance's
   */
  readonly feed?: FeedNames;
  /**
   * Whether this instance writes the node's entry each tick: the one instance of a node's first feed
   * does, the instances of its other feeds only read the entries. (Each instance reports the shard
   * gauges of its own feed.)
   * @default true
   */
  readonly announces?: boolean;
}

/**
 * A lease this node created. held: created or renewed; renewing: a renewal is in flight (the lease is
 * still owned until it may have expired); released: handed over to the preferred node or given up at
 * stop; lost: it expired before a renewal came back, or a renewal was refused.
 */
export type LeaseState = 'held' | 'renewing' | 'handing' | 'released' | 'lost';

/** handing: offered to a successor, still published until the successor is seen or the lease runs out. */
export const LEASE_TRANSITIONS: TransitionTable<LeaseState> = {
  held: ['renewing', 'handing', 'released', 'lost'],
  renewing: ['held', 'released', 'lost'],
  handing: ['released', 'lost'],
  released: [],
  lost: [],
};

/** Why this node gave a lease up. */
export type LeaseRelease = 'handed_over' | 'stopped';

/** Why this node lost a lease without giving it up; the text is what the log line shows. */
export type LeaseLoss = 'expired' | 'renewal_refused';

export const LEASE_LOSSES: Readonly<Record<LeaseLoss, string>> = {
  expired: 'lease expired before it could be renewed',
  renewal_refused: 'renewal refused',
};

export type LeaseMove = 'renewal_sent' | 'renewed' | 'offered' | LeaseRelease | LeaseLoss;

/** The lease value of an offer: `<from> <to>` (node ids hold no space). */
export function offerValue(from: string, to: string): string {
  return `${from} ${to}`;
}

/** The node a lease's value names as its holder (an offer's value also names its successor). */
function holderOf(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? value : value.slice(0, space);
}

/** The successor an offer names, or undefined when the value is a plain holder's id. */

export function offeredTo(value: string): string | undefined {
  const space = value.indexOf(' ');
  return space < 0 ? undefined : value.slice(space + 1);
}

interface Held {
  revision: number;
  readonly epoch: number;
  /** When the request that created or last renewed the lease was sent: the server's clock starts later. */
  sentAt: number;
  readonly lifecycle: StateMachine<LeaseState, LeaseMove>;
}

/** Margin below the TTL at which a lease is treated as lost locally, before the server expires it. */
const EXPIRY_MARGIN_MS = 250;
/** How often a node handing a shard over reads its lease to see whether the successor took it. */
const OFFER_POLL_MS = 100;

export class ShardLeases {
  private readonly held = new Map<number, Held>();
  private readonly freeSince = new Map<number, number>();
  /** The node each shard's lease named when this node last saw it held by another. */
  private readonly lastHolder = new Map<number, string>();
  private liveOnce = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private ticks = 0;
  private lastTickOk = false;
  /** Counts ticks started: only the latest one schedules the next, after a resume() cut in. */
  private generation = 0;
  private kv: { leases: KV; nodes: KV };
  /** Handovers in progress, by shard: each ends when its successor publishes or its lease runs out. */
  private readonly handovers = new Map<number, Promise<void>>();

  private readonly feed: FeedNames;
  private readonly announces: boolean;
  private readonly feedLabel: { feed: string };

  constructor(private readonly o: ShardLeasesOptions) {
    this.kv = { leases: o.leases, nodes: o.nodes };
    this.feed = o.feed ?? BINANCE_FEED;
    this.announces = o.announces ?? true;
    this.feedLabel = { feed: this.feed.id };
    // Both from the start, so a node holding none of the feed's shards reports 0 rather than nothing.
    o.metrics.shardCount.set(this.feedLabel, o.shardCount);
    o.metrics.shardsOwned.set(this.feedLabel, 0);
  }

  private leaseKey(shard: number): string {
    return this.feed.leaseKey(shard);
  }

  private countOwned(): void {
    this.o.metrics.shardsOwned.set(this.feedLabel, this.held.size);
  }

  get tickMs(): number {
    return Math.max(100, Math.floor(this.o.ttlMs / 3));
  }

  /** The epoch while this node holds a lease on `shard` that cannot have expired yet, else undefined. */
  epochOf(shard: number): number | undefined {
    const held = this.held.get(shard);
    if (held === undefined) return undefined;
    if (Date.now() - held.sentAt >= this.o.ttlMs - EXPIRY_MARGIN_MS) {
      // A handover ends when its own wait does (at this same deadline): nothing is published meanwhile.
      if (held.lifecycle.state !== 'handing') this.lose(shard, 'expired');
      return undefined;
    }
    return held.epoch;
  }

  ownedShards(): number[] {
    return [...this.held.keys()].filter((s) => this.epochOf(s) !== undefined);
  }

  /** False after a failed tick, or from NATS returning, until a tick succeeds: leases are not kept meanwhile. */
  get renewing(): boolean {
    return this.lastTickOk;
  }

  start(): void {
    this.loop();
    // Local expiry runs even while the broker is unreachable and ticks hang.
    this.expiryTimer = setInterval(() => this.ownedShards(), EXPIRY_MARGIN_MS);
  }

  /**
   * NATS returned: recreate what the server may have lost and tick at once, instead of waiting for a
   * tick still in flight (its requests, sent while disconnected, only time out after seconds) or for the
   * timer after a failed one. The tick in flight may still end; it no longer schedules the next.
   */
  resume(): void {
    if (this.stopped) return;
    this.lastTickOk = false;
    clearTimeout(this.timer);
    this.loop(true);
  }

  private loop(repairFirst = false): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const ticking = (repairFirst ? this.repair() : Promise.resolve())
      .then(() => this.tick(generation))
      .then(
        () => {
          if (generation === this.generation) this.lastTickOk = true;
        },
        async (error: unknown) => {
          if (generation !== this.generation) return;
          this.lastTickOk = false;
          this.o.logger.warn({ err: String(error) }, 'Shard lease tick failed');
          await this.repair();
        },
      )
      .finally(() => {
        if (generation !== this.generation) return;
        this.ticking = undefined;
        if (!this.stopped) this.timer = setTimeout(() => this.loop(), this.tickMs);
      });
    this.ticking = ticking;
  }

  private async repair(): Promise<void> {
    if (this.o.repair) this.kv = await this.o.repair().catch(() => this.kv);
  }

  /**
   * Stops renewing and gives every lease up: each shard is offered to the node that would own it
   * without this one and published until that node publishes it (at most a lease TTL); with no other
   * live node, its lease is deleted. The node entry goes first, so the successors do not hand the
   * shards back.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.kv.nodes.delete(this.o.nodeId).catch(() => {});
    const others = new Set([...this.liveOnce].filter((n) => n !== this.o.nodeId));
    const releases = [...this.held].map(async ([shard, held]) => {
      const state = held.lifecycle.state;
      if (state === 'handing' || state === 'released' || state === 'lost') return;
      const successor = preferredOwner(shard, others);
      if (successor !== undefined && this.o.events.handing !== undefined) {
        await this.handOver(shard, held, successor);
        return;
      }
      this.release(shard, 'stopped');
      await this.kv.leases.delete(this.leaseKey(shard), { previousSeq: held.revision }).catch(() => {});
    });
    await Promise.all(releases);
    await Promise.all(this.handovers.values());
    clearInterval(this.expiryTimer);
  }

  /** @param generation the loop's count when it started: a tick superseded by resume() changes nothing. */
  private async tick(generation: number): Promise<void> {
    const { nodeId, shardCount } = this.o;
    const { nodes } = this.kv;
    if (this.announces) await nodes.put(nodeId, this.o.entries?.own() ?? String(Date.now()));
    let others: ReadonlyMap<string, string> | undefined;
    try {
      others = await liveNodeEntries(nodes, nodeId);
    } catch (error) {
      // The leases are renewed all the same, with the nodes seen at the last tick that listed them.
      this.o.logger.warn({ err: String(error) }, 'Live ingest nodes not listed this lease tick');
    }
    if (generation !== this.generation) return;
    if (others !== undefined && this.announces) this.o.entries?.seen(others);
    const seen =
      others === undefined
        ? this.liveOnce
        : [...others].filter(([, entry]) => carriesFeed(entry, this.feed.id)).map(([node]) => node);
    const live = new Set<string>([nodeId, ...seen]);
    const stable = new Set([...live].filter((n) => n === nodeId || this.liveOnce.has(n)));
    this.liveOnce = live;

    // The first tick only announces this node: nodes starting together then see each other before
    // claiming, instead of one taking every shard and handing half over a tick later.
    if (this.ticks++ === 0) return;
    const now = Date.now();
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shardCount; shard++) {
      const preferred = preferredOwner(shard, stable);
      if (this.held.has(shard)) work.push(this.keep(shard, preferred));
      else work.push(this.maybeTake(shard, preferred, now));
    }
    await Promise.all(work);
    this.countOwned();
  }

  private async keep(shard: number, preferred: string | undefined): Promise<void> {
    const held = this.held.get(shard);
    if (held === undefined) return;
    const { nodeId } = this.o;
    const { leases } = this.kv;
    // Offered already: nothing to renew, the successor holds the lease or it runs out.
    if (held.lifecycle.state === 'handing') return;
    if (preferred !== undefined && preferred !== nodeId) {
      if (this.o.events.handing !== undefined) {
        await this.handOver(shard, held, preferred);
        return;
      }
      this.release(shard, 'handed_over');
      this.o.logger.info({ shard, to: preferred }, 'Handing shard over to its preferred node');
      await leases.delete(this.leaseKey(shard), { previousSeq: held.revision }).catch(() => {});
      return;
    }
    const sentAt = Date.now();
    held.lifecycle.transition('renewing', 'renewal_sent');
    try {
      held.revision = await leases.update(this.leaseKey(shard), nodeId, held.revision);
      held.sentAt = sentAt;
      // Lost to expiry or released meanwhile, it stays so: the renewal came too late.
      if (held.lifecycle.can('held')) held.lifecycle.transition('held', 'renewed');
    } catch (error) {
      this.lose(shard, 'renewal_refused', String(error));
    }
  }

  /**
   * Writes the offer by revision (a refusal means the lease is no longer this node's); the shard is
   * published on until the successor does, at most until the lease, renewed by the offer write for one
   * more TTL, would expire locally.
   */
  private async handOver(shard: number, held: Held, to: string): Promise<void> {
    const sentAt = Date.now();
    try {
      held.revision = await this.kv.leases.update(
        this.leaseKey(shard),
        offerValue(this.o.nodeId, to),
        held.revision,
      );
    } catch (error) {
      this.lose(shard, 'renewal_refused', String(error));
      return;
    }
    if (!held.lifecycle.can('handing')) return;
    held.sentAt = sentAt;
    held.lifecycle.transition('handing', 'offered');
    this.o.logger.info({ shard, to }, 'Handing shard over: publishing until the successor does');
    const deadline = sentAt + this.o.ttlMs - EXPIRY_MARGIN_MS;
    const offered = held.revision;
    const handing = this.successorTook(shard, offered, deadline)
      .then((took) => (took ? (this.o.events.handing?.(shard, deadline) ?? true) : false))
      .then(
        (completed) => this.endHandover(shard, held, completed),
        () => this.endHandover(shard, held, false),
      );
    // Not awaited: the tick goes on renewing the other leases meanwhile; stop() waits for it.
    this.handovers.set(shard, handing);
  }

  /**
   * Waits until the offered lease changed hands (its revision moved on), reading the one lease key
   * instead of every stream's history while the successor's tick is still to come; false at `deadline`.
   */
  private async successorTook(shard: number, offered: number, deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      const entry = await this.kv.leases.get(this.leaseKey(shard)).catch(() => null);
      if (entry !== null && entry.revision !== offered) return entry.operation === 'PUT';
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(OFFER_POLL_MS, Math.max(0, deadline - Date.now()))),
      );
    }
    return false;
  }

  /** The handover of `shard` ended: stop publishing it, and count how. */
  private endHandover(shard: number, held: Held, completed: boolean): void {
    this.handovers.delete(shard);
    if (this.held.get(shard) !== held) return;
    this.o.metrics.handovers.inc({ outcome: completed ? 'completed' : 'expired' });
    if (!completed)
      this.o.logger.warn(
        { shard },
        'Handover ended by the lease running out before the successor published every stream',
      );
    this.release(shard, 'handed_over');
  }

  private async maybeTake(shard: number, preferred: string | undefined, now: number): Promise<void> {
    const entry = await this.kv.leases.get(this.leaseKey(shard));
    if (entry !== null && entry.operation === 'PUT') {
      this.freeSince.delete(shard);
      this.lastHolder.set(shard, holderOf(entry.string()));
      // An offer to this node: take it by revision, which fails if the holder changed its mind.
      if (offeredTo(entry.string()) === this.o.nodeId) await this.take(shard, entry.revision);
      return;
    }
    const since = this.freeSince.get(shard) ?? now;
    this.freeSince.set(shard, since);
    // The preferred node gets one tick to take a free shard; after that anyone may. Not the node whose
    // own lease ran out: a live holder renews every tick, so it died or lost NATS, and its node entry
    // may outlive its lease by a moment (both expire by TTL).
    const waitsForPreferred = preferred !== this.o.nodeId && preferred !== this.lastHolder.get(shard);
    if (waitsForPreferred && now - since < this.tickMs) return;
    await this.take(shard, undefined);
  }

  /** Creates a free shard's lease, or takes an offered one by its revision. */
  private async take(shard: number, offerRevision: number | undefined): Promise<void> {
    const sentAt = Date.now();
    const { leases } = this.kv;
    try {
      const revision =
        offerRevision === undefined
          ? await leases.create(this.leaseKey(shard), this.o.nodeId)
          : await leases.update(this.leaseKey(shard), this.o.nodeId, offerRevision);
      if (this.stopped) return;
      const lifecycle = new StateMachine<LeaseState, LeaseMove>({
        owner: `Shard lease ${shard}`,
        table: LEASE_TRANSITIONS,
        initial: 'held',
      });
      this.held.set(shard, { revision, epoch: revision, sentAt, lifecycle });
      this.freeSince.delete(shard);
      this.o.metrics.leaseTakeovers.inc();
      const origin = offerRevision === undefined ? 'free' : 'handover';
      this.o.logger.info({ shard, epoch: revision, origin }, 'Shard lease acquired');
      this.o.events.gained(shard, revision, origin);
    } catch {
      // Someone else created it first, or the offer was withdrawn.
    }
  }

  private release(shard: number, reason: LeaseRelease): void {
    const held = this.held.get(shard);
    if (held === undefined) return;
    held.lifecycle.transition('released', reason);
    this.forget(shard);
    this.o.events.lost(shard);
  }

  /** @param detail what the broker answered, shown after the loss's text. */
  private lose(shard: number, loss: LeaseLoss, detail?: string): void {
    const held = this.held.get(shard);
    if (held === undefined) return;
    held.lifecycle.transition('lost', loss);
    this.forget(shard);
    this.o.metrics.leasesLost.inc();
    const reason = detail === undefined ? LEASE_LOSSES[loss] : `${LEASE_LOSSES[loss]}: ${detail}`;
    this.o.logger.warn({ shard, reason }, 'Shard lease lost: stopped publishing it');
    this.o.events.lost(shard);
  }

  private forget(shard: number): void {
    this.held.delete(shard);
    this.countOwned();
  }
}

/** The lease key of a Binance shard. */
export function leaseKey(shard: number): string {
  return BINANCE_FEED.leaseKey(shard);
}
