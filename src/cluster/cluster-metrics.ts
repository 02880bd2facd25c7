/**
 * Metrics of the clustered mode, on both roles (a role leaves the other role's series at zero, or
 * absent for the labelled shard gauges: a gateway owns no shards). No per-stream or per-shard labels:
 * cardinality stays fixed. The shard gauges carry the feed (its id: `binance`, `bybit.spot`, `okx`, ...),
 * a handful of values, since each feed has shard leases of its own.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RefillFailure } from '../exchange/exchange.js';
import { REFILL_FAILURE_REASONS as HISTORY_REFILL_FAILURES } from '../metrics/manager-metrics.js';
import { talliedCounter } from '../metrics/tallied-counter.js';

/**
 * Hot-path tallies, bumped once per event and published into their counters when the registry is
 * collected (as the gateway's send tally): counting an event costs no prom-client call. (A gateway still
 * observes the end-to-end lag histogram for every event it delivers.)
 */
export interface EventTally {
  published: number;
  consumed: number;
}

/**
 * Why a gateway dropped an event from NATS before ordering it: `headers` (Ws-Seq or Ws-Epoch missing or
 * not an integer), `body` (not a JSON object), `unconfirmed` (it would have moved the stream to another
 * epoch or sequence, and the next event did not follow it).
 */
export type RejectReason = 'headers' | 'body' | 'unconfirmed';

/** Why a takeover window was not refilled: the history's own reasons, or no REST API configured. */
export type RefillFailureReason = RefillFailure | 'unavailable';

/** The history's reasons (as the manager counts them) and `unavailable`. */
const REFILL_FAILURE_REASONS = [
  ...HISTORY_REFILL_FAILURES,
  'unavailable',
] as const satisfies readonly RefillFailureReason[];

/** How a handover of a shard ended on the node handing it over. */
export type HandoverOutcome = 'completed' | 'expired';

export class ClusterMetrics {
  readonly tally: EventTally = { published: 0, consumed: 0 };
  readonly brokerConnected: Gauge;
  readonly brokerReconnects: Counter;
  readonly replays: Counter;
  readonly replayed: Counter;
  readonly replayFailures: Counter;
  readonly duplicatesDropped: Counter;
  readonly rejected: Counter<'reason'>;
  readonly missedMessages: Counter;
  readonly upstreamMissed: Counter;
  readonly shardsOwned: Gauge<'feed'>;
  readonly shardCount: Gauge<'feed'>;
  readonly leaseTakeovers: Counter;
  readonly leasesLost: Counter;
  readonly settingsMismatch: Gauge;
  readonly handovers: Counter<'outcome'>;
  readonly refilled: Counter;
  readonly refillFailures: Counter<'reason'>;
  readonly overlapDropped: Counter;
  readonly demandStreams: Gauge;
  readonly endToEndLag: Histogram;

  constructor(registry: Registry, role: 'ingest' | 'gateway') {
    const registers = [registry];
    const tally = this.tally;
    new Gauge({
      name: 'ws_manager_cluster_info',
      help: 'Always 1; the role label tells ingest nodes from gateways',
      labelNames: ['role'],
      registers,
    }).set({ role }, 1);
    this.brokerConnected = new Gauge({
      name: 'ws_manager_broker_connected',
      help: '1 while the NATS connection is up, 0 while it is down or reconnecting',
      registers,
    });
    this.brokerReconnects = new Counter({
      name: 'ws_manager_broker_reconnects_total',
      help: 'NATS connections restored after a loss',
      registers,
    });
    talliedCounter(
      {
        name: 'ws_manager_cluster_published_total',
        help: 'Events an ingest node published to NATS',
        registry,
      },
      () => tally.published,
    );
    talliedCounter(
      {
        name: 'ws_manager_cluster_consumed_total',
        help: 'Events a gateway received live from NATS (before de-duplication)',
        registry,
      },
      () => tally.consumed,
    );
    this.replays = new Counter({
      name: 'ws_manager_cluster_replays_total',
      help: 'Sequence gaps a gateway filled (or tried to) from the JetStream history',
      registers,
    });
    this.replayed = new Counter({
      name: 'ws_manager_cluster_replayed_messages_total',
      help: 'Events a gateway delivered from the JetStream history',
      registers,
    });
    this.replayFailures = new Counter({
      name: 'ws_manager_cluster_replay_failures_total',
      help: 'Replays that could not recover the whole range (history gone, or the broker failed)',
      registers,
    });
    this.duplicatesDropped = new Counter({
      name: 'ws_manager_cluster_duplicates_dropped_total',
      help: 'Events dropped by a gateway as already delivered, or from a superseded owner',
      registers,
    });
    this.rejected = new Counter({
      name: 'ws_manager_cluster_rejected_messages_total',
      help: 'Events a gateway dropped as malformed (reason headers or body) or as a stray sequence or epoch (unconfirmed)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['headers', 'body', 'unconfirmed'] satisfies RejectReason[])
      this.rejected.inc({ reason }, 0);
    this.missedMessages = new Counter({
      name: 'ws_manager_cluster_missed_messages_total',
      help: 'Per-stream sequence numbers a gateway could recover neither live nor from history',
      registers,
    });
    this.upstreamMissed = new Counter({
      name: 'ws_manager_cluster_upstream_missed_events_total',
      help: "Events a gateway saw skipped in the exchange's own ids (lost upstream, e.g. while a shard changed owner)",
      registers,
    });
    this.shardsOwned = new Gauge({
      name: 'ws_manager_cluster_shards_owned',
      help: 'Shards of the feed whose lease this ingest node holds (set by ingest nodes only, for each feed they carry)',
      labelNames: ['feed'],
      registers,
    });
    this.shardCount = new Gauge({
      name: 'ws_manager_cluster_shard_count',
      help: 'SHARD_COUNT of this process (every node of a cluster uses the same), for each feed it carries or serves',
      labelNames: ['feed'],
      registers,
    });
    this.leaseTakeovers = new Counter({
      name: 'ws_manager_cluster_lease_takeovers_total',
      help: 'Shard leases this ingest node acquired',
      registers,
    });
    this.leasesLost = new Counter({
      name: 'ws_manager_cluster_leases_lost_total',
      help: 'Shard leases this ingest node lost without releasing them (renewal failed or came too late)',
      registers,
    });
    this.settingsMismatch = new Gauge({
      name: 'ws_manager_cluster_settings_mismatch',
      help: 'Ingest node: 1 while a live ingest node runs with another value of this setting (which every process of a cluster must share)',
      labelNames: ['setting'],
      registers,
    });
    this.handovers = new Counter({
      name: 'ws_manager_cluster_handovers_total',
      help: 'Shards this ingest node handed to a successor while publishing on (outcome completed: the successor was seen publishing every stream; expired: the lease ran out first)',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['completed', 'expired'] satisfies HandoverOutcome[])
      this.handovers.inc({ outcome }, 0);
    this.refilled = new Counter({
      name: 'ws_manager_cluster_refilled_events_total',
      help: "Events an ingest node published from the exchange's REST history after taking a shard whose owner died",
      registers,
    });
    this.refillFailures = new Counter({
      name: 'ws_manager_cluster_refill_failures_total',
      help: "Streams whose window after a dead owner's last event could not be refilled from the exchange's history, by reason",
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFILL_FAILURE_REASONS) this.refillFailures.inc({ reason }, 0);
    this.overlapDropped = new Counter({
      name: 'ws_manager_cluster_overlap_dropped_total',
      help: "Events a gateway dropped because the exchange's ids show another owner's line already delivered them (the overlap of a handover)",
      registers,
    });
    this.demandStreams = new Gauge({
      name: 'ws_manager_cluster_demand_streams',
      help: 'Streams wanted: declared by this gateway, or wanted by any gateway in shards this ingest node owns',
      registers,
    });
    this.endToEndLag = new Histogram({
      name: 'ws_manager_cluster_end_to_end_lag_seconds',
      help: "From the exchange's event time (E) to the hand-over to downstream clients",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }
}
