/**
 * The upstream metrics both implementations export; their names and meanings are a contract with the
 * monitoring kit, the dashboard and the canary (listed in docs/manager.md, "Metrics").
 * One instance per implementation instance, registered in an injected prom-client Registry.
 * No per-stream labels: label values are small fixed sets.
 *
 * Events are counted in plain numbers (`counts`), which the counters publish when the registry is
 * collected (the gateway's pattern): the hot path pays an increment, not prom-client's bookkeeping, and
 * `getMetrics()` reads the same numbers synchronously.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Implementation } from '../core/stream-source.js';
import type { AdmissionMeter, UpstreamAdmission } from '../limits/upstream-admission.js';
import { talliedCounter, talliedCounterByReason } from './tallied-counter.js';

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

type TalliedKey = Exclude<keyof UpstreamCounts, `${string}ByReason` | 'refillFailures'>;

function zeros<R extends string>(reasons: readonly R[]): Record<R, number> {
  return Object.fromEntries(reasons.map((r) => [r, 0])) as Record<R, number>;
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
  readonly activeStreams: Gauge;
  readonly idleStreams: Gauge;
  readonly overdueIdleStreams: Gauge;
  readonly subscribers: Gauge;
  readonly reconnectDuration: Histogram;
  readonly healthy: Gauge;
  readonly info: Gauge<'implementation'>;
  readonly upstreamConnectAttempts: Counter;
  readonly upstreamConnectBudgetRatio: Gauge;
  readonly upstreamRetryAfterSeconds: Gauge;
  readonly restRequests: Counter;
  readonly restWeight: Counter;
  private hwm = 0;
  private connections = 0;
  private admission: UpstreamAdmission | undefined;

  constructor(registry: Registry, implementation: Implementation) {
    const registers = [registry];
    const counts = this.counts;
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    // Published at collect time from `counts`, which the hot path bumps.
    const tallied = (name: string, help: string, key: TalliedKey) =>
      talliedCounter({ name, help, registry }, () => counts[key]);
    const byReason = <R extends string>(
      name: string,
      help: string,
      totals: Record<R, number>,
      reasons: readonly R[],
    ) => talliedCounterByReason({ name, help, registry }, totals, reasons);
    this.activeConnections = gauge(
      'ws_manager_active_connections',
      'Open upstream WebSocket connections now',
    );
    this.activeConnectionsHwm = gauge(
      'ws_manager_active_connections_hwm',
      'Highest number of open upstream connections since start',
    );
    tallied(
      'ws_manager_retry_count_total',
      'Reconnect attempts scheduled after a failure or unexpected close',
      'retries',
    );
    tallied(
      'ws_manager_stream_creations_total',
      'Streams subscribed upstream (first subscriber arrived)',
      'creations',
    );
    tallied(
      'ws_manager_stream_cleanups_total',
      'Streams released upstream (idle grace passed, forced, or failed)',
      'cleanups',
    );
    byReason(
      'ws_manager_stream_cleanups_by_reason_total',
      'Streams released upstream, by reason (idle, forced, failed, destroyed)',
      counts.cleanupsByReason,
      CLEANUP_REASONS,
    );
    this.activeStreams = gauge(
      'ws_manager_active_streams',
      'Streams held now (with subscribers or idle awaiting cleanup)',
    );
    this.idleStreams = gauge(
      'ws_manager_idle_streams',
      'Streams with no subscriber, waiting for their idle grace to pass',
    );
    this.overdueIdleStreams = gauge(
      'ws_manager_overdue_idle_streams',
      'Idle streams whose grace period has passed but that are still held (cleanup lag)',
    );
    this.subscribers = gauge('ws_manager_subscribers', 'Subscriptions held now, across all streams');
    tallied('ws_manager_messages_received_total', 'Stream events received from upstream', 'messages');
    tallied(
      'ws_manager_message_gaps_total',
      'Sequence-id gaps detected in streams that carry sequence ids',
      'gaps',
    );
    tallied(
      'ws_manager_missed_messages_total',
      'Events missed inside detected gaps (sum of gap sizes)',
      'missed',
    );
    byReason('ws_manager_errors_total', 'Errors by reason', counts.errorsByReason, ERROR_REASONS);
    this.reconnectDuration = new Histogram({
      name: 'ws_manager_reconnect_duration_seconds',
      help: 'Time from losing an upstream connection to its replacement being open',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.healthy = gauge(
      'ws_manager_healthy',
      '1 when the upstream implementation is healthy, 0 when not (same verdict as HEAD /api/ws/metrics)',
    );
    this.info = new Gauge({
      name: 'ws_manager_info',
      help: 'Constant 1; the implementation label says which upstream implementation serves',
      labelNames: ['implementation'],
      registers,
    });
    this.upstreamConnectAttempts = counter(
      'ws_manager_upstream_connect_attempts_total',
      'Upstream WebSocket upgrade attempts made (first connects, reconnects, rotations)',
    );
    // Read from the watched admission at each scrape.
    const admissionGauge = (name: string, help: string, read: (a: UpstreamAdmission) => number) => {
      const admission = () => this.admission;
      return new Gauge({
        name,
        help,
        registers,
        collect() {
          const a = admission();
          if (a !== undefined) this.set(read(a));
        },
      });
    };
    this.upstreamConnectBudgetRatio = admissionGauge(
      'ws_manager_upstream_connect_budget_ratio',
      'Upstream connection attempts in the rolling window over the limit (Binance: 300 per 5 min per IP); 1 = spent',
      (a) => a.budgetRatio(),
    );
    this.upstreamRetryAfterSeconds = admissionGauge(
      'ws_manager_upstream_retry_after_seconds',
      'Seconds until upstream connection attempts may resume after a 429/418/503 Retry-After; 0 when allowed',
      (a) => a.pausedMs() / 1000,
    );
    this.restRequests = counter(
      'ws_manager_rest_requests_total',
      'REST requests sent to the exchange (gap refills, order-book snapshots)',
    );
    this.restWeight = counter(
      'ws_manager_rest_weight_used_total',
      'Exchange request weight those REST requests cost',
    );
    tallied(
      'ws_manager_refills_total',
      'Gaps refilled from the exchange history (in whole or in part)',
      'refills',
    );
    tallied(
      'ws_manager_refilled_events_total',
      'Events delivered from the exchange history instead of being reported missed',
      'refilledEvents',
    );
    byReason(
      'ws_manager_refill_failures_total',
      'Gaps that could not be refilled and were reported, by reason',
      counts.refillFailures,
      REFILL_FAILURE_REASONS,
    );
    // WSManager only: the legacy baseline does not track sequence restarts.
    if (implementation === 'WSManager') {
      tallied(
        'ws_manager_sequence_resets_total',
        'Streams whose sequence ids went back after a reconnect (upstream restarted); tracking restarted',
        'sequenceResets',
      );
    }
    this.info.set({ implementation }, 1);
    this.healthy.set(1);
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
