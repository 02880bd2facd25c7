/**
 * The upstream metrics both implementations export; their names and meanings are a contract with the
 * monitoring kit, the dashboard and the canary (listed in docs/manager.md, "Metrics").
 * One instance per implementation instance, registered in an injected prom-client Registry. Several
 * instances may share a registry (the gateway runs one WSManager per venue market): the metric families
 * are created once per registry and every series carries a `venue` label (`binance`, `bybit`, `okx`).
 * Instances of the same venue (Bybit's spot and linear managers) write one venue's series together:
 * gauges are the venue's sums (healthy is the worst of them), counters and the histogram take both
 * managers' events. The venue's connection budget ratio is thus the sum of its markets' ratios, each
 * against the venue's own limit: right for Bybit, whose limit is counted per WebSocket domain.
 * No per-stream labels: label values are small fixed sets.
 *
 * Events are counted in plain numbers (`counts`), which the counters publish when the registry is
 * collected (the gateway's pattern): the hot path pays an increment, not prom-client's bookkeeping, and
 * `getMetrics()` reads the same numbers synchronously.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Implementation } from '../core/stream-source.js';
import type { AdmissionMeter, UpstreamAdmission } from '../limits/upstream-admission.js';
import { TalliedCounter } from './tallied-counter.js';

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

/** What a manager writes into one of its venue's gauges. */
export interface GaugeWriter {
  set(value: number): void;
}

/** What a manager writes into its venue's counters and histogram (bound once, no label lookup per call). */
export interface CounterWriter {
  inc(value?: number): void;
}
export interface HistogramWriter {
  observe(value: number): void;
}

/** The default `venue` label of a manager constructed without one (the seed served Binance alone). */
export const DEFAULT_VENUE = 'binance';

/**
 * One venue's gauge: each manager of the venue writes its own slot, the series shows their fold (the
 * sum, or the minimum for health). Written on state changes, never per message.
 */
class VenueGauge {
  private readonly slots: number[] = [];

  constructor(
    private readonly series: GaugeWriter,
    private readonly fold: 'sum' | 'min',
  ) {}

  /** A slot for one more manager, starting at `initial`; `changed` sees the folded value. */
  writer(initial: number, changed?: (folded: number) => void): GaugeWriter {
    const slot = this.slots.push(initial) - 1;
    this.publish();
    return {
      set: (value) => {
        this.slots[slot] = value;
        const folded = this.publish();
        changed?.(folded);
      },
    };
  }

  private publish(): number {
    let folded = this.fold === 'min' ? Number.POSITIVE_INFINITY : 0;
    for (const value of this.slots) folded = this.fold === 'min' ? Math.min(folded, value) : folded + value;
    this.series.set(folded);
    return folded;
  }
}

/** The totals published as a counter of their own (errors only by reason; sequence resets lazily). */
type PublishedTotal = Exclude<TalliedKey, 'errors' | 'sequenceResets'>;

type SummedGauge =
  | 'activeConnections'
  | 'activeStreams'
  | 'idleStreams'
  | 'overdueIdleStreams'
  | 'subscribers';

/** A venue's gauges and its connection high water mark. */
class VenueSeries {
  readonly gauges: Record<SummedGauge | 'healthy', VenueGauge>;
  private readonly hwmSeries: GaugeWriter;
  private hwm = 0;

  constructor(families: ManagerFamilies, venue: string) {
    const labels = { venue };
    const summed = (gauge: Gauge<'venue'>) => new VenueGauge(gauge.labels(labels), 'sum');
    this.gauges = {
      activeConnections: summed(families.activeConnections),
      activeStreams: summed(families.activeStreams),
      idleStreams: summed(families.idleStreams),
      overdueIdleStreams: summed(families.overdueIdleStreams),
      subscribers: summed(families.subscribers),
      healthy: new VenueGauge(families.healthy.labels(labels), 'min'),
    };
    this.hwmSeries = families.activeConnectionsHwm.labels(labels);
    this.hwmSeries.set(0);
  }

  /** The venue's open connections changed: its high water mark follows the sum. */
  connectionsChanged(open: number): void {
    if (open > this.hwm) {
      this.hwm = open;
      this.hwmSeries.set(open);
    }
  }
}

/** The metric families of one registry, shared by every manager registered in it. */
class ManagerFamilies {
  readonly activeConnections: Gauge<'venue'>;
  readonly activeConnectionsHwm: Gauge<'venue'>;
  readonly activeStreams: Gauge<'venue'>;
  readonly idleStreams: Gauge<'venue'>;
  readonly overdueIdleStreams: Gauge<'venue'>;
  readonly subscribers: Gauge<'venue'>;
  readonly healthy: Gauge<'venue'>;
  readonly info: Gauge<'implementation'>;
  readonly reconnectDuration: Histogram<'venue'>;
  readonly upstreamConnectAttempts: Counter<'venue'>;
  readonly restRequests: Counter<'venue'>;
  readonly restWeight: Counter<'venue'>;
  readonly tallied: Record<PublishedTotal, TalliedCounter<'venue'>>;
  readonly errors: TalliedCounter<'venue' | 'reason'>;
  readonly cleanupsByReason: TalliedCounter<'venue' | 'reason'>;
  readonly refillFailures: TalliedCounter<'venue' | 'reason'>;
  /** WSManager only: the legacy baseline does not track sequence restarts. Created with the first. */
  private sequenceResetsFamily: TalliedCounter<'venue'> | undefined;
  /** The admissions whose budget and pause the gauges read at each scrape, by venue. */
  readonly admissions: { venue: string; read: () => UpstreamAdmission | undefined }[] = [];
  private readonly venues = new Map<string, VenueSeries>();

  constructor(private readonly registry: Registry) {
    const registers = [registry];
    const labelNames = ['venue'] as const;
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    const tallied = (name: string, help: string) => new TalliedCounter({ name, help, registry }, labelNames);
    const byReason = (name: string, help: string) =>
      new TalliedCounter({ name, help, registry }, ['venue', 'reason'] as const);
    this.activeConnections = gauge(
      'ws_manager_active_connections',
      'Open upstream WebSocket connections now',
    );
    this.activeConnectionsHwm = gauge(
      'ws_manager_active_connections_hwm',
      'Highest number of open upstream connections since start',
    );
    const retries = tallied(
      'ws_manager_retry_count_total',
      'Reconnect attempts scheduled after a failure or unexpected close',
    );
    const creations = tallied(
      'ws_manager_stream_creations_total',
      'Streams subscribed upstream (first subscriber arrived)',
    );
    const cleanups = tallied(
      'ws_manager_stream_cleanups_total',
      'Streams released upstream (idle grace passed, forced, or failed)',
    );
    this.cleanupsByReason = byReason(
      'ws_manager_stream_cleanups_by_reason_total',
      'Streams released upstream, by reason (idle, forced, failed, destroyed)',
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
    const messages = tallied('ws_manager_messages_received_total', 'Stream events received from upstream');
    const gaps = tallied(
      'ws_manager_message_gaps_total',
      'Sequence-id gaps detected in streams that carry sequence ids',
    );
    const missed = tallied(
      'ws_manager_missed_messages_total',
      'Events missed inside detected gaps (sum of gap sizes)',
    );
    this.errors = byReason('ws_manager_errors_total', 'Errors by reason');
    this.reconnectDuration = new Histogram({
      name: 'ws_manager_reconnect_duration_seconds',
      help: 'Time from losing an upstream connection to its replacement being open',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      labelNames,
      registers,
    });
    this.healthy = gauge(
      'ws_manager_healthy',
      "1 when the venue's upstream is healthy, 0 when not (HEAD /api/ws/metrics folds every venue's verdict)",
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
    // Read from the watched admissions at each scrape, folded per venue.
    const admissions = this.admissions;
    const admissionGauge = (
      name: string,
      help: string,
      read: (a: UpstreamAdmission) => number,
      fold: (a: number, b: number) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          const byVenue = new Map<string, number>();
          for (const { venue, read: admission } of admissions) {
            const a = admission();
            if (a === undefined) continue;
            const before = byVenue.get(venue);
            byVenue.set(venue, before === undefined ? read(a) : fold(before, read(a)));
          }
          for (const [venue, value] of byVenue) this.set({ venue }, value);
        },
      });
    admissionGauge(
      'ws_manager_upstream_connect_budget_ratio',
      "Upstream connection attempts in the venue's rolling window over its limit (Binance: 300 per 5 min per IP; Bybit: 500 per 5 min per domain, its markets summed); 1 = spent",
      (a) => a.budgetRatio(),
      (a, b) => a + b,
    );
    admissionGauge(
      'ws_manager_upstream_retry_after_seconds',
      'Seconds until upstream connection attempts may resume after a 429/418/503 Retry-After; 0 when allowed',
      (a) => a.pausedMs() / 1000,
      Math.max,
    );
    this.restRequests = counter(
      'ws_manager_rest_requests_total',
      'REST requests sent to the exchange (gap refills, order-book snapshots)',
    );
    this.restWeight = counter(
      'ws_manager_rest_weight_used_total',
      'Exchange request weight those REST requests cost',
    );
    const refills = tallied(
      'ws_manager_refills_total',
      'Gaps refilled from the exchange history (in whole or in part)',
    );
    const refilledEvents = tallied(
      'ws_manager_refilled_events_total',
      'Events delivered from the exchange history instead of being reported missed',
    );
    this.refillFailures = byReason(
      'ws_manager_refill_failures_total',
      'Gaps that could not be refilled and were reported, by reason',
    );
    this.tallied = {
      retries,
      creations,
      cleanups,
      messages,
      gaps,
      missed,
      refills,
      refilledEvents,
    };
  }

  /** The series of `venue`, created with its first manager. */
  venue(venue: string): VenueSeries {
    let series = this.venues.get(venue);
    if (series === undefined) {
      series = new VenueSeries(this, venue);
      this.venues.set(venue, series);
    }
    return series;
  }

  get sequenceResets(): TalliedCounter<'venue'> {
    this.sequenceResetsFamily ??= new TalliedCounter(
      {
        name: 'ws_manager_sequence_resets_total',
        help: 'Streams whose sequence ids went back after a reconnect (upstream restarted); tracking restarted',
        registry: this.registry,
      },
      ['venue'] as const,
    );
    return this.sequenceResetsFamily;
  }
}

const familiesOf = new WeakMap<Registry, ManagerFamilies>();

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
  /** This manager's share of its venue's series, bound once here. */
  readonly activeStreams: GaugeWriter;
  readonly idleStreams: GaugeWriter;
  readonly overdueIdleStreams: GaugeWriter;
  readonly subscribers: GaugeWriter;
  readonly healthy: GaugeWriter;
  readonly reconnectDuration: HistogramWriter;
  readonly upstreamConnectAttempts: CounterWriter;
  readonly restRequests: CounterWriter;
  readonly restWeight: CounterWriter;
  /** The `venue` label this manager's series carry. */
  readonly venue: string;
  private readonly activeConnections: GaugeWriter;
  private hwm = 0;
  private connections = 0;
  private admission: UpstreamAdmission | undefined;

  /**
   * @param venue the `venue` label: the exchange adapter's name (`binance`, `bybit`, `okx`); managers of
   *   the same venue in one registry add up into its series.
   */
  constructor(registry: Registry, implementation: Implementation, venue: string = DEFAULT_VENUE) {
    let families = familiesOf.get(registry);
    if (families === undefined) {
      families = new ManagerFamilies(registry);
      familiesOf.set(registry, families);
    }
    this.venue = venue;
    const labels = { venue };
    const series = families.venue(venue);
    const counts = this.counts;
    for (const key of Object.keys(families.tallied) as PublishedTotal[]) {
      families.tallied[key].add(labels, () => counts[key]);
    }
    const byReason = <R extends string>(
      family: TalliedCounter<'venue' | 'reason'>,
      totals: Record<R, number>,
      reasons: readonly R[],
    ) => {
      for (const reason of reasons) family.add({ venue, reason }, () => totals[reason]);
    };
    byReason(families.errors, counts.errorsByReason, ERROR_REASONS);
    byReason(families.cleanupsByReason, counts.cleanupsByReason, CLEANUP_REASONS);
    byReason(families.refillFailures, counts.refillFailures, REFILL_FAILURE_REASONS);
    if (implementation === 'WSManager') families.sequenceResets.add(labels, () => counts.sequenceResets);
    const { gauges } = series;
    this.activeConnections = gauges.activeConnections.writer(0, (open) => series.connectionsChanged(open));
    this.activeStreams = gauges.activeStreams.writer(0);
    this.idleStreams = gauges.idleStreams.writer(0);
    this.overdueIdleStreams = gauges.overdueIdleStreams.writer(0);
    this.subscribers = gauges.subscribers.writer(0);
    this.healthy = gauges.healthy.writer(1);
    // Every series exists from the start, at 0, as with one unlabelled manager.
    families.reconnectDuration.zero(labels);
    this.reconnectDuration = families.reconnectDuration.labels(labels);
    this.upstreamConnectAttempts = families.upstreamConnectAttempts.labels(labels);
    this.upstreamConnectAttempts.inc(0);
    this.restRequests = families.restRequests.labels(labels);
    this.restRequests.inc(0);
    this.restWeight = families.restWeight.labels(labels);
    this.restWeight.inc(0);
    families.admissions.push({ venue, read: () => this.admission });
    families.info.set({ implementation }, 1);
  }

  /** Open upstream connections now, as last set. */
  get openConnections(): number {
    return this.connections;
  }

  /** Sets the open-connection gauge and raises the high water mark when needed. */
  setActiveConnections(n: number): void {
    this.connections = n;
    this.activeConnections.set(n);
    if (n > this.hwm) this.hwm = n;
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
