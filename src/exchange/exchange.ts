/**
 * What the client side (manager, legacy baseline, clustered source) needs to know of a venue's public
 * market-data feed, as data and small pure functions: stream names, endpoints, the control messages and
 * their replies, the frame envelope, heartbeats, limits, sequence ids, the REST history and the order
 * book procedure. One object per venue (`exchange/<venue>/index.ts`); everything above this layer reads
 * the venue through it. Functions here never use `this`, so callers may hold them in fields and call
 * them per message without a bound copy.
 *
 * The shape covers Binance (combined streams, server pings), Bybit v5 and OKX v5 (op-style subscribes,
 * topic envelopes, client-sent text or JSON pings): see "Exchange adapter" in docs/manager.md.
 */

/** A stream name split into its parts. `kind` is the venue's own event family (`trade`, `depth`, ...). */
export interface ParsedStream {
  /** The name as given. */
  readonly name: string;
  readonly kind: string;
  /** The instrument, or undefined for a stream of all instruments. */
  readonly symbol: string | undefined;
  /** A kind's parameter: a kline interval, a ticker window, a depth level count. */
  readonly param: string | undefined;
}

/**
 * The sequence ids an event carries: `first`..`last` is the inclusive range it covers; the next event
 * of the same stream is expected to start at `last + 1` when ids are contiguous.
 */
export interface SequenceRange {
  readonly first: number;
  readonly last: number;
}

/**
 * How a kind's sequence ids are judged: `contiguous` ids grow by exactly one per event (a jump is a gap,
 * and a gap may be refilled); `ordered` ids only grow (they de-duplicate but show no gaps).
 */
export type SequenceRule = 'contiguous' | 'ordered';

/** The error of a rejected control message, as the exchange sent it (not validated further). */
export interface ExchangeError {
  readonly code: unknown;
  readonly msg: unknown;
}

/**
 * What a frame reader tells its caller; each frame ends in one call at most (none for a frame that needs
 * no action, such as OKX's acknowledgement of a request that was not ours).
 */
export interface FrameHandler {
  /**
   * A stream event: `stream` is the envelope's stream on a multi-stream connection, undefined on a
   * single-stream one; `frame` the bytes it came in, for consumers that pass them on unchanged.
   */
  event(stream: string | undefined, data: unknown, frame: Buffer): void;
  /**
   * Whether events of `stream` must be parsed. Where it answers false, a reader that finds the stream
   * and the payload from the frame's bytes alone calls `unparsedEvent` instead of `event`, leaving the
   * payload unparsed (and unchecked: only the envelope around it is). Absent: every event is parsed.
   */
  readsData?(stream: string): boolean;
  /** A stream event left unparsed (see `readsData`): its payload is `frame[start..end)`. */
  unparsedEvent?(stream: string, frame: Buffer, start: number, end: number): void;
  /** The exchange will close this connection soon (Binance `serverShutdown`, OKX 64008): reconnect now. */
  shutdown(): void;
  /** The answer to control message `id`: `error` undefined for a success. */
  reply(id: number, error: ExchangeError | undefined): void;
  /** An application-level heartbeat answer (OKX text `pong`, Bybit `{"op":"ping",...}` reply). */
  heartbeat?(): void;
  /** A frame that is none of the above; `detail` says what it was, for a log line. */
  malformed(detail: string): void;
}

export type ControlMethod = 'subscribe' | 'unsubscribe';

/** Stream names: one grammar, one validation used everywhere. */
export interface StreamCodec {
  /** Splits a stream name, or undefined when it is not a valid name of this venue. */
  parse(name: string): ParsedStream | undefined;
  /** True when `name` is a valid stream name. */
  isValid(name: unknown): name is string;
  /** True when `symbol` is an instrument as stream names spell it. */
  isSymbol(symbol: unknown): symbol is string;
  /** How a valid symbol looks, completing "symbol must be ..." in an error message. */
  readonly symbolRule: string;
}

export interface Endpoints {
  /** A base URL as users give it, for error messages. */
  readonly exampleUrl: string;
  /**
   * The URL of a multi-stream connection on `baseUrl` (Binance: `${baseUrl}/stream`); `route` is the
   * `routeOf` of the streams it carries, where the venue has several.
   */
  connectionUrl(baseUrl: string, route?: string): string;
  /**
   * Which of the venue's endpoints carries `stream`, where it serves streams on several (OKX: candles on
   * `/ws/v5/business`, the rest on `/ws/v5/public`): streams of different routes never share a
   * connection. Absent: one endpoint carries every stream.
   */
  readonly routeOf?: (stream: string) => string;
  /** The URL of a connection carrying `stream` alone (Binance: `${baseUrl}/ws/<stream>`). */
  singleStreamUrl(baseUrl: string, stream: string): string;
  /** The REST base publishing the history of a WebSocket base URL, or undefined when none is known. */
  restBaseFor(wsUrl: string): string | undefined;
}

/** Live control messages and their limits. */
export interface ControlCodec {
  /** Streams (or topic args) one subscribe/unsubscribe message may carry. */
  readonly argsPerMessage: number;
  /** The text of a subscribe or unsubscribe of `streams`, answered by a reply carrying `id`. */
  encode(method: ControlMethod, streams: readonly string[], id: number): string;
  /** The text asking for the connection's subscriptions, or undefined when the venue has none. */
  encodeList: ((id: number) => string) | undefined;
}

/** The frames of a connection and the envelope stream events come in. */
export interface FrameCodec {
  /** Reads one frame of a multi-stream connection: events, control replies, notices, heartbeats. */
  read(frame: Buffer, handler: FrameHandler): void;
  /** Reads one frame of a single-stream connection (`Endpoints.singleStreamUrl`). */
  readSingle(frame: Buffer, handler: FrameHandler): void;
  /**
   * True when an event frame is already the combined frame `{"stream":..,"data":..}` that consumers
   * forward (`StreamMessage.frameBytes`); otherwise one is built from the payload.
   */
  readonly framesAreCombined: boolean;
  /** The payload bytes inside an event frame of `stream`, sliced without copying; undefined when not laid out as expected. */
  payloadOf(frame: Buffer, stream: string): Buffer | undefined;
}

/** Who keeps a connection alive, and how. */
export interface HeartbeatPolicy {
  /** The server sends WebSocket pings and closes without a pong within this (Binance: 60 s); undefined when it does not ping. */
  readonly pongDeadlineMs: number | undefined;
  /**
   * What this side sends to keep the connection alive or to probe it: undefined for a WebSocket ping
   * frame, else the text to send (OKX `ping`, Bybit `{"op":"ping"}`), answered by a frame the reader
   * reports as `heartbeat`.
   */
  readonly pingMessage: string | undefined;
  /** Send `pingMessage` this often even on a busy connection (OKX: under 30 s); undefined when the server pings. */
  readonly keepAliveMs: number | undefined;
  /**
   * A keep-alive ping unanswered for this long ends the connection, which is then replaced, however
   * busy it is (Bybit: a connection whose pongs stop is no longer trusted); undefined: no such deadline.
   */
  readonly pongTimeoutMs: number | undefined;
}

/** The venue's limits, as data. */
export interface ExchangeLimits {
  readonly streamsPerConnection: number;
  /**
   * Characters the subscribe args of one connection may total (Bybit: 21,000), counted as the stream
   * names' lengths; undefined when only `streamsPerConnection` bounds a connection.
   */
  readonly argCharsPerConnection: number | undefined;
  /** Messages this side may send per second per connection (pongs and control messages count). */
  readonly incomingMessagesPerSecond: number;
  /**
   * Subscribe and unsubscribe requests per connection per window (OKX: 480 per hour), counted apart from
   * heartbeats, which never wait for it. Absent: only `incomingMessagesPerSecond` paces them.
   */
  readonly controlMessages?: { readonly limit: number; readonly windowMs: number };
  /** Connection attempts per IP per window. */
  readonly connectionAttempts: { readonly limit: number; readonly windowMs: number };
  /** The exchange closes a connection at this age. */
  readonly connectionLifetimeMs: number;
  /** REST request weight per IP per minute. */
  readonly restWeightPerMinute: number;
  /** The answer header carrying the weight used in the current minute, if the venue sends one. */
  readonly usedWeightHeader: string | undefined;
  /** IP bans: the first one, and the longest for repeat offenders. */
  readonly banMs: { readonly first: number; readonly longest: number };
}

/** Sequence ids per stream kind. */
export interface SequencePolicy {
  /** How `kind`'s ids are judged, or undefined when its events carry none. */
  ruleOf(kind: string): SequenceRule | undefined;
  /** The ids of one event payload (the hot path: called once per event of a sequenced kind). */
  range(kind: string, data: Record<string, unknown>): SequenceRange | undefined;
  /**
   * The same from the payload's bytes `bytes[start..end)`, without parsing the rest of it; it parses
   * the payload when the bytes are not laid out as expected, so the answer always equals `range`'s.
   */
  rangeIn(kind: string, bytes: Buffer, start: number, end: number): SequenceRange | undefined;
}

/** What a REST GET answers, as the manager's client reports it. */
export type RestAnswer =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly reason: 'budget' | 'retry_after' | 'refused' | 'unreachable' };

/** The REST access a procedure needs: a GET costing `weight` from the caller's budget. */
export interface RestGetter {
  get(path: string, query: Record<string, string | number>, weight: number): Promise<RestAnswer>;
}

/** Why a refill gave nothing. */
export type RefillFailure =
  | 'budget'
  | 'retry_after'
  | 'refused'
  | 'unreachable'
  | 'history_gone'
  | 'too_large';

export type RefillResult =
  | {
      readonly ok: true;
      /** Id of the first event refilled (above the gap's first missing id when the oldest are gone). */
      readonly firstId: number;
      /** Payloads with contiguous ids from `firstId`, up to the id before the gap's end. */
      readonly events: readonly Record<string, unknown>[];
    }
  | { readonly ok: false; readonly reason: RefillFailure };

/** What the history gave for the events between the last one seen before a lost connection and the first after. */
export type ResumeResult =
  | {
      readonly ok: true;
      /** The events in between, oldest first, as the stream would have carried them. */
      readonly events: readonly Record<string, unknown>[];
      /** False when the history did not reach back to the last event seen: older ones may be lost for good. */
      readonly complete: boolean;
    }
  | { readonly ok: false; readonly reason: RefillFailure };

/**
 * Refilling the kinds whose events carry no contiguous id (Bybit `publicTrade`): only a lost connection
 * tells that events may have been missed, and the history is searched between the last event delivered
 * before it and the first one after.
 */
export interface ResumeProcedure {
  readonly kinds: ReadonlySet<string>;
  fetch(rest: RestGetter, stream: ParsedStream, lastSeen: unknown, firstLive: unknown): Promise<ResumeResult>;
}

/** Refilling missed events from the REST history. */
export interface HistoryProcedure {
  /** Kinds refilled after a lost connection rather than by ids (see `ResumeProcedure`); absent: none. */
  readonly resume?: ResumeProcedure;
  /**
   * How `kind`'s missed events are found: `ids` (a gap in contiguous sequence ids), `candles` (a candle
   * whose closing update never came), undefined when the history cannot refill them.
   */
  refillBy(kind: string): 'ids' | 'candles' | undefined;
  /** Events refilled per gap at most. */
  readonly maxEvents: number;
  /**
   * Fetches ids `from` to `to - 1` of the stream (for candles: those opening in [from, to)) as the
   * stream would have carried them.
   */
  fetch(rest: RestGetter, stream: ParsedStream, from: number, to: number): Promise<RefillResult>;
  /** A candle event's open time (ms), or undefined when `data` is none. */
  candleOpenTime(data: unknown): number | undefined;
  /** Whether a candle event closes its candle. */
  candleClosed(data: unknown): boolean;
  /** A candle stream's interval in ms, or undefined when it varies (months). */
  candleIntervalMs(stream: ParsedStream): number | undefined;
}

/** One price level: `[price, quantity]`, decimal strings as on the wire. */
export type BookLevel = readonly [price: string, quantity: string];

/** One order-book update as the diff stream carries it. */
export interface BookDiff {
  /** The update ids it covers (Binance `U`..`u`). */
  readonly first: number;
  readonly last: number;
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
  /** It replaces the whole book (Bybit `snapshot`, or `u=1` after a restart) rather than changing it. */
  readonly resets: boolean;
}

export interface BookSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

/** Where a diff stands against a book at `lastUpdateId`. */
export type BookStep = 'stale' | 'apply' | 'gap';

/** Keeping a local order book: the diff stream, the snapshot, and the continuity rule. */
export interface OrderBookProcedure {
  /** Levels per side a snapshot may ask for. */
  readonly maxDepth: number;
  /**
   * Where a book's first state comes from:
   * - `rest`: a snapshot fetched while the diffs are buffered (Binance);
   * - `stream`: the stream itself pushes a snapshot on subscribe and after any trouble of its own
   *   (Bybit): `fetchSnapshot` is never called, and a book out of step waits for the next one;
   * - `push-or-rest`: a snapshot the stream pushes on subscribe seeds the book when it is the first
   *   push the book sees; when the first is an update (the channel was already subscribed, or the venue
   *   stopped pushing snapshots) or nothing comes for a while, a REST snapshot seeds it (OKX). Resyncs
   *   fetch from REST.
   */
  readonly seed: 'rest' | 'stream' | 'push-or-rest';
  /** The diff stream of `symbol` carrying at least `depth` levels per side (the deepest when not given). */
  diffStream(symbol: string, depth?: number): string;
  /** Reads a diff payload, or undefined when it is none. */
  readDiff(data: unknown): BookDiff | undefined;
  /** Fetches a snapshot of `depth` levels per side, or undefined when none came. */
  fetchSnapshot(rest: RestGetter, symbol: string, depth: number): Promise<BookSnapshot | undefined>;
  /**
   * The continuity rule: `stale` when the diff is already in the book, `apply` when it continues it,
   * `gap` when updates are missing in between (the book is resynchronised).
   */
  step(diff: BookDiff, lastUpdateId: number): BookStep;
}

/** A unified symbol as a venue spells it, or why the venue cannot express it. */
export type VenueSymbol =
  | { readonly ok: true; readonly symbol: string }
  | { readonly ok: false; readonly reason: string };

/**
 * One trade in the shape every venue's trades are read into. Prices and amounts stay the decimal
 * strings the venue sent (as in the venues' payload types): a number would lose digits.
 */
export interface Trade {
  /** The adapter's `name`: `binance`, `bybit`, `okx`. */
  readonly venue: string;
  /** The unified symbol: `BTC/USDT`, `BTC/USDT:USDT`. */
  readonly symbol: string;
  /** The venue's trade id, as a string (Bybit linear's are UUIDs). */
  readonly id: string;
  readonly price: string;
  /** Base-currency quantity (contracts for OKX swaps, as OKX counts them). */
  readonly amount: string;
  /** The taker's side. */
  readonly side: 'buy' | 'sell';
  /** The venue's trade time, ms since the epoch. */
  readonly timestamp: number;
  /** The venue's own item this trade was read from, when asked for. */
  readonly raw?: unknown;
}

/** Where a trade reader puts the trades it reads: one object per subscription, so no closure per message. */
export interface TradeSink {
  trade(trade: Trade): void;
}

/**
 * Unified symbols and trades: what the cross-venue view (`Venues` in the manager) needs of an adapter.
 * Books need nothing more: the manager keeps every venue's book through `book` in one shape.
 */
export interface MarketView {
  /**
   * Which of the venue's categories the adapter serves, when the venue has several served apart (Bybit
   * `spot`, `linear`); `all` when one adapter serves them all (OKX); Binance `spot`. With the venue
   * name it tells one manager from another of the same venue.
   */
  readonly category: string;
  /** The markets the adapter serves, for error messages: `spot`, `USDT-settled linear perpetuals`. */
  readonly markets: string;
  /** The venue's instrument for unified `symbol` (`BTC/USDT` → `btcusdt`), or why there is none. */
  toVenue(symbol: string): VenueSymbol;
  /** The unified symbol of one of the venue's instruments, or undefined when it cannot tell. */
  fromVenue(venueSymbol: string): string | undefined;
  /** The stream carrying every trade of `venueSymbol`. */
  tradeStream(venueSymbol: string): string;
  /**
   * Reads one payload of `tradeStream` (the hot path: once per event): one `sink.trade` per trade in
   * it, tagged with `venue` and the unified `symbol`, with `raw` set to the venue's item when `raw`.
   * @returns how many items could not be read (0 for a well-formed payload).
   */
  readTrades(payload: unknown, venue: string, symbol: string, raw: boolean, sink: TradeSink): number;
}

/** A venue, as the client side reads it. */
export interface Exchange {
  /** Lowercase venue name, e.g. `binance`. */
  readonly name: string;
  readonly streams: StreamCodec;
  readonly endpoints: Endpoints;
  readonly control: ControlCodec;
  readonly frames: FrameCodec;
  readonly heartbeat: HeartbeatPolicy;
  readonly limits: ExchangeLimits;
  readonly sequence: SequencePolicy;
  readonly history: HistoryProcedure;
  readonly book: OrderBookProcedure;
  /** Unified symbols and trades (see `Venues`); absent: the venue takes no part in the cross-venue view. */
  readonly market?: MarketView;
}
