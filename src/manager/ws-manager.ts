/**
 * WSManager: shared, self-healing upstream market streams. All subscribers of a stream share one
 * upstream subscription; streams are packed onto few combined-stream connections that reconnect,
 * resubscribe and rotate on their own. See docs/manager.md.
 */

import type { OrderBookListener } from '../core/capabilities.js';
import { describeValue, ErrorCodes, InvalidArgumentError, StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type {
  BookCapability,
  ConnectionInfo,
  FrameListener,
  HealthVerdict,
  Implementation,
  Listener,
  SourceMetrics,
  StreamInfo,
  StreamListener,
  StreamSource,
  Unsubscribe,
  UpstreamSocketMetrics,
} from '../core/stream-source.js';
import { readsPayload, subscriberOf } from '../core/subscriber.js';
import type { Exchange } from '../exchange/exchange.js';
import { UpstreamAdmission } from '../limits/upstream-admission.js';
import { ManagerMetrics } from '../metrics/manager-metrics.js';
import { ConnectionPool } from './connection-pool.js';
import { connectionRows } from './connection-rows.js';
import type { DefaultStreamPayload } from './default-exchange.js';
import { type ObservableConstructor, type StreamObservable, toObservable } from './observable.js';
import type { ResolvedOptions, WSManagerOptions } from './options.js';
import { resolveOptions } from './resolve-options.js';
import { RestClient } from './rest-client.js';
import { SharedBooks } from './shared-books.js';
import { StreamIterator, type StreamIteratorOptions } from './stream-iterator.js';
import { StreamRegistry } from './stream-registry.js';
import type { ConnectionHooks, UpstreamConnection } from './upstream-connection.js';
import { type SocketCause, socketCauseText } from './upstream-socket.js';

/** Housekeeping (coarse clock for listings, health and cleanup-lag gauges) runs at most this often. */
const HOUSEKEEPING_MAX_MS = 1000;

export class WSManager implements StreamSource {
  readonly implementation: Implementation = 'WSManager';
  readonly sharesUpstream = true;
  /** The venue this manager reads (`options.exchange`). */
  readonly exchange: Exchange;
  private readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly metrics: ManagerMetrics;
  private readonly streams: StreamRegistry;
  private readonly pool: ConnectionPool;
  private readonly admission: UpstreamAdmission;
  private readonly housekeeping: NodeJS.Timeout;
  /**
   * The exchange's REST API (its REST base and the weight budget shared by refills and snapshots), or
   * undefined when no REST base is known. The gateway forwards REST calls through it.
   * @internal
   */
  readonly rest: RestClient | undefined;
  /** Local order books for the gateway's depth route; present with a REST base, as `orderBook` needs it. */
  readonly books: BookCapability | undefined;
  /** Local order books, each shared by all its subscribers; made with the first. */
  private sharedBooks: SharedBooks | undefined;
  private destroyed = false;
  /** A frame listener has subscribed: the frame reader looks for streams it may leave unparsed. */
  private frameListened = false;
  private destroying: Promise<void> | undefined;
  private exhaustedCause: SocketCause | undefined;
  private serial = 0;

  /** @throws InvalidArgumentError (a TypeError) with code `WS_ERR_INVALID_OPTION` naming the bad option. */
  constructor(options: WSManagerOptions) {
    this.options = resolveOptions(options);
    const { registry, logger, exchange } = this.options;
    this.exchange = exchange;
    this.logger = logger;
    this.metrics = new ManagerMetrics(registry, 'WSManager', exchange.name);
    const rest =
      this.options.restUrl === undefined
        ? undefined
        : new RestClient({
            baseUrl: this.options.restUrl,
            weightPerMinute: this.options.restWeightPerMinute,
            now: this.options.now,
            logger,
            metrics: this.metrics,
            usedWeightHeader: exchange.limits.usedWeightHeader,
          });
    this.rest = rest;
    this.books =
      rest === undefined
        ? undefined
        : { orderBook: (symbol, depth, listener) => this.orderBook(symbol, listener, { depth }) };
    this.streams = new StreamRegistry(
      this.metrics,
      logger,
      this.options.idleGraceMs,
      this.options.now,
      exchange,
      {
        onCreate: (stream) => this.pool.add(stream),
        onRelease: (stream, _reason, carrier) => this.pool.remove(stream, carrier),
        refill: (stream, from, to) => {
          if (rest === undefined || stream.symbol === undefined) return undefined;
          if (exchange.history.refillBy(stream.kind) === undefined) return undefined;
          return exchange.history.fetch(rest, stream, from, to);
        },
        resume: (stream, lastSeen, firstLive) => {
          const resume = exchange.history.resume;
          if (rest === undefined || resume === undefined || !resume.kinds.has(stream.kind)) return undefined;
          return resume.fetch(rest, stream, lastSeen, firstLive);
        },
      },
      this.options.recovery === 'backfill',
    );
    this.admission = new UpstreamAdmission({
      limit: this.options.connectionAttempts.limit,
      windowMs: this.options.connectionAttempts.windowMs,
      name: this.implementation,
      logger,
      now: this.options.now,
      meter: this.metrics,
    });
    this.metrics.watchAdmission(this.admission);
    this.pool = new ConnectionPool(
      {
        options: this.options,
        admission: this.admission,
        metrics: this.metrics,
        logger,
        hooks: this.connectionHooks(),
        nextSerial: () => ++this.serial,
      },
      this.options.maxStreamsPerConnection,
    );
    const every = Math.max(10, Math.min(HOUSEKEEPING_MAX_MS, Math.floor(this.options.healthGraceMs / 2)));
    this.housekeeping = setInterval(() => this.refresh(), every);
    // Housekeeping alone never keeps the process alive; open sockets and pending work do.
    this.housekeeping.unref();
  }

  /**
   * Subscribes to `stream`. The first subscriber subscribes upstream; later ones share it.
   * @param listener a function called with each payload, or a `StreamListener` with `next`, `gap`, `error`.
   * @returns an idempotent unsubscribe function.
   * @throws InvalidArgumentError `WS_ERR_INVALID_STREAM` for a name outside the exchange's grammar,
   *   `WS_ERR_INVALID_ARGUMENT` for a listener without `next`; StreamError `WS_ERR_DESTROYED` after destroy().
   */
  subscribe<S extends string>(
    stream: S,
    listener: StreamListener<DefaultStreamPayload<S>> | StreamListener<DefaultStreamPayload<S>>['next'],
  ): Unsubscribe;
  subscribe(stream: string, listener: FrameListener): Unsubscribe;
  subscribe(stream: string, listener: Listener): Unsubscribe {
    const subscriber = subscriberOf('WSManager', this.destroyed, this.exchange.streams, stream, listener);
    if (!readsPayload(subscriber)) this.frameListened = true;
    // A plain function is held and called as is: no object per subscriber, no hop per event.
    return this.streams.add(stream, typeof listener === 'function' ? listener : subscriber);
  }

  /**
   * Subscribes to a local order book of `symbol` kept from the exchange's diff stream and REST
   * snapshots (its documented procedure; resynchronised by itself after any gap). Subscribers of
   * the same symbol and depth share one book. `listener` is a function called with the book after each
   * update, or an `OrderBookListener` (`next`, `resynced`, `error`).
   * @param options.depth levels per side (the snapshot's `limit`), 1 to the exchange's maximum (Binance:
   *   5000). @default 1000
   * @throws InvalidArgumentError for a bad symbol, depth or listener, or without a REST base URL.
   */
  orderBook(
    symbol: string,
    listener: OrderBookListener | OrderBookListener['next'],
    options: { depth?: number } = {},
  ): Unsubscribe {
    if (this.destroyed) {
      throw new StreamError(
        ErrorCodes.DESTROYED,
        String(symbol),
        'WSManager.orderBook() called after destroy()',
      );
    }
    const { streams, book: procedure } = this.exchange;
    if (!streams.isSymbol(symbol)) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `WSManager.orderBook(symbol): symbol must be ${streams.symbolRule}; received ${describeValue(symbol)}`,
      );
    }
    const maxDepth = procedure.maxDepth;
    const depth = options?.depth ?? Math.min(1000, maxDepth);
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1 || depth > maxDepth) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `WSManager.orderBook(${JSON.stringify(symbol)}): depth must be an integer from 1 to ${maxDepth} (the snapshot limit); received ${describeValue(depth)}`,
      );
    }
    const l: OrderBookListener = typeof listener === 'function' ? { next: listener } : listener;
    if (typeof l !== 'object' || l === null || typeof l.next !== 'function') {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `WSManager.orderBook(${JSON.stringify(symbol)}, listener): listener must be a function or an object with a next() method; received ${describeValue(listener)}`,
      );
    }
    const rest = this.rest;
    if (rest === undefined) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `WSManager.orderBook() needs the exchange's REST API for snapshots: no REST base is known for ${this.options.url}; set the "restUrl" option`,
      );
    }
    this.sharedBooks ??= new SharedBooks({
      subscribe: (stream, listener) => this.subscribe(stream, listener),
      procedure,
      snapshot: (symbol, depth) => procedure.fetchSnapshot(rest, symbol, depth),
      logger: this.logger,
      refresh: (stream) => this.streams.carrierOf(stream)?.refresh(stream),
    });
    return this.sharedBooks.add(symbol, depth, l);
  }

  /**
   * `stream` as an Observable of payloads: pass rxjs's `Observable` to get one of rxjs, or omit it
   * and use rxjs `from()` on the result.
   */
  observable(stream: string): StreamObservable;
  observable<O>(stream: string, Observable: ObservableConstructor<O>): O;
  observable<O>(stream: string, Observable?: ObservableConstructor<O>): StreamObservable | O {
    return Observable === undefined ? toObservable(this, stream) : toObservable(this, stream, Observable);
  }

  /** `stream` as an async iterator of payloads with a bounded buffer (see `StreamIteratorOptions`). */
  iterate(stream: string, options?: StreamIteratorOptions): StreamIterator {
    return new StreamIterator(this, stream, options);
  }

  listStreams(): StreamInfo[] {
    return this.streams.list();
  }

  /** The upstream connections now, one row each (read-only). */
  connections(): ConnectionInfo[] {
    return connectionRows(this.pool.all(), this.streams.lastMessageByConnection());
  }

  /** The first `limit` streams, most subscribers first (see `StreamSource.busiestStreams`). */
  busiestStreams(limit: number): StreamInfo[] {
    return this.streams.busiest(limit);
  }

  /** Releases streams idle (no subscriber) for at least `idleMs` now; returns how many. */
  forceCleanupIdleStreams(idleMs = 0): number {
    if (typeof idleMs !== 'number' || !(idleMs >= 0)) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `forceCleanupIdleStreams(idleMs): idleMs must be a number >= 0; received ${describeValue(idleMs)}`,
      );
    }
    const released = this.streams.releaseIdle(idleMs, 'forced');
    this.refresh();
    return released;
  }

  getMetrics(): SourceMetrics & UpstreamSocketMetrics {
    const verdict = this.health();
    return {
      implementation: this.implementation,
      activeConnections: this.metrics.openConnections,
      activeConnectionsHwm: this.metrics.activeConnectionsHighWaterMark,
      retryCount: this.metrics.counts.retries,
      streamCreations: this.metrics.counts.creations,
      streamCleanups: this.metrics.counts.cleanups,
      activeStreams: this.streams.size,
      idleStreams: this.streams.idle,
      subscribers: this.streams.subscribers,
      messagesReceived: this.metrics.counts.messages,
      messageGaps: this.metrics.counts.gaps,
      errors: this.metrics.counts.errors,
      isHealthy: verdict.healthy,
      healthReason: verdict.reason,
      upstreamConnectAttempts: this.admission.attempts,
      upstreamConnectBudgetRatio: this.admission.budgetRatio(),
      upstreamRetryAfterSeconds: this.admission.pausedMs() / 1000,
      overdueIdleStreams: this.streams.overdueIdle(),
    };
  }

  /**
   * Unhealthy when destroyed, when a connection exhausted its retries (until a connection opens
   * again), while the upstream's Retry-After stops every attempt and streams are wanted, or when a
   * connection that carries streams has been down longer than `healthGraceMs` (waiting for backoff,
   * the attempt budget or Retry-After; a stalled connection counts as down since it fell silent).
   * Healthy when idle with no streams.
   */
  health(): HealthVerdict {
    const verdict = this.judgeHealth();
    this.metrics.healthy.set(verdict.healthy ? 1 : 0);
    return verdict;
  }

  /** Closes every connection and timer; subscribers get `error` with `WS_ERR_DESTROYED`. Safe to call twice. */
  destroy(): Promise<void> {
    if (this.destroying !== undefined) return this.destroying;
    this.destroyed = true;
    clearInterval(this.housekeeping);
    // Close the connections before releasing the streams: releasing empties connections, and the pool
    // would drop those on its own, outside the close this promise waits for.
    const closed = this.pool.closeAll('destroyed');
    this.streams.destroyAll(
      (stream) =>
        new StreamError(ErrorCodes.DESTROYED, stream, `WSManager destroyed while ${stream} was subscribed`),
    );
    this.destroying = closed.then(() => {
      this.metrics.setActiveConnections(0);
      this.health();
      this.logger.info('WSManager destroyed');
    });
    return this.destroying;
  }

  private judgeHealth(): HealthVerdict {
    if (this.destroyed) return { healthy: false, reason: 'destroyed' };
    if (this.exhaustedCause !== undefined) {
      return {
        healthy: false,
        reason: `reconnection retries exhausted (last cause: ${socketCauseText(this.exhaustedCause)})`,
      };
    }
    const now = this.options.now();
    const paused = this.admission.pauseReason(now);
    if (paused !== undefined && this.pool.all().some((c) => c.wanted.size > 0))
      return { healthy: false, reason: paused };
    for (const connection of this.pool.all()) {
      if (connection.downSince === undefined || connection.wanted.size === 0) continue;
      const downMs = now - connection.downSince;
      if (downMs > this.options.healthGraceMs) {
        return {
          healthy: false,
          reason: `upstream connection ${connection.id} down for ${downMs} ms (grace ${this.options.healthGraceMs} ms)`,
        };
      }
    }
    return { healthy: true, reason: undefined };
  }

  private refresh(): void {
    this.streams.coarseNow = this.options.now();
    this.metrics.overdueIdleStreams.set(this.streams.overdueIdle());
    this.health();
  }

  private countOpenSockets(): void {
    let open = 0;
    for (const connection of this.pool.all()) open += connection.openSockets();
    this.metrics.setActiveConnections(open);
  }

  private connectionHooks(): ConnectionHooks {
    return {
      onFrame: (socket, stream, data, frame) => this.streams.dispatch(socket, stream, data, frame),
      mayLeaveUnparsed: () => this.frameListened,
      readsData: (stream) => this.streams.readsData(stream),
      onUnparsedFrame: (socket, stream, frame, start, end) =>
        this.streams.dispatchUnparsed(socket, stream, frame, start, end),
      onStateChange: () => this.health(),
      onSocketOpen: (_connection, downForMs) => {
        this.exhaustedCause = undefined;
        if (downForMs !== undefined) this.metrics.reconnectDuration.observe(downForMs / 1000);
        this.countOpenSockets();
        this.health();
      },
      onSocketClosed: (connection, end) => {
        this.countOpenSockets();
        if (end.reason !== undefined && !this.destroyed) {
          this.metrics.error(end.reason);
          this.logger.warn(
            {
              connection: connection.id,
              code: end.code,
              cause: socketCauseText(end.cause),
              reason: end.reason,
            },
            'WSManager upstream socket ended unexpectedly',
          );
        }
      },
      onRejected: (connection, stream, error) => this.rejected(connection, stream, error),
      onExhausted: (connection, cause) => this.exhausted(connection, cause),
      onMalformed: (connection, detail) => {
        this.metrics.error('malformed_frame');
        this.logger.debug({ connection: connection.id, detail }, 'WSManager skipped a malformed frame');
      },
    };
  }

  private rejected(
    connection: UpstreamConnection,
    stream: string,
    error: { code: unknown; msg: unknown },
  ): void {
    this.metrics.error('subscribe_rejected');
    this.logger.warn(
      { connection: connection.id, stream, error },
      'WSManager SUBSCRIBE rejected by the exchange',
    );
    const message = `The exchange rejected SUBSCRIBE ${stream}: code ${String(error.code)} ${String(error.msg)}`;
    this.streams.fail(
      stream,
      new StreamError(ErrorCodes.SUBSCRIBE_REJECTED, stream, message, { cause: error }),
      'failed',
    );
  }

  private exhausted(connection: UpstreamConnection, cause: SocketCause): void {
    this.exhaustedCause = cause;
    this.metrics.error('retries_exhausted');
    const streams = [...connection.wanted];
    const causeText = socketCauseText(cause);
    this.logger.error(
      { connection: connection.id, streams: streams.length, cause: causeText },
      'WSManager retries exhausted; ending its streams',
    );
    void this.pool.drop(connection, 'retries_exhausted');
    for (const stream of streams) {
      const message = `Reconnecting the upstream connection of ${stream} failed ${this.options.retry.maxAttempts} times; last cause: ${causeText}`;
      this.streams.fail(stream, new StreamError(ErrorCodes.RETRIES_EXHAUSTED, stream, message), 'failed');
    }
    this.health();
  }
}
