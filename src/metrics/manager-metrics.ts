/**
 * The upstream metrics both implementations export (listed in docs/manager.md "Metrics" and monitoring/README.md).
 * One instance per implementation instance, registered in an injected prom-client Registry.
 * No per-stream labels: label values are small fixed sets.
 *
 * Events are counted in plain numbers (`counts`), which the counters publish when the registry is
 * collected (the gateway's pattern): the hot path pays an increment, not prom-client's bookkeeping, and
 * `getMetrics()` reads the same numbers synchronously.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Implementation } from '../stream-source.js';
import type { AdmissionMeter, UpstreamAdmission } from '../upstream-admission.js';

/** Bounded values of the `reason` label of `ws_manager_errors_total`. */
export const ERROR_REASONS = [
  'connect_failed',
  'connection_error',
  'unexpected_close',
  'stalled',
  'malformed_frame',
  'subscribe_rejected',
  'handler_threw',
  'retries_exhausted',
  'attempt_budget',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** Bounded values of the `reason` label of `ws_manager_refill_failures_total`. */
export const REFILL_FAILURE_REASONS = [
  'budget',
  'retry_after',
  'refused',
  'unreachable',
  'history_gone',
  'too_large',
] as const;
export type RefillFailureReason = (typeof REFILL_FAILURE_REASONS)[number];

/** Bounded values of the `reason` label of `ws_manager_stream_cleanups_by_reason_total`. */
export const CLEANUP_REASONS = ['idle', 'forced', 'failed', 'destroyed'] as const;
export type CleanupReason = (typeof CLEANUP_REASONS)[number];

/** What the implementation has counted since it started; read-only outside this class. */
export interface UpstreamCounts {
  retries: number;
  creations: number;
  cleanups: number;
  messages: number;
  gaps: number;
  missed: number;
  sequenceResets: number;
  refills: number;
  refilledEvents: number;
  errors: number;
  readonly errorsByReason: Record<ErrorReason, number>;
  readonly cleanupsByReason: Record<CleanupReason, number>;
  readonly refillFailures: Record<RefillFailureReason, number>;
}

function zeros<R extends string>(reasons: readonly R[]): Record<R, number> {
  return Object.fromEntries(reasons.map((r) => [r, 0])) as Record<R, number>;
}

/**
 * Publishes a running total into a counter at collect time: the increase since the last collect, so
 * the counter stays monotonic and nothing counted between two scrapes is lost.
 */
function publisher(total: () => number): (counter: Counter) => void {
  let published = 0;
  return (counter) => {
    const now = total();
    if (now > published) counter.inc(now - published);
    published = now;
  };
}

function reasonPublisher<R extends string>(
  totals: Record<R, number>,
  reasons: readonly R[],
): (counter: Counter<'reason'>) => void {
  const published = zeros(reasons);
  return (counter) => {
    for (const reason of reasons) {
      const now = totals[reason];
      if (now > published[reason]) counter.inc({ reason }, now - published[reason]);
      published[reason] = now;
    }
  };
}

export class ManagerMetrics implements AdmissionMeter {
  readonly counts: UpstreamCounts = {
    retries: 0,
    creations: 0,
    cleanups: 0,
    messages: 0,
    gaps: 0,
    missed: 0,
    sequenceResets: 0,
    refills: 0,
    refilledEvents: 0,
    errors: 0,
    errorsByReason: zeros(ERROR_REASONS),
    cleanupsByReason: zeros(CLEANUP_REASONS),
    refillFailures: zeros(REFILL_FAILURE_REASONS),
  };
  readonly activeConnections: Gauge;
  readonly activeConnectionsHwm: Gauge;
  readonly retryCount: Counter;
  readonly streamCreations: Counter;
  readonly streamCleanups: Counter;
  readonly streamCleanupsByReason: Counter<'reason'>;
  readonly activeStreams: Gauge;
  readonly idleStreams: Gauge;
  readonly overdueIdleStreams: Gauge;
  readonly subscribers: Gauge;
  readonly messagesReceived: Counter;
  readonly messageGaps: Counter;
  readonly missedMessages: Counter;
  readonly errors: Counter<'reason'>;
  readonly reconnectDuration: Histogram;
  readonly healthy: Gauge;
  readonly info: Gauge<'implementation'>;
  readonly upstreamConnectAttempts: Counter;
  readonly upstreamConnectBudgetRatio: Gauge;
  readonly upstreamRetryAfterSeconds: Gauge;
  readonly restRequests: Counter;
  readonly restWeight: Counter;
  readonly refills: Counter;
  readonly refilledEvents: Counter;
  readonly refillFailures: Counter<'reason'>;
  /** WSManager only: the legacy baseline does not track sequence restarts. */
  readonly sequenceResets: Counter | undefined;
  private hwm = 0;
  private connections = 0;
  private admission: UpstreamAdmission | undefined;

  constructor(registry: Registry, implementation: Implementation) {
    const registers = [registry];
    const counts = this.counts;
    const total = (key: Exclude<keyof UpstreamCounts, `${string}ByReason` | 'refillFailures'>) =>
      publisher(() => counts[key]);
    this.activeConnections = new Gauge({
      name: 'ws_manager_active_connections',
      help: 'Open upstream WebSocket connections now',
      registers,
    });
    this.activeConnectionsHwm = new Gauge({
      name: 'ws_manager_active_connections_hwm',
      help: 'Highest number of open upstream connections since start',
      registers,
    });
    this.retryCount = new Counter({
      name: 'ws_manager_retry_count_total',
      help: 'Reconnect attempts scheduled after a failure or unexpected close',
      registers,
      collect: withPublish(total('retries')),
    });
    this.streamCreations = new Counter({
      name: 'ws_manager_stream_creations_total',
      help: 'Streams subscribed upstream (first subscriber arrived)',
      registers,
      collect: withPublish(total('creations')),
    });
    this.streamCleanups = new Counter({
      name: 'ws_manager_stream_cleanups_total',
      help: 'Streams released upstream (idle grace passed, forced, or failed)',
      registers,
      collect: withPublish(total('cleanups')),
    });
    this.streamCleanupsByReason = new Counter({
      name: 'ws_manager_stream_cleanups_by_reason_total',
      help: 'Streams released upstream, by reason (idle, forced, failed, destroyed)',
      labelNames: ['reason'],
      registers,
      collect: withPublish(reasonPublisher(counts.cleanupsByReason, CLEANUP_REASONS)),
    });
    this.activeStreams = new Gauge({
      name: 'ws_manager_active_streams',
      help: 'Streams held now (with subscribers or idle awaiting cleanup)',
      registers,
    });
    this.idleStreams = new Gauge({
      name: 'ws_manager_idle_streams',
      help: 'Streams with no subscriber, waiting for their idle grace to pass',
      registers,
    });
    this.overdueIdleStreams = new Gauge({
      name: 'ws_manager_overdue_idle_streams',
      help: 'Idle streams whose grace period has passed but that are still held (cleanup lag)',
      registers,
    });
    this.subscribers = new Gauge({
      name: 'ws_manager_subscribers',
      help: 'Subscriptions held now, across all streams',
      registers,
    });
    this.messagesReceived = new Counter({
      name: 'ws_manager_messages_received_total',
      help: 'Stream events received from upstream',
      registers,
      collect: withPublish(total('messages')),
    });
    this.messageGaps = new Counter({
      name: 'ws_manager_message_gaps_total',
      help: 'Sequence-id gaps detected in streams that carry sequence ids',
      registers,
      collect: withPublish(total('gaps')),
    });
    this.missedMessages = new Counter({
      name: 'ws_manager_missed_messages_total',
      help: 'Events missed inside detected gaps (sum of gap sizes)',
      registers,
      collect: withPublish(total('missed')),
    });
    this.errors = new Counter({
      name: 'ws_manager_errors_total',
      help: 'Errors by reason',
      labelNames: ['reason'],
      registers,
      collect: withPublish(reasonPublisher(counts.errorsByReason, ERROR_REASONS)),
    });
    this.reconnectDuration = new Histogram({
      name: 'ws_manager_reconnect_duration_seconds',
      help: 'Time from losing an upstream connection to its replacement being open',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.healthy = new Gauge({
      name: 'ws_manager_healthy',
      help: '1 when the upstream implementation is healthy, 0 when not (same verdict as HEAD /api/ws/metrics)',
      registers,
    });
    this.info = new Gauge({
      name: 'ws_manager_info',
      help: 'Constant 1; the implementation label says which upstream implementation serves',
      labelNames: ['implementation'],
      registers,
    });
    this.upstreamConnectAttempts = new Counter({
      name: 'ws_manager_upstream_connect_attempts_total',
      help: 'Upstream WebSocket upgrade attempts made (first connects, reconnects, rotations)',
      registers,
    });
    const admission = () => this.admission;
    this.upstreamConnectBudgetRatio = new Gauge({
      name: 'ws_manager_upstream_connect_budget_ratio',
      help: 'Upstream connection attempts in the rolling window over the limit (Binance: 300 per 5 min per IP); 1 = spent',
      registers,
      collect() {
        const a = admission();
        if (a !== undefined) this.set(a.budgetRatio());
      },
    });
    this.upstreamRetryAfterSeconds = new Gauge({
      name: 'ws_manager_upstream_retry_after_seconds',
      help: 'Seconds until upstream connection attempts may resume after a 429/418/503 Retry-After; 0 when allowed',
      registers,
      collect() {
        const a = admission();
        if (a !== undefined) this.set(a.pausedMs() / 1000);
      },
    });
    this.restRequests = new Counter({
      name: 'ws_manager_rest_requests_total',
      help: 'REST requests sent to the exchange (gap refills, order-book snapshots)',
      registers,
    });
    this.restWeight = new Counter({
      name: 'ws_manager_rest_weight_used_total',
      help: 'Exchange request weight those REST requests cost',
      registers,
    });
    this.refills = new Counter({
      name: 'ws_manager_refills_total',
      help: 'Gaps refilled from the exchange history (in whole or in part)',
      registers,
      collect: withPublish(total('refills')),
    });
    this.refilledEvents = new Counter({
      name: 'ws_manager_refilled_events_total',
      help: 'Events delivered from the exchange history instead of being reported missed',
      registers,
      collect: withPublish(total('refilledEvents')),
    });
    this.refillFailures = new Counter({
      name: 'ws_manager_refill_failures_total',
      help: 'Gaps that could not be refilled and were reported, by reason',
      labelNames: ['reason'] as const,
      registers,
      collect: withPublish(reasonPublisher(counts.refillFailures, REFILL_FAILURE_REASONS)),
    });
    this.sequenceResets =
      implementation === 'WSManager'
        ? new Counter({
            name: 'ws_manager_sequence_resets_total',
            help: 'Streams whose sequence ids went back after a reconnect (upstream restarted); tracking restarted',
            registers,
            collect: withPublish(total('sequenceResets')),
          })
        : undefined;
    this.info.set({ implementation }, 1);
    this.healthy.set(1);
    for (const reason of REFILL_FAILURE_REASONS) this.refillFailures.inc({ reason }, 0);
    // Zero every labelled series so rate() sees them from the first scrape.
    for (const reason of ERROR_REASONS) this.errors.inc({ reason }, 0);
    for (const reason of CLEANUP_REASONS) this.streamCleanupsByReason.inc({ reason }, 0);
  }

  /** Open upstream connections now, as last set. */
  get openConnections(): number {
    return this.connections;
  }

  /** Sets the open-connection gauge and raises the high water mark when needed. */
  setActiveConnections(n: number): void {
    this.connections = n;
    this.activeConnections.set(n);
    if (n > this.hwm) {
      this.hwm = n;
      this.activeConnectionsHwm.set(n);
    }
  }

  get activeConnectionsHighWaterMark(): number {
    return this.hwm;
  }

  /** A reconnect scheduled. */
  retried(): void {
    this.counts.retries++;
  }

  /** A stream subscribed upstream. */
  created(): void {
    this.counts.creations++;
  }

  /** Counts streams released upstream. */
  cleanedUp(reason: CleanupReason, count = 1): void {
    if (count <= 0) return;
    this.counts.cleanups += count;
    this.counts.cleanupsByReason[reason] += count;
  }

  /** One stream event received: the hot path. */
  message(): void {
    this.counts.messages++;
  }

  gap(missed: number): void {
    this.counts.gaps++;
    this.counts.missed += missed;
  }

  refilled(events: number): void {
    this.counts.refills++;
    this.counts.refilledEvents += events;
  }

  refillFailed(reason: RefillFailureReason): void {
    this.counts.refillFailures[reason]++;
  }

  sequenceReset(): void {
    this.counts.sequenceResets++;
  }

  error(reason: ErrorReason): void {
    this.counts.errors++;
    this.counts.errorsByReason[reason]++;
  }

  /** The stream gauges: streams held, those idle, and subscriptions. */
  streams(active: number, idle: number, subscribers: number): void {
    this.activeStreams.set(active);
    this.idleStreams.set(idle);
    this.subscribers.set(subscribers);
  }

  /** One upstream upgrade attempt made. */
  attempted(): void {
    this.upstreamConnectAttempts.inc();
  }

  /** The admission whose budget and pause the gauges report at each scrape. */
  watchAdmission(admission: UpstreamAdmission): void {
    this.admission = admission;
  }
}

/** A counter's `collect` that runs `publish` on it (prom-client calls `collect` with the metric as `this`). */
function withPublish<C extends Counter<string>>(publish: (counter: C) => void): (this: C) => void {
  return function (this: C) {
    publish(this);
  };
}
