/**
 * Accepts downstream WebSocket upgrades on the dialect's paths (Binance's `/ws`, `/ws/<stream>[/<stream>...]`,
 * `/stream`, `/stream?streams=a/b`), applies the admission checks, and keeps the heartbeat.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { normalizeOrigin } from '../config/origin.js';
import { CloseCodes } from '../core/close-codes.js';
import type { Logger } from '../core/log.js';
import { LogDigest } from '../core/log-digest.js';
import type { StreamSource } from '../core/stream-source.js';
import { TurnCorks } from '../core/ws-socket.js';
import type { Dialect } from '../exchange/dialect.js';
import { jsonError } from '../http/http-response.js';
import type { HttpRouter } from '../http/http-router.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { BucketedWindowPerKey } from '../limits/bucketed-window.js';
import { type ClientPeer, DownstreamClient, type DownstreamClientContext } from './downstream-client.js';
import type { GatewayMetrics, RejectReason } from './gateway-metrics.js';
import { SharedFrames, TurnWrites } from './shared-frames.js';
import { UpstreamStreamCap } from './upstream-stream-cap.js';

/** A venue served besides the main one: its protocol, the source of its streams, and its clients' limits. */
export interface DownstreamVenue {
  readonly dialect: Dialect;
  readonly source: StreamSource;
  /** Streams one client of this venue may hold. */
  readonly maxStreams: number;
  /** Incoming frames per second one client of this venue may send. */
  readonly maxMessagesPerSecond: number;
}

export interface DownstreamServerOptions {
  readonly source: StreamSource;
  /** The venue protocol clients speak: connection paths and control messages. */
  readonly dialect: Dialect;
  /**
   * Venues served under their own paths besides the main dialect (Bybit under `/bybit/...`): each with
   * its own source and its own MAX_UPSTREAM_STREAMS cap, as each source holds its own upstream sockets.
   */
  readonly venues?: readonly DownstreamVenue[];
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly maxClients: number;
  readonly maxStreams: number;
  readonly maxMessagesPerSecond: number;
  readonly maxPayloadBytes: number;
  /** Bytes that may wait for one client (CLIENT_SEND_QUEUE_BYTES). */
  readonly sendQueueBytes: number;
  /** Bytes that may wait for all clients together (SEND_QUEUE_TOTAL_BYTES); each gets an equal share. */
  readonly sendQueueTotalBytes: number;
  /** Upgrade attempts per remote address per 5 minutes (CLIENT_CONNECT_ATTEMPTS_PER_IP). */
  readonly connectAttemptsPerIp: number;
  /** Upstream subscriptions all clients together may cause (MAX_UPSTREAM_STREAMS; see UpstreamStreamCap). */
  readonly maxUpstreamStreams: number;
  readonly allowedOrigins: readonly string[] | undefined;
  /** Server ping period (Binance pings every 20 s). */
  readonly pingIntervalMs: number;
  /** A client that has not answered a ping for this long is dropped (Binance: 1 minute). */
  readonly pongTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly now?: () => number;
}

/** What one served venue's clients share. */
interface VenueRoute {
  readonly dialect: Dialect;
  readonly context: DownstreamClientContext;
  readonly streamCap: UpstreamStreamCap;
}

interface Admission {
  readonly combined: boolean;
  readonly streams: string[];
  readonly route: VenueRoute;
}

type Rejection = { readonly status: number; readonly reason: RejectReason; readonly message: string };

/** Seconds a refused client should wait, by status (the attempt window is too long to wait out whole). */
const RETRY_AFTER: Record<number, string> = { 429: '60', 503: '5' };

/**
 * The heartbeat pings one slice of the clients at a time, each slice once per ping interval, so that
 * tens of thousands of pings never go out in one turn of the event loop.
 */
const HEARTBEAT_SLICES = 100;

/** Clients the drain closes per event-loop turn (see `drain`). */
const DRAIN_SLICE = 500;

/**
 * Upgrades completed per event-loop turn (see `handleUpgrade`): a few tens of ms of handshakes, so that
 * thousands of clients reconnecting at once cannot hold the timers, the heartbeat and the metrics answer
 * for the whole burst.
 */
const UPGRADES_PER_TURN = 200;

/** An upgrade request waiting for its turn. */
interface PendingUpgrade {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
}

export class DownstreamServer {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<DownstreamClient>();
  /** The clients again, spread over HEARTBEAT_SLICES sets; `heartbeatSlice` is the next to ping. */
  private readonly slices: Set<DownstreamClient>[] = Array.from(
    { length: HEARTBEAT_SLICES },
    () => new Set(),
  );
  private heartbeatSlice = 0;
  private readonly heartbeat: NodeJS.Timeout;
  /** What every client of the main dialect shares (one object for the server). */
  private readonly clientContext: DownstreamClientContext;
  private readonly mainRoute: VenueRoute;
  /** The other venues, found by path on upgrade. */
  private readonly venueRoutes: readonly VenueRoute[];
  private readonly now: () => number;
  private readonly attempts: BucketedWindowPerKey;
  /** The gateway's one MAX_UPSTREAM_STREAMS cap, which the depth route's order books count against too. */
  readonly streamCap: UpstreamStreamCap;
  private readonly sendQueue: { bytes: number };
  /** ALLOWED_ORIGINS normalised as browsers send an `Origin`; undefined admits any. */
  private readonly allowedOrigins: ReadonlySet<string> | undefined;
  /** Upgrades not yet handled, oldest first; `completeUpgrades` is scheduled while it is not empty. */
  private upgrades: PendingUpgrade[] = [];
  private nextId = 1;
  private slowDisconnectsSeen = 0;
  private clientsHighWaterMark = 0;
  private draining = false;

  constructor(private readonly options: DownstreamServerOptions) {
    this.now = options.now ?? Date.now;
    this.attempts = new BucketedWindowPerKey(
      options.connectAttemptsPerIp,
      options.dialect.clientLimits.connectionAttempts.windowMs,
      this.now,
    );
    this.streamCap = new UpstreamStreamCap(options.maxUpstreamStreams, options.source);
    this.sendQueue = { bytes: options.sendQueueBytes };
    this.allowedOrigins =
      options.allowedOrigins && new Set(options.allowedOrigins.map((o) => normalizeOrigin(o) ?? o));
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayloadBytes,
    });
    this.heartbeat = setInterval(() => {
      const slice = this.slices[this.heartbeatSlice]!;
      this.heartbeatSlice = (this.heartbeatSlice + 1) % HEARTBEAT_SLICES;
      for (const client of slice) client.heartbeat(options.pongTimeoutMs);
    }, options.pingIntervalMs / HEARTBEAT_SLICES);
    this.heartbeat.unref();
    const frames = new SharedFrames();
    this.clientContext = {
      source: options.source,
      dialect: options.dialect,
      metrics: options.metrics,
      logger: options.logger,
      maxStreams: options.maxStreams,
      maxMessagesPerSecond: options.maxMessagesPerSecond,
      sendQueue: this.sendQueue,
      streamCap: this.streamCap,
      closeGraceMs: options.closeGraceMs,
      now: this.now,
      corks: new TurnCorks(),
      frames,
      writes: new TurnWrites(frames),
      logs: {
        pongTimeout: new LogDigest(options.logger, 'info', 'Client missed its pong deadline'),
        slow: new LogDigest(options.logger, 'warn', 'Closing slow client'),
        streamEnded: new LogDigest(options.logger, 'warn', 'Upstream ended a client stream'),
        messageRate: new LogDigest(options.logger, 'info', 'Client sent too many messages'),
      },
      onSubscriptionsChanged: () => {
        // Client subscriptions of every venue together.
        this.options.metrics.clientSubscriptions.set(this.subscriptions);
      },
      onClosed: (client, code, reason) => this.closed(client, code, reason),
      onSlow: () => {
        this.slowDisconnectsSeen++;
      },
    };
    this.mainRoute = { dialect: options.dialect, context: this.clientContext, streamCap: this.streamCap };
    this.venueRoutes = (options.venues ?? []).map((venue) => {
      const streamCap = new UpstreamStreamCap(options.maxUpstreamStreams, venue.source);
      const context: DownstreamClientContext = {
        ...this.clientContext,
        source: venue.source,
        dialect: venue.dialect,
        maxStreams: venue.maxStreams,
        maxMessagesPerSecond: venue.maxMessagesPerSecond,
        streamCap,
      };
      return { dialect: venue.dialect, context, streamCap };
    });
  }

  /** The venue an upgrade's target belongs to: another venue's path or prefix, else the main dialect. */
  private routeOf(target: string | undefined): VenueRoute {
    if (target === undefined || this.venueRoutes.length === 0) return this.mainRoute;
    const query = target.indexOf('?');
    const path = query < 0 ? target : target.slice(0, query);
    let prefixed: VenueRoute | undefined;
    for (const route of this.venueRoutes) {
      for (const p of route.dialect.webSocketPaths) {
        if (path === p || path.startsWith(`${p}/`)) return route;
      }
      const prefix = route.dialect.pathPrefix;
      if (prefixed === undefined && prefix !== undefined && path.startsWith(prefix)) prefixed = route;
    }
    return prefixed ?? this.mainRoute;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get subscriptions(): number {
    let total = this.streamCap.subscriptions;
    for (const route of this.venueRoutes) total += route.streamCap.subscriptions;
    return total;
  }

  /** Distinct streams the clients hold (each one upstream subscription). */
  get distinctStreams(): number {
    let total = this.streamCap.streams;
    for (const route of this.venueRoutes) total += route.streamCap.streams;
    return total;
  }

  /** What one client may have queued now: its own cap, or its share of the total when that is lower. */
  get sendQueueLimit(): number {
    return this.sendQueue.bytes;
  }

  /** Highest `clientCount` since start. */
  get clientsHwm(): number {
    return this.clientsHighWaterMark;
  }

  get slowDisconnects(): number {
    return this.slowDisconnectsSeen;
  }

  /**
   * Takes an HTTP upgrade request, to be refused with an HTTP status or handed to a new client after the
   * poll phase: UPGRADES_PER_TURN per turn, in arrival order, the rest in the turns after.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroyOnError);
    if (this.upgrades.push({ req, socket, head }) === 1) setImmediate(this.completeUpgrades);
  }

  /** Handles the oldest waiting upgrades; one scheduled at a time, again while any wait. */
  private readonly completeUpgrades = (): void => {
    const waiting = this.upgrades;
    const now = waiting.length <= UPGRADES_PER_TURN ? waiting : waiting.slice(0, UPGRADES_PER_TURN);
    this.upgrades = now === waiting ? [] : waiting.slice(UPGRADES_PER_TURN);
    if (this.upgrades.length > 0) setImmediate(this.completeUpgrades);
    for (const { req, socket, head } of now) {
      // A client that gave up while waiting has nothing left to answer.
      if (!socket.destroyed) this.upgrade(req, socket, head);
    }
  };

  /** Refuses an upgrade with an HTTP status, or hands it to a new client. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const admission = this.admit(req);
    if ('status' in admission) {
      this.options.metrics.rejectedConnections.inc({ reason: admission.reason });
      refuseUpgrade(
        socket,
        admission.status,
        { success: false, error: admission.message },
        { 'Retry-After': RETRY_AFTER[admission.status] },
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.draining) {
        ws.close(CloseCodes.GOING_AWAY, 'server shutting down');
        return;
      }
      // Other clients may have taken the last streams while this handshake completed.
      if (!admission.route.streamCap.admits(admission.streams)) {
        this.options.metrics.rejectedConnections.inc({ reason: 'upstream_streams' });
        ws.close(CloseCodes.TRY_AGAIN_LATER, 'too many streams on this server');
        return;
      }
      this.accept(ws, admission, describePeer(req));
    });
  }

  /** Takes an upgraded socket as a client (apart from `handleUpgrade`, whose request it must not keep). */
  private accept(ws: WebSocket, admission: Admission, peer: ClientPeer): void {
    const id = this.nextId++;
    const client = new DownstreamClient(id, ws, admission.combined, peer, admission.route.context);
    this.clients.add(client);
    this.slices[id % HEARTBEAT_SLICES]!.add(client);
    this.clientsChanged();
    // Checked first: in a reconnect storm the line's object alone, built per client, is garbage for nothing.
    if (this.options.logger.isLevelEnabled('debug'))
      this.options.logger.debug({ client: client.id, ...peer }, 'Client connected');
    try {
      client.subscribeAll(admission.streams);
    } catch (error) {
      this.options.logger.error({ err: String(error), client: client.id }, 'Client subscription failed');
      client.close(CloseCodes.UPSTREAM_FAILED, 'subscription failed', 'upstream_failed');
    }
  }

  private closed(client: DownstreamClient, code: number, reason: string): void {
    this.clients.delete(client);
    this.slices[client.serial % HEARTBEAT_SLICES]!.delete(client);
    this.clientsChanged();
    if (!this.options.logger.isLevelEnabled('debug')) return;
    const durationMs = this.now() - client.connectedAt;
    this.options.logger.debug(
      { client: client.id, ...client.peer, code, reason, durationMs },
      'Client disconnected',
    );
  }

  /**
   * Stops admitting clients and closes every client with 1001; resolves when all are gone or, at
   * `deadline` (epoch ms), destroys the stragglers.
   */
  async drain(deadline: number): Promise<void> {
    this.draining = true;
    // DRAIN_SLICE clients per turn: each close writes a frame and arms a timer, and tens of thousands of
    // them in one turn would stall the loop the remaining clients' events and pongs wait on. A client
    // closed meanwhile leaves the set and is skipped; none joins it while draining.
    let closed = 0;
    for (const client of this.clients) {
      client.close(CloseCodes.GOING_AWAY, 'server shutting down', 'shutdown');
      if (++closed % DRAIN_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    while (this.clients.size > 0 && this.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const client of this.clients) client.terminate();
  }

  /** Terminates every client and stops the heartbeat. */
  close(): void {
    this.draining = true;
    clearInterval(this.heartbeat);
    for (const { socket } of this.upgrades) socket.destroy();
    this.upgrades = [];
    for (const log of Object.values(this.clientContext.logs)) log.flush();
    for (const client of this.clients) client.terminate();
    this.clients.clear();
    for (const slice of this.slices) slice.clear();
    this.wss.close();
  }

  private clientsChanged(): void {
    this.options.metrics.clients.set(this.clients.size);
    this.clientsHighWaterMark = Math.max(this.clientsHighWaterMark, this.clients.size);
    const share = Math.floor(this.options.sendQueueTotalBytes / Math.max(1, this.clients.size));
    this.sendQueue.bytes = Math.min(this.options.sendQueueBytes, share);
  }

  private admit(req: IncomingMessage): Admission | Rejection {
    if (this.draining) return { status: 503, reason: 'draining', message: 'server shutting down' };
    // Every attempt counts, admitted or not, as the exchange counts them (Binance "WebSocket Limits").
    if (!this.attempts.tryRecord(req.socket.remoteAddress ?? 'unknown')) {
      return { status: 429, reason: 'attempt_rate', message: 'too many connection attempts' };
    }
    const origin = req.headers.origin;
    const allowed = this.allowedOrigins;
    if (allowed && origin !== undefined && !allowed.has(normalizeOrigin(origin) ?? '')) {
      return { status: 403, reason: 'origin', message: 'origin not allowed' };
    }
    const route = this.routeOf(req.url);
    const admission = route.dialect.connectionPath(req.url);
    if (!admission.ok) return admission;
    const { maxStreams } = route.context;
    if (admission.streams.length > maxStreams) {
      return {
        status: 400,
        reason: 'too_many_streams',
        message: `too many streams, a connection can listen to at most ${maxStreams}`,
      };
    }
    if (!route.streamCap.admits(admission.streams)) {
      return {
        status: 400,
        reason: 'upstream_streams',
        message: `too many streams, the server carries at most ${route.streamCap.limit} upstream streams`,
      };
    }
    if (this.clients.size >= this.options.maxClients) {
      return { status: 503, reason: 'max_clients', message: 'too many clients' };
    }
    return { combined: admission.combined, streams: admission.streams, route };
  }
}

/**
 * Registers the dialect's WebSocket paths (Binance: `/ws`, `/ws/...`, `/stream`, `/stream/...`) for
 * requests that arrive without an upgrade: they are told, with 426, to connect with a WebSocket client.
 */
export function addWebSocketPathHint(router: HttpRouter, dialect: Dialect): void {
  const hint = {
    name: 'other',
    handle: () =>
      jsonError(426, 'this path is a WebSocket endpoint: connect with a WebSocket client', {
        upgrade: 'websocket',
      }),
  };
  for (const path of dialect.webSocketPaths) router.add(path, hint).addPrefix(`${path}/`, hint);
}

/** A module function, not a closure: a closure here would keep the upgrade request for the socket's life. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Longest request target logged: a `/stream?streams=` list may name 1024 streams. */
const MAX_LOGGED_PATH = 200;

/** Who a client is, for its connect and disconnect log lines. */
function describePeer(req: IncomingMessage): ClientPeer {
  const path = req.url ?? '';
  return {
    address: req.socket.remoteAddress ?? 'unknown',
    port: req.socket.remotePort,
    path: path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path,
  };
}
