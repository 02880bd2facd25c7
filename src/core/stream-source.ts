/**
 * The interface every upstream implementation serves (WSManager, the legacy baseline, the clustered
 * NATS source), so the gateway, the metrics endpoint and the canary can treat them alike: a small core
 * every source has, and optional capabilities (`rest`, `books`) found by property, which only a source
 * that holds the exchange's REST API offers.
 */

import type { BookCapability, RestCapability } from './capabilities.js';

export type { BookCapability, RestCapability } from './capabilities.js';

import type { StreamError } from './errors.js';

/** One event of one stream as bytes, shared read-only by every subscriber of that stream. */
export interface StreamFrame {
  /** Stream name, e.g. `btcusdt@trade`. */
  readonly stream: string;
  /** The combined-stream frame bytes `{"stream":..,"data":..}`, for forwarding without re-serialising. */
  frameBytes(): Buffer;
  /** The payload bytes alone (what a raw `/ws/<stream>` client receives). */
  payloadBytes(): Buffer;
}

/** One event of one stream with its parsed payload, shared read-only by every subscriber of that stream. */
export interface StreamMessage extends StreamFrame {
  /** The event payload, parsed once per frame. Treat it as read-only: all subscribers share it. */
  readonly data: unknown;
}

/**
 * Reported when a stream's sequence ids skip: `missed` events between `expected` and `received`.
 * After a reconnect to an upstream whose ids went back (the exchange restarted its sequence), `received`
 * is below `expected` and `missed` is negative: tracking restarts there and how many events were lost
 * is unknown.
 */
export interface GapEvent {
  readonly stream: string;
  /** The first sequence id that was expected next. */
  readonly expected: number;
  /** The first sequence id actually received. */
  readonly received: number;
  /** How many events were missed (`received - expected`); negative for a sequence reset. */
  readonly missed: number;
}

/** What a subscriber gets. Only `next` is required. `T` is the payload type (see `StreamPayload`). */
export interface StreamListener<T = unknown> extends ListenerCallbacks {
  /** Absent for a listener that reads the payload; see `FrameListener`. */
  readonly frames?: false;
  /** Called for every event of the stream. An exception thrown here harms no other subscriber. */
  next(data: T, message: StreamMessage): void;
}

/**
 * A subscriber that reads only the events' bytes (the gateway forwards them as they came). A stream
 * whose subscribers are all frame listeners is routed without parsing its payloads (WSManager), so
 * none is offered; a payload that is not JSON inside a well-formed envelope is then passed on as is.
 */
export interface FrameListener extends ListenerCallbacks {
  readonly frames: true;
  /** Called for every event of the stream. An exception thrown here harms no other subscriber. */
  next(frame: StreamFrame): void;
}

/** What `StreamSource.subscribe` takes: a listener, or a plain function called as `StreamListener.next`. */
export type Listener = StreamListener | FrameListener | StreamListener['next'];

/** The calls every kind of listener may take besides `next`. */
export interface ListenerCallbacks {
  /** Called when the stream skipped events (sequence-id gap), e.g. after a reconnect. */
  gap?(gap: GapEvent): void;
  /**
   * Called once when the subscription ends for good without the subscriber asking: the exchange
   * rejected the stream, or reconnection retries were exhausted. No `next` follows.
   */
  error?(error: StreamError): void;
  /**
   * WSManager: what a gap means for this subscriber. `'backfill'` refills it from the exchange's REST
   * history when it can (the missing events arrive in order before the live ones, no `gap` call) and
   * reports it otherwise; `'report'` only reports it. Defaults to the manager's `recovery` option.
   */
  readonly recovery?: 'backfill' | 'report';
}

/** Ends a subscription. Calling it more than once is harmless. */
export type Unsubscribe = () => void;

/** A stream as the admin API lists it. */
export interface StreamInfo {
  readonly stream: string;
  readonly subscribers: number;
  /** Upstream connection id carrying the stream, or undefined while it is not subscribed upstream. */
  readonly connection: string | undefined;
  /** Epoch milliseconds of the last event, or undefined before the first. */
  readonly lastMessageAt: number | undefined;
  /** Milliseconds since the last subscriber left, or undefined while it has subscribers. */
  readonly idleMs: number | undefined;
  readonly messages: number;
}

/**
 * A point-in-time view of what every source counts; feeds the JSON metrics endpoint. A source reports
 * only what it has: the upstream socket fields ({@link UpstreamSocketMetrics}) are absent from a source
 * that opens no exchange sockets itself (the clustered source), never filled with zeros.
 */
export interface SourceMetrics {
  readonly implementation: Implementation;
  /** Open upstream connections (the clustered source: its NATS connection, 0 or 1). */
  readonly activeConnections: number;
  readonly streamCreations: number;
  readonly streamCleanups: number;
  readonly activeStreams: number;
  readonly idleStreams: number;
  readonly subscribers: number;
  readonly messagesReceived: number;
  readonly messageGaps: number;
  readonly errors: number;
  readonly isHealthy: boolean;
  readonly healthReason: string | undefined;
}

/** What a source that opens the exchange's sockets itself adds (WSManager, Legacy). */
export interface UpstreamSocketMetrics {
  readonly activeConnectionsHwm: number;
  readonly retryCount: number;
  /** Upstream upgrade attempts made since start (`ws_manager_upstream_connect_attempts_total`). */
  readonly upstreamConnectAttempts: number;
  /** Attempts in the rolling window over the limit (`ws_manager_upstream_connect_budget_ratio`). */
  readonly upstreamConnectBudgetRatio: number;
  /** Seconds until attempts may resume after a Retry-After (`ws_manager_upstream_retry_after_seconds`). */
  readonly upstreamRetryAfterSeconds: number;
  /** Idle streams whose idle grace has passed but that are still held upstream (cleanup lag). */
  readonly overdueIdleStreams: number;
}

/** What `StreamSource.getMetrics` returns: the common fields, and the socket fields where they exist. */
export type MetricsSnapshot = SourceMetrics & Partial<UpstreamSocketMetrics>;

/**
 * An upstream connection's state as the status page shows it. connecting: a socket is being opened;
 * open: it serves; rotating: it serves while a second socket opens to replace it; waiting: a retry or
 * the attempt budget's pause is pending; reconnecting: the broker connection is being restored (the
 * NATS source); failed: retries exhausted; closed: released.
 */
export type UpstreamState =
  | 'connecting'
  | 'open'
  | 'rotating'
  | 'waiting'
  | 'reconnecting'
  | 'failed'
  | 'closed';

/** One upstream connection as the status page lists it (Legacy: one per subscription socket). */
export interface ConnectionInfo {
  readonly id: string;
  readonly state: UpstreamState;
  /** Streams this connection carries (or should carry, while it reconnects). */
  readonly streams: number;
  /** Epoch ms when the socket serving now opened, or undefined while none is open. */
  readonly openedAt: number | undefined;
  /** Epoch ms of the last event on any of its streams, or undefined before the first. */
  readonly lastMessageAt: number | undefined;
  /** Consecutive failed attempts to restore it (0 once it is back and stable). */
  readonly retries: number;
}

export type Implementation = 'WSManager' | 'Legacy';

export interface HealthVerdict {
  readonly healthy: boolean;
  /** Why it is unhealthy; undefined when healthy. */
  readonly reason: string | undefined;
}

/** What the gateway needs from an upstream implementation. */
export interface StreamSource {
  /** The implementation's name, the `implementation` label of the metrics. */
  readonly implementation: Implementation;
  /**
   * True when all subscribers of a stream share one upstream subscription, which outlives the last of
   * them by an idle grace that `forceCleanupIdleStreams` can cut short (WSManager, the NATS source).
   * Absent or false: each subscription is its own upstream subscription, released with it (Legacy).
   */
  readonly sharesUpstream?: boolean | undefined;
  /**
   * Subscribes to a stream; the first subscriber makes the upstream subscription.
   * @throws TypeError with code `WS_ERR_INVALID_STREAM` for a name outside the Binance grammar.
   */
  subscribe(stream: string, listener: StreamListener | StreamListener['next']): Unsubscribe;
  /** Subscribes a listener of the events' bytes alone (see `FrameListener`). */
  subscribe(stream: string, listener: FrameListener): Unsubscribe;
  /** Streams known now, with subscribers and idle ones awaiting cleanup. */
  listStreams(): StreamInfo[];
  /** Upstream connections now, read-only, for the status page. */
  connections(): ConnectionInfo[];
  /**
   * The first `limit` streams in `busiest` order (core/busiest-streams.ts), for the status page: a
   * source with thousands of streams ranks them without listing each. Absent: ranked from `listStreams`.
   */
  busiestStreams?(limit: number): StreamInfo[];
  /** Releases streams idle for at least `idleMs` (default 0: every idle stream) now; returns how many. */
  forceCleanupIdleStreams(idleMs?: number): number;
  getMetrics(): MetricsSnapshot;
  health(): HealthVerdict;
  /** Closes every connection and timer; subscribers are released. Safe to call twice. */
  destroy(): Promise<void>;
  /** The exchange's REST API, when the source holds it (WSManager with a REST base). */
  readonly rest?: RestCapability | undefined;
  /** Local order books, when the source keeps them (WSManager with a REST base). */
  readonly books?: BookCapability | undefined;
}
