/**
 * The pre-migration baseline behind the `StreamSource` interface (selected by USE_NEW_WS_MANAGER=false):
 * every subscriber gets its own raw `${url}/ws/<stream>` socket, reconnected after a fixed delay, with no
 * sharing, no idle grace and no stall recovery: a socket that falls silent stays open, but the health
 * verdict says so once it has been silent past `stallTimeoutMs`, so probes do not report a dead feed as
 * ready. It is held to the exchange's connection-attempt budget
 * and Retry-After like WSManager (the shared UpstreamAdmission), and exports the same metrics
 * (ManagerMetrics) so the canary compares like with like.
 */
import { Registry } from 'prom-client';
import { ErrorCodes, InvalidArgumentError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import type {
  ConnectionInfo,
  HealthVerdict,
  Listener,
  SourceMetrics,
  StreamInfo,
  StreamSource,
  Unsubscribe,
  UpstreamSocketMetrics,
} from '../core/stream-source.js';
import { subscriberOf } from '../core/subscriber.js';
import { SubscriberList } from '../core/subscriber-list.js';
import type { Exchange } from '../exchange/exchange.js';
import { UpstreamAdmission } from '../limits/upstream-admission.js';
import { DEFAULT_EXCHANGE } from '../manager/default-exchange.js';
import { ManagerMetrics } from '../metrics/manager-metrics.js';
import { LegacySubscription } from './legacy-subscription.js';

export interface LegacyStreamSourceOptions {
  /** The venue. @default binance */
  exchange?: Exchange;
  /** Upstream base URL such as `wss://stream.binance.com:9443`; sockets open `${url}/ws/<stream>` (Binance). */
  url: string;
  /** @default a new Registry of its own */
  registry?: Registry;
  /** @default silent */
  logger?: Logger;
  /** Fixed delay before every reconnect, with no jitter and no attempt limit. @default 5000 */
  reconnectDelayMs?: number;
  /** A subscription without an open socket for longer than this makes the source unhealthy. @default 30000 */
  healthGraceMs?: number;
  /**
   * An open socket that received nothing (no event, no ping) for longer than this makes the source
   * unhealthy; the socket is not replaced (the legacy code never was). @default 50000
   */
  stallTimeoutMs?: number;
  /**
   * Upgrade attempts allowed in any rolling window, shared by every subscription; beyond it attempts
   * wait. @default the exchange's (Binance: 300 per 300000 ms)
   */
  connectionAttempts?: { limit?: number; windowMs?: number };
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

export class LegacyStreamSource implements StreamSource {
  readonly implementation = 'Legacy' as const;
  readonly metrics: ManagerMetrics;
  readonly exchange: Exchange;
  private readonly subscriptions = new SubscriberList<LegacySubscription>();
  /** Subscriptions per stream and open sockets, kept as counts so a change costs O(1), not O(subscriptions). */
  private readonly perStream = new Map<string, number>();
  private openSockets = 0;
  private readonly url: string;
  private readonly logger: Logger;
  private readonly reconnectDelayMs: number;
  private readonly healthGraceMs: number;
  private readonly stallTimeoutMs: number;
  private readonly now: () => number;
  private readonly admission: UpstreamAdmission;
  private nextId = 1;
  private destroyed = false;

  constructor(options: LegacyStreamSourceOptions) {
    if (typeof options?.url !== 'string' || !/^wss?:\/\//.test(options.url)) {
      throw invalidOption('url', 'a ws:// or wss:// URL', options?.url);
    }
    this.url = options.url.replace(/\/+$/, '');
    this.exchange = options.exchange ?? DEFAULT_EXCHANGE;
    const { connectionAttempts } = this.exchange.limits;
    this.reconnectDelayMs = positiveInteger('reconnectDelayMs', options.reconnectDelayMs, 5000);
    this.healthGraceMs = positiveInteger('healthGraceMs', options.healthGraceMs, 30_000);
    this.stallTimeoutMs = positiveInteger('stallTimeoutMs', options.stallTimeoutMs, 50_000);
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
    this.metrics = new ManagerMetrics(options.registry ?? new Registry(), 'Legacy');
    this.admission = new UpstreamAdmission({
      limit: positiveInteger(
        'connectionAttempts.limit',
        options.connectionAttempts?.limit,
        connectionAttempts.limit,
      ),
      windowMs: positiveInteger(
        'connectionAttempts.windowMs',
        options.connectionAttempts?.windowMs,
        connectionAttempts.windowMs,
      ),
      name: this.implementation,
      logger: this.logger,
      now: this.now,
      meter: this.metrics,
    });
    this.metrics.watchAdmission(this.admission);
  }

  subscribe(stream: string, listener: Listener): Unsubscribe {
    const subscriber = subscriberOf(
      'LegacyStreamSource',
      this.destroyed,
      this.exchange.streams,
      stream,
      listener,
    );
    const subscription = new LegacySubscription(`legacy-${this.nextId++}`, stream, subscriber, {
      url: this.url,
      exchange: this.exchange,
      reconnectDelayMs: this.reconnectDelayMs,
      admission: this.admission,
      metrics: this.metrics,
      logger: this.logger,
      now: this.now,
      onConnectionChange: (open) => {
        this.openSockets += open ? 1 : -1;
        this.recount();
      },
    });
    const remove = this.subscriptions.add(subscription);
    this.perStream.set(stream, (this.perStream.get(stream) ?? 0) + 1);
    this.metrics.created();
    this.recount();
    return () => {
      if (!remove()) return;
      const left = (this.perStream.get(stream) ?? 1) - 1;
      if (left === 0) this.perStream.delete(stream);
      else this.perStream.set(stream, left);
      subscription.close();
      // The legacy code closed the socket as soon as its subscriber left: no idle grace.
      this.metrics.cleanedUp('idle');
      this.recount();
    };
  }

  listStreams(): StreamInfo[] {
    const byStream = new Map<string, LegacySubscription[]>();
    for (const s of this.subscriptions.members) {
      const list = byStream.get(s.stream);
      if (list) list.push(s);
      else byStream.set(s.stream, [s]);
    }
    return [...byStream].map(([stream, subs]) => ({
      stream,
      subscribers: subs.length,
      connection: subs.find((s) => s.isOpen)?.id,
      lastMessageAt: max(subs.map((s) => s.lastMessageAt)),
      idleMs: undefined,
      messages: subs.reduce((n, s) => n + s.messages, 0),
    }));
  }

  /** One row per subscription: the legacy code opened a socket for each. */
  connections(): ConnectionInfo[] {
    return this.subscriptions.members.map((s) => ({
      id: s.id,
      state: s.state,
      streams: 1,
      openedAt: s.isOpen ? s.openedAt : undefined,
      lastMessageAt: s.lastMessageAt,
      retries: s.retries,
    }));
  }

  /** The legacy code released streams the moment their subscriber left, so nothing is ever idle. */
  forceCleanupIdleStreams(_idleMs = 0): number {
    return 0;
  }

  health(): HealthVerdict {
    let verdict: HealthVerdict = { healthy: true, reason: undefined };
    if (this.destroyed) verdict = { healthy: false, reason: 'destroyed' };
    else {
      const now = this.now();
      const paused = this.subscriptions.size > 0 ? this.admission.pauseReason(now) : undefined;
      if (paused !== undefined) verdict = { healthy: false, reason: paused };
      for (const s of paused === undefined ? this.subscriptions.members : []) {
        const reason = this.unhealthyReason(s, now);
        if (reason !== undefined) {
          verdict = { healthy: false, reason };
          break;
        }
      }
    }
    this.metrics.healthy.set(verdict.healthy ? 1 : 0);
    return verdict;
  }

  /** Why `s` makes the source unhealthy at `now`: down past the grace period, or open but silent past the stall timeout. */
  private unhealthyReason(s: LegacySubscription, now: number): string | undefined {
    if (s.downSince !== undefined && now - s.downSince > this.healthGraceMs)
      return `upstream down for more than ${Math.round(this.healthGraceMs / 1000)} s (${s.stream})`;
    if (s.isOpen && s.lastTrafficAt !== undefined && now - s.lastTrafficAt > this.stallTimeoutMs)
      return `upstream silent for more than ${Math.round(this.stallTimeoutMs / 1000)} s (${s.stream})`;
    return undefined;
  }

  getMetrics(): SourceMetrics & UpstreamSocketMetrics {
    const verdict = this.health();
    const counts = this.metrics.counts;
    return {
      implementation: this.implementation,
      activeConnections: this.openSockets,
      activeConnectionsHwm: this.metrics.activeConnectionsHighWaterMark,
      retryCount: counts.retries,
      streamCreations: counts.creations,
      streamCleanups: counts.cleanups,
      activeStreams: this.perStream.size,
      idleStreams: 0,
      subscribers: this.subscriptions.size,
      messagesReceived: counts.messages,
      messageGaps: counts.gaps,
      errors: counts.errors,
      isHealthy: verdict.healthy,
      healthReason: verdict.reason,
      upstreamConnectAttempts: this.admission.attempts,
      upstreamConnectBudgetRatio: this.admission.budgetRatio(),
      upstreamRetryAfterSeconds: this.admission.pausedMs() / 1000,
      overdueIdleStreams: 0,
    };
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const subs = this.subscriptions.clear();
    this.perStream.clear();
    for (const s of subs) {
      s.close();
      s.fail('destroyed');
    }
    this.metrics.cleanedUp('destroyed', subs.length);
    this.recount();
    this.metrics.healthy.set(0);
  }

  private recount(): void {
    this.metrics.setActiveConnections(this.openSockets);
    this.metrics.streams(this.perStream.size, 0, this.subscriptions.size);
    this.metrics.overdueIdleStreams.set(0);
  }
}

function max(values: Array<number | undefined>): number | undefined {
  let m: number | undefined;
  for (const v of values) if (v !== undefined && (m === undefined || v > m)) m = v;
  return m;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw invalidOption(name, 'a positive integer', value);
  return value;
}

function invalidOption(name: string, expected: string, received: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    ErrorCodes.INVALID_OPTION,
    `option ${name} must be ${expected}, received ${JSON.stringify(received) ?? String(received)}`,
  );
}
