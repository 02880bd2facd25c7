/** Public option, fault and statistics types of the simulator. Defaults live in options.ts. */

/**
 * Per-connection and per-IP limits. Every default mirrors Binance's spot "WebSocket Streams"
 * documentation, section "WebSocket Limits"; tests shorten the timers through these options.
 */
export interface SimulatorLimits {
  /** Streams one connection may carry. @default 1024 */
  maxStreamsPerConnection?: number;
  /**
   * Incoming frames (text, binary, ping, pong) allowed in any rolling 1 s window; one more closes the
   * connection with 1008. @default 5
   */
  maxMessagesPerSecond?: number;
  /** Upgrade attempts per remote IP per `attemptWindowMs`; beyond it the upgrade gets HTTP 429. @default 300 */
  maxConnectionAttempts?: number;
  /** @default 300_000 (5 minutes) */
  attemptWindowMs?: number;
  /** Interval of server pings. @default 20_000 */
  pingIntervalMs?: number;
  /** A connection whose pong does not echo an outstanding ping payload within this time is closed. @default 60_000 */
  pongTimeoutMs?: number;
  /** Connection lifetime; the connection is closed with 1001 when it ends. @default 86_400_000 (24 h) */
  maxLifetimeMs?: number;
  /**
   * How long before the end of a connection's lifetime its `serverShutdown` event is sent, and the default
   * delay between `announceShutdown()` and the close. @default 10_000
   */
  shutdownNoticeMs?: number;
}

/**
 * The REST API's limits (Binance spot "LIMITS"); tests shorten the window and the ban through these.
 */
export interface SimulatorRestLimits {
  /** Request weight one IP may use per window. @default 6000 */
  weightLimit?: number;
  /** Length of the weight window, aligned to the clock. @default 60_000 */
  windowMs?: number;
  /** Requests an IP may still send in a window after its first 429 before it gets 418. @default 5 */
  requestsBeforeBan?: number;
  /** First ban of an IP; each further ban doubles, up to 3 days. @default 120_000 */
  banMs?: number;
  /** Events of each trade and aggTrade feed kept for `/trades` and `/aggTrades`. @default 10_000 */
  historySize?: number;
}

export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /**
   * The market's symbols (lowercase): the content of `!miniTicker@arr`. Streams of other well-formed
   * symbols are served too. @default ['btcusdt','ethusdt','bnbusdt','solusdt','xrpusdt']
   */
  symbols?: string[];
  /** Events per second of every stream, or 'max' to push as fast as the subscribers' sockets drain. @default 5 */
  rate?: number | 'max';
  /** Seed of the deterministic data. @default 1 */
  seed?: number;
  /** Wall clock in epoch milliseconds of the feeds, limits and refusals; injectable for tests. @default Date.now */
  clock?: () => number;
  limits?: SimulatorLimits;
  rest?: SimulatorRestLimits;
}

/** Targets one connection by id, or every open connection when `id` is omitted. */
export interface ConnectionTarget {
  id?: string;
}

export interface DropOptions extends ConnectionTarget {
  /** Close code of a clean close. @default 1001 */
  code?: number;
  /** @default 'Dropped by fault injection' */
  reason?: string;
  /** Destroy the TCP socket without a close frame. @default false */
  abrupt?: boolean;
}

export interface MalformedOptions extends ConnectionTarget {
  /** Malformed frames per connection. @default 1 */
  count?: number;
}

export interface ShutdownOptions extends ConnectionTarget {
  /** Delay between the `serverShutdown` event and the close. @default limits.shutdownNoticeMs */
  closeAfterMs?: number;
}

/** HTTP status of refused upgrades: 429 rate limited, 418 IP banned (Binance's answer to a client that kept connecting after a 429), 503 unavailable. */
export type RefuseStatus = 429 | 418 | 503;

export interface ConnectionStats {
  id: string;
  streams: string[];
  messagesSent: number;
  controlMessagesReceived: number;
  /** Epoch milliseconds. */
  openedAt: number;
  /** True for `/stream` connections (or after `SET_PROPERTY combined true`). */
  combined: boolean;
  stalled: boolean;
}

/** The JSON of `GET /stats`. */
export interface SimulatorStats {
  openConnections: number;
  /** Upgrade attempts since start, accepted and refused. */
  connectionAttempts: number;
  /** Text frames sent: events, control responses, `serverShutdown` notices and malformed frames. */
  messagesSent: number;
  /** Text and binary frames received (control messages, valid or not). */
  controlMessagesReceived: number;
  limitBreaches: { streams: number; messageRate: number; connectionAttempts: number };
  connections: ConnectionStats[];
}

/** What a Bybit connection did, for tests and `GET /stats`-style reads. */
export interface BybitConnectionStats {
  readonly id: string;
  readonly category: 'spot' | 'linear';
  readonly topics: string[];
  /** Args of each subscribe request received, in order. */
  readonly subscribeArgs: number[];
  readonly pings: number;
  readonly stalled: boolean;
  readonly withholdingPongs: boolean;
}

/** The book of one Bybit order-book topic as it last sent it: update id, bids best first, asks best first. */
export interface BybitBookView {
  readonly u: number;
  readonly bids: [string, string][];
  readonly asks: [string, string][];
}

/** What an OKX connection did, for tests. */
export interface OkxConnectionStats {
  readonly id: string;
  /** `public` or `business`: the path it was opened on. */
  readonly route: 'public' | 'business';
  /** Streams (`channel:instId`) it is subscribed to. */
  readonly channels: string[];
  /** Args of each subscribe request received, in order. */
  readonly subscribeArgs: number[];
  /** Subscribe and unsubscribe requests received (OKX allows 480 per hour per connection). */
  readonly requests: number;
  readonly pings: number;
  readonly stalled: boolean;
  readonly withholdingPongs: boolean;
}

/** The book of one OKX `books` channel as it last sent it: seqId, bids best first, asks best first. */
export interface OkxBookView {
  readonly seqId: number;
  readonly bids: [string, string][];
  readonly asks: [string, string][];
}
