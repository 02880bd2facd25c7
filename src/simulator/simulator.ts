/**
 * The simulated exchange: one HTTP server whose upgrades are Binance-compatible market-data WebSockets
 * and whose plain requests are the control API, plus the programmatic fault controls tests use.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CloseCodes } from '../core/close-codes.js';
import { CONNECTION_ATTEMPTS } from '../exchange/bybit/limits.js';
import type { BybitMarket } from '../exchange/bybit/rest.js';
import { CONTROL_MESSAGES, CONNECTION_ATTEMPTS as OKX_CONNECTION_ATTEMPTS } from '../exchange/okx/limits.js';
import { parseRequestTarget } from '../http/request-target.js';
import { BucketedWindowPerKey } from '../limits/bucketed-window.js';
import { BYBIT_REST_PREFIX, BybitRestApi } from './bybit/rest-api.js';
import { BybitSession } from './bybit/session.js';
import { TopicFeeds } from './bybit/topic-feeds.js';
import { ControlApi } from './control-api.js';
import {
  resolveDrop,
  resolveLatency,
  resolveMalformed,
  resolveRefuse,
  resolveShutdown,
  resolveTarget,
} from './fault-options.js';
import { FeedHub } from './feed-hub.js';
import { ChannelFeeds } from './okx/channel-feeds.js';
import { OKX_REST_PREFIX, OkxRestApi } from './okx/rest-api.js';
import { OkxSession } from './okx/session.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { SequencedHistory } from './rest/feed-history.js';
import { REST_PREFIX, RestApi } from './rest/rest-api.js';
import { Session, type SimulatorCounters } from './session.js';
import type {
  BybitBookView,
  BybitConnectionStats,
  ConnectionTarget,
  DropOptions,
  MalformedOptions,
  OkxBookView,
  OkxConnectionStats,
  RefuseStatus,
  ShutdownOptions,
  SimulatorOptions,
  SimulatorStats,
} from './types.js';
import { rejectUpgrade, UpgradeGate, type UpgradeVerdict } from './upgrade-gate.js';
import type { PongWithholdingConnection, VenueConnection } from './venue-connection.js';

/** Bybit's WebSocket paths: `/bybit` then the venue's own path, one per category. */
const BYBIT_WS_PATHS: Readonly<Record<string, BybitMarket>> = {
  '/bybit/v5/public/spot': 'spot',
  '/bybit/v5/public/linear': 'linear',
};

/** OKX's WebSocket paths: `/okx` then the venue's own path. */
const OKX_WS_PATHS: Readonly<Record<string, 'public' | 'business'>> = {
  '/okx/ws/v5/public': 'public',
  '/okx/ws/v5/business': 'business',
};

/** What tells one venue's WebSocket upgrades apart: its paths, its attempt budget and the session it opens. */
interface VenueUpgrade<K, S extends VenueConnection> {
  readonly name: string;
  /** The venue's WebSocket paths, each naming what the connection serves (category, endpoint). */
  readonly paths: Readonly<Record<string, K>>;
  readonly attempts: BucketedWindowPerKey;
  /** The 429 answer when the attempt budget is spent. */
  readonly tooManyAttempts: { readonly message: string; readonly retryAfterS: number };
  readonly sessions: Map<string, S>;
  open(id: string, key: K, ws: WebSocket): S;
}

/** Enough for a SUBSCRIBE of 1024 long stream names. */
const MAX_INCOMING_PAYLOAD = 1024 * 1024;
/** How long close() waits for clients to answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 250;

/** A running simulator. Create it with {@link startSimulator}. */
export class Simulator {
  private readonly options: ResolvedOptions;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly hub: FeedHub;
  private readonly gate: UpgradeGate;
  private readonly api: ControlApi;
  private readonly rest: RestApi;
  private readonly sessions = new Map<string, Session>();
  private readonly bybitSessions = new Map<string, BybitSession>();
  private readonly bybitFeeds: TopicFeeds;
  private readonly bybitRest: BybitRestApi;
  private readonly okxSessions = new Map<string, OkxSession>();
  private readonly okxFeeds: ChannelFeeds;
  private readonly okxRest: OkxRestApi;
  /** Subscribe/unsubscribe requests an OKX connection may send per window (480 per hour unless lowered). */
  private okxRequests: { limit: number; windowMs: number } = { ...CONTROL_MESSAGES };
  private readonly bybitUpgrade: VenueUpgrade<BybitMarket, BybitSession>;
  private readonly okxUpgrade: VenueUpgrade<'public' | 'business', OkxSession>;
  private readonly counters: SimulatorCounters = {
    messagesSent: 0,
    controlMessagesReceived: 0,
    connectionAttempts: 0,
    breaches: { streams: 0, messageRate: 0, connectionAttempts: 0 },
  };
  private readonly clock: () => number;
  private latency = 0;
  private nextId = 0;
  private listening: AddressInfo | undefined;
  private closing: Promise<void> | undefined;

  /** @internal Use {@link startSimulator}, which validates the options and listens. */
  constructor(options: SimulatorOptions = {}) {
    this.options = resolveOptions(options);
    this.clock = options.clock ?? Date.now;
    this.hub = new FeedHub({
      clock: this.clock,
      rate: this.options.rate,
      seed: this.options.seed,
      symbols: this.options.symbols,
      historySize: this.options.rest.historySize,
    });
    this.gate = new UpgradeGate(this.options.limits, this.counters, this.clock);
    this.api = new ControlApi(this);
    this.rest = new RestApi({
      hub: this.hub,
      symbols: this.options.symbols,
      clock: this.clock,
      weightLimit: this.options.rest.weightLimit,
      budget: { ...this.options.rest, limit: this.options.rest.weightLimit },
      refusal: () => this.gate.refusal(),
      latencyMs: () => this.latency,
    });
    // What the Bybit and OKX REST APIs answer from, besides their own feeds.
    const venueRest = {
      hub: this.hub,
      symbols: this.options.symbols,
      clock: this.clock,
      refusal: () => this.gate.refusal(),
      latencyMs: () => this.latency,
    };
    this.bybitFeeds = new TopicFeeds(this.hub, this.clock);
    this.bybitRest = new BybitRestApi({ ...venueRest, feeds: this.bybitFeeds });
    this.okxFeeds = new ChannelFeeds(this.hub, this.clock);
    this.okxRest = new OkxRestApi({ ...venueRest, feeds: this.okxFeeds });
    this.bybitUpgrade = {
      name: 'Bybit',
      paths: BYBIT_WS_PATHS,
      // Bybit's "500 connections per 5 minutes" per IP.
      attempts: new BucketedWindowPerKey(CONNECTION_ATTEMPTS.limit, CONNECTION_ATTEMPTS.windowMs, this.clock),
      tooManyAttempts: {
        message: `Too many connection attempts: at most ${CONNECTION_ATTEMPTS.limit} per ${CONNECTION_ATTEMPTS.windowMs} ms`,
        retryAfterS: Math.ceil(CONNECTION_ATTEMPTS.windowMs / 1000),
      },
      sessions: this.bybitSessions,
      open: (id, category, ws) =>
        new BybitSession(id, category, ws, {
          feeds: this.bybitFeeds,
          latencyMs: () => this.latency,
          clock: this.clock,
        }),
    };
    this.okxUpgrade = {
      name: 'OKX',
      paths: OKX_WS_PATHS,
      // OKX's "3 connection requests per second" per IP.
      attempts: new BucketedWindowPerKey(
        OKX_CONNECTION_ATTEMPTS.limit,
        OKX_CONNECTION_ATTEMPTS.windowMs,
        this.clock,
      ),
      tooManyAttempts: {
        message: `Too many connection requests: at most ${OKX_CONNECTION_ATTEMPTS.limit} per second`,
        retryAfterS: 1,
      },
      sessions: this.okxSessions,
      // The request limit is read per connection: a lowered limit applies to connections opened from then on.
      open: (id, route, ws) =>
        new OkxSession(id, route, ws, {
          feeds: this.okxFeeds,
          requests: this.okxRequests,
          latencyMs: () => this.latency,
          clock: this.clock,
        }),
    };
    this.wss = new WebSocketServer({
      noServer: true,
      autoPong: false,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: MAX_INCOMING_PAYLOAD,
    });
    this.server = createServer((req, res) => {
      // By the parsed path, as each API reads it: an absolute-form target reaches the API its path names.
      const path = parseRequestTarget(req.url)?.pathname;
      if (path?.startsWith(REST_PREFIX)) this.rest.handle(req, res);
      else if (path?.startsWith(BYBIT_REST_PREFIX)) this.bybitRest.handle(req, res);
      else if (path?.startsWith(OKX_REST_PREFIX)) this.okxRest.handle(req, res);
      else this.api.handle(req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  /** @internal */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = this.server.address() as AddressInfo;
  }

  /** Base WebSocket URL, e.g. `ws://127.0.0.1:9443`; append `/ws/<stream>`, `/ws`, `/stream?streams=a/b` or `/stream`. */
  get url(): string {
    return `ws://${this.hostPort()}`;
  }

  /** Base URL of the control API (`GET /stats`, `POST /faults/...`). */
  get httpUrl(): string {
    return `http://${this.hostPort()}`;
  }

  get port(): number {
    return this.listening?.port ?? 0;
  }

  /** The same JSON as `GET /stats`. */
  stats(): SimulatorStats {
    const { breaches } = this.counters;
    return {
      openConnections: this.sessions.size,
      connectionAttempts: this.counters.connectionAttempts,
      messagesSent: this.counters.messagesSent,
      controlMessagesReceived: this.counters.controlMessagesReceived,
      limitBreaches: { ...breaches },
      connections: [...this.sessions.values()].map((s) => s.stats()),
    };
  }

  /** The Bybit connections (`/bybit/v5/public/*`) and what each did. */
  bybitStats(): BybitConnectionStats[] {
    return [...this.bybitSessions.values()].map((s) => s.stats());
  }

  /** Bybit REST requests counted against the per-IP cap, per endpoint (`instruments-info`, `kline`, ...). */
  bybitRestRequests(endpoint: string): number {
    return this.bybitRest.counts.get(endpoint) ?? 0;
  }

  /**
   * The ids (`i`, one by one) of the trades generated for a Bybit symbol (`BTCUSDT`; spot and linear
   * trade the same feed) from `fromId` on, oldest first, as far as the feed's history keeps them: the
   * record a client's trades are checked against. The feed is brought to now first, as a REST read does.
   */
  bybitTradeIds(symbol: string, fromId: number): number[] {
    const history = this.hub.catchUp(`${symbol.toLowerCase()}@trade`)?.history;
    if (!(history instanceof SequencedHistory)) return [];
    return history
      .fromId(fromId, history.capacity)
      .map((payload) => (JSON.parse(payload) as { t: number }).t);
  }

  /** The book a Bybit order-book topic (`orderbook.50.BTCUSDT`) last sent, or undefined when it never ran. */
  bybitBook(topic: string): BybitBookView | undefined {
    return this.bybitFeeds.get(topic)?.view();
  }

  /** Sends a `u=1` snapshot on a Bybit order-book topic, as Bybit does after a service restart. */
  restartBybitBook(topic: string): boolean {
    const feed = this.bybitFeeds.get(topic);
    if (feed === undefined || !feed.isBook) return false;
    feed.restart();
    return true;
  }

  /** The next delta of a Bybit order-book topic skips one update id (a lost update). */
  skipBybitBookUpdate(topic: string): boolean {
    const feed = this.bybitFeeds.get(topic);
    if (feed === undefined || !feed.isBook) return false;
    feed.skipUpdate();
    return true;
  }

  /** Bybit connections stop answering `{"op":"ping"}` (data keeps flowing). Returns how many. */
  withholdBybitPongs(options?: ConnectionTarget): number {
    return withholdPongs(this.bybitSessions, resolveTarget('withhold options', options));
  }

  /** The OKX connections (`/okx/ws/v5/*`) and what each did. */
  okxStats(): OkxConnectionStats[] {
    return [...this.okxSessions.values()].map((s) => s.stats());
  }

  /** OKX REST requests answered per endpoint (`market/books`, `market/history-trades`, ...). */
  okxRestRequests(endpoint: string): number {
    return this.okxRest.counts.get(endpoint) ?? 0;
  }

  /** The book an OKX `books` channel (`BTC-USDT`) last sent; undefined when it never ran. */
  okxBook(instId: string): OkxBookView | undefined {
    return this.okxFeeds.get(`books:${instId}`)?.view();
  }

  /** Whether OKX `books` subscriptions get a snapshot first (OKX announced it would stop pushing it). */
  setOkxBookSnapshots(pushed: boolean): void {
    this.okxFeeds.pushesBookSnapshots = pushed;
  }

  /** An OKX `books` channel restarts: a snapshot with seqIds starting over from 1. */
  restartOkxBook(instId: string): boolean {
    const feed = this.okxFeeds.get(`books:${instId}`);
    if (feed === undefined) return false;
    feed.restart();
    return true;
  }

  /** The next update of an OKX `books` channel is never sent (a lost push). */
  dropOkxBookUpdate(instId: string): boolean {
    const feed = this.okxFeeds.get(`books:${instId}`);
    if (feed === undefined) return false;
    feed.dropUpdate();
    return true;
  }

  /** OKX connections stop answering the text `ping` (data keeps flowing). Returns how many. */
  withholdOkxPongs(options?: ConnectionTarget): number {
    return withholdPongs(this.okxSessions, resolveTarget('withhold options', options));
  }

  /** Lowers (or restores) the subscribe/unsubscribe requests OKX connections opened from now on may send. */
  setOkxRequestLimit(limit: number, windowMs: number): void {
    this.okxRequests = { limit, windowMs };
  }

  /** Closes one connection (`id`) or all: cleanly with `code` (default 1001), or by destroying the socket. Returns how many. */
  dropConnections(options?: DropOptions): number {
    const drop = resolveDrop(options);
    let count = 0;
    for (const session of this.targets(drop.id)) {
      if (session.closing) continue;
      if (drop.abrupt) session.terminate();
      else session.close(drop.code, drop.reason);
      count++;
    }
    return count;
  }

  /** Stops sending and answering pings on one connection or all, leaving TCP open. Returns how many. */
  stall(options?: ConnectionTarget): number {
    return this.countAll(resolveTarget('stall options', options), (s) => s.stall());
  }

  /**
   * Refuses every upgrade with `status` (429, 418 or 503) for the next `ms` milliseconds. Each refusal
   * carries `Retry-After: retryAfterS` (default: the seconds left of the refusal, rounded up; null: no
   * `Retry-After` at all, as some servers answer).
   */
  refuseConnections(ms: number, status?: RefuseStatus, retryAfterS?: number | null): void {
    const refuse = resolveRefuse(ms, status, retryAfterS);
    this.gate.refuse(refuse.ms, refuse.status, refuse.retryAfterS);
  }

  /** Sends `count` malformed text frames to one connection or all. Returns how many connections. */
  sendMalformed(options?: MalformedOptions): number {
    const o = resolveMalformed(options);
    return this.countAll(o.id, (s) => s.sendMalformed(o.count));
  }

  /** Delays every outgoing frame (events, replies, pings, pongs) by `ms`; 0 removes the delay. */
  setLatency(ms: number): void {
    this.latency = resolveLatency(ms);
  }

  /**
   * Sends `serverShutdown` (OKX connections: notice 64008) to one connection or all, then closes them
   * with 1001 after `closeAfterMs`.
   */
  announceShutdown(options?: ShutdownOptions): number {
    const o = resolveShutdown(options, this.options.limits.shutdownNoticeMs);
    return this.count(o.id, (s) => s.announceShutdown(o.closeAfterMs));
  }

  /** Closes every connection and the server; leaves no timer behind. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.hub.close();
    this.rest.close();
    this.bybitRest.close();
    this.okxRest.close();
    for (const s of this.bybitSessions.values()) s.terminate();
    for (const s of this.okxSessions.values()) s.terminate();
    const closed = [...this.sessions.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          s.onClosed = resolve;
          s.close(CloseCodes.GOING_AWAY, 'Simulator closing');
        }),
    );
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((r) => (grace = setTimeout(r, CLOSE_GRACE_MS)))]);
    clearTimeout(grace);
    for (const s of this.sessions.values()) s.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private hostPort(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${host}:${this.port}`;
  }

  /** Connections of either venue: the faults that act on one connection apply to both. */
  private targets(id: string | undefined): (Session | BybitSession | OkxSession)[] {
    if (id === undefined)
      return [...this.sessions.values(), ...this.bybitSessions.values(), ...this.okxSessions.values()];
    const session = this.sessions.get(id) ?? this.bybitSessions.get(id) ?? this.okxSessions.get(id);
    return session ? [session] : [];
  }

  /** Connections of the venues that announce a shutdown: Binance (`serverShutdown`) and OKX (64008). */
  private count(id: string | undefined, act: (s: Session | OkxSession) => boolean): number {
    let n = 0;
    for (const s of this.targets(id)) if ((s instanceof Session || s instanceof OkxSession) && act(s)) n++;
    return n;
  }

  private countAll(id: string | undefined, act: (s: Session | BybitSession | OkxSession) => boolean): number {
    let n = 0;
    for (const s of this.targets(id)) if (act(s)) n++;
    return n;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.closing) {
      socket.destroy();
      return;
    }
    const path = parseRequestTarget(req.url)?.pathname ?? '';
    if (path.startsWith('/bybit/')) {
      this.onBybitUpgrade(req, socket, head, path);
      return;
    }
    if (path.startsWith('/okx/')) {
      this.onOkxUpgrade(req, socket, head, path);
      return;
    }
    const verdict = this.gate.check(req);
    if (!verdict.ok) {
      rejectUpgrade(socket, verdict);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, verdict));
  }

  /**
   * A Bybit connection: the connection-attempt budget is Bybit's (500 per 5 minutes, counted with
   * Binance's attempts per IP by the same gate when a test lowers it), the injected refusal applies, and
   * the path names the category.
   */
  private onBybitUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    this.upgradeVenue(req, socket, head, path, this.bybitUpgrade);
  }

  /**
   * An OKX connection: OKX's 3 connection requests per second per IP, the injected refusal, and the path
   * naming the endpoint (public or business).
   */
  private onOkxUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    this.upgradeVenue(req, socket, head, path, this.okxUpgrade);
  }

  /** The injected refusal, then the path, then the venue's attempt budget; the session opens on success. */
  private upgradeVenue<K, S extends VenueConnection>(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    path: string,
    venue: VenueUpgrade<K, S>,
  ): void {
    const key = venue.paths[path];
    const refusal = this.gate.refusal();
    if (refusal !== undefined) {
      rejectUpgrade(socket, {
        ok: false,
        status: refusal.status,
        message: 'Connections are refused for now (fault injection)',
        ...(refusal.retryAfterS === undefined ? {} : { retryAfterS: refusal.retryAfterS }),
      });
      return;
    }
    if (key === undefined) {
      rejectUpgrade(socket, { ok: false, status: 404, message: `No ${venue.name} WebSocket at ${path}` });
      return;
    }
    this.counters.connectionAttempts++;
    if (!venue.attempts.tryRecord(req.socket.remoteAddress ?? 'unknown')) {
      this.counters.breaches.connectionAttempts++;
      rejectUpgrade(socket, { ok: false, status: 429, ...venue.tooManyAttempts });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closing) {
        ws.terminate();
        return;
      }
      const id = `c${++this.nextId}`;
      const session = venue.open(id, key, ws);
      venue.sessions.set(id, session);
      ws.once('close', () => {
        session.dispose();
        venue.sessions.delete(id);
      });
    });
  }

  private accept(ws: WebSocket, verdict: Extract<UpgradeVerdict, { ok: true }>): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    const id = `c${++this.nextId}`;
    const ctx = {
      hub: this.hub,
      limits: this.options.limits,
      counters: this.counters,
      latencyMs: () => this.latency,
      clock: this.clock,
    };
    const session = new Session(id, ws, verdict.combined, ctx);
    this.sessions.set(id, session);
    ws.once('close', () => {
      session.dispose();
      this.sessions.delete(id);
      session.onClosed?.();
    });
    session.subscribe(verdict.streams);
  }
}

/** Pongs stop on one connection (`id`) or all of a venue's; how many started withholding. */
function withholdPongs(sessions: Map<string, PongWithholdingConnection>, id: string | undefined): number {
  let n = 0;
  for (const s of sessions.values()) if ((id === undefined || s.id === id) && s.withholdPongs()) n++;
  return n;
}

/** Starts a simulator listening on `options.host`:`options.port` (default 127.0.0.1, a free port). */
export async function startSimulator(options?: SimulatorOptions): Promise<Simulator> {
  const simulator = new Simulator(options);
  await simulator.listen();
  return simulator;
}
