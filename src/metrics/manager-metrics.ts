/**
 * The upstream metrics both implementations export; their names and meanings are a contract with the
 * monitoring kit, the dashboard and the canary (listed in docs/manager.md, "Metrics").
 * One instance per implementation instance, registered in an injected prom-client Registry.
 * No per-stream labels: label values are small fixed sets.
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

export class ManagerMetrics implements AdmissionMeter {
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
  private hwm = 0;
  private admission: UpstreamAdmission | undefined;

  constructor(registry: Registry, implementation: Implementation) {
    const registers = [registry];
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
    });
    this.streamCreations = new Counter({
      name: 'ws_manager_stream_creations_total',
      help: 'Streams subscribed upstream (first subscriber arrived)',
      registers,
    });
    this.streamCleanups = new Counter({
      name: 'ws_manager_stream_cleanups_total',
      help: 'Streams released upstream (idle grace passed, forced, or failed)',
      registers,
    });
    this.streamCleanupsByReason = new Counter({
      name: 'ws_manager_stream_cleanups_by_reason_total',
      help: 'Streams released upstream, by reason (idle, forced, failed, destroyed)',
      labelNames: ['reason'],
      registers,
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
    });
    this.messageGaps = new Counter({
      name: 'ws_manager_message_gaps_total',
      help: 'Sequence-id gaps detected in streams that carry sequence ids',
      registers,
    });
    this.missedMessages = new Counter({
      name: 'ws_manager_missed_messages_total',
      help: 'Events missed inside detected gaps (sum of gap sizes)',
      registers,
    });
    this.errors = new Counter({
      name: 'ws_manager_errors_total',
      help: 'Errors by reason',
      labelNames: ['reason'],
      registers,
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
    });
    this.refilledEvents = new Counter({
      name: 'ws_manager_refilled_events_total',
      help: 'Events delivered from the exchange history instead of being reported missed',
      registers,
    });
    this.refillFailures = new Counter({
      name: 'ws_manager_refill_failures_total',
      help: 'Gaps that could not be refilled and were reported, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.info.set({ implementation }, 1);
    this.healthy.set(1);
    for (const reason of REFILL_FAILURE_REASONS) this.refillFailures.inc({ reason }, 0);
    // Zero every labelled series so rate() sees them from the first scrape.
    for (const reason of ERROR_REASONS) this.errors.inc({ reason }, 0);
    for (const reason of CLEANUP_REASONS) this.streamCleanupsByReason.inc({ reason }, 0);
  }

  /** Sets the open-connection gauge and raises the high water mark when needed. */
  setActiveConnections(n: number): void {
    this.activeConnections.set(n);
    if (n > this.hwm) {
      this.hwm = n;
      this.activeConnectionsHwm.set(n);
    }
  }

  get activeConnectionsHighWaterMark(): number {
    return this.hwm;
  }

  /** Counts one stream released upstream. */
  cleanedUp(reason: CleanupReason, count = 1): void {
    if (count <= 0) return;
    this.streamCleanups.inc(count);
    this.streamCleanupsByReason.inc({ reason }, count);
  }

  error(reason: ErrorReason): void {
    this.errors.inc({ reason });
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
