/**
 * A venue's protocol as the gateway serves it to its own clients: the paths they connect on, the control
 * messages they send on a connection, and the REST market-data routes with their weights and error
 * bodies. The gateway is written against this interface; a venue provides one implementation
 * (Binance's: src/exchange/binance/dialect.ts) and the gateway's wiring hands it to every module.
 */
import type { OrderBookView } from '../core/capabilities.js';
import type { WeightBudgetOptions } from '../limits/weight-budget.js';
import type { WeightAnswers } from '../limits/weighted-answer.js';
import type { ExchangeLimits } from './exchange.js';

/** What an upgrade's request target asks for: the streams to start with, or why it is refused. */
export type ConnectionPath =
  | { readonly ok: true; readonly combined: boolean; readonly streams: string[] }
  | {
      readonly ok: false;
      readonly status: 400 | 404;
      /** `path`: not a WebSocket endpoint or not a URL; `invalid_stream`: a stream name outside the grammar. */
      readonly reason: 'path' | 'invalid_stream';
      readonly message: string;
    };

/** The server side of one connection, as the control messages see it (the gateway's and the simulator's). */
export interface ControlTarget {
  /** Whether events are sent in the combined envelope (`{"stream":..,"data":..}`). */
  getCombined(): boolean;
  setCombined(value: boolean): void;
  /** Adds streams; returns the refusal to answer when it added none, else undefined. */
  subscribe(streams: readonly string[]): string | undefined;
  unsubscribe(streams: readonly string[]): void;
  /** The connection's streams, in subscription order. */
  list(): string[];
  /** The connection's name on this server, for venues whose replies carry one (Bybit `conn_id`). */
  readonly connectionId?: string;
  /**
   * The request target the connection was opened on (query included; its first 200 characters), for
   * venues whose paths carry different channels (OKX: candles on `/business` only).
   */
  readonly path?: string;
}

/** The limits the venue sets on one client, which the gateway applies to its own clients by default. */
export type ClientLimits = Pick<
  ExchangeLimits,
  'streamsPerConnection' | 'incomingMessagesPerSecond' | 'connectionAttempts'
>;

/** An error body of the venue's REST API, sent as JSON. */
export type RestErrorBody = object;

/** What a forwarded call's answer may be. */
export interface AnswerRule {
  /** Bytes read at most; beyond, the answer is dropped unread. */
  readonly maxBytes: number;
  /** True for a 200 body of the call's shape. */
  readonly wellFormed: (body: unknown) => boolean;
}

/**
 * The venue's server-time call. The gateway answers it from its own clock plus the exchange's offset,
 * measured with a forwarded call at most once per {@link refreshMs}.
 */
export interface ClockCall<Endpoint extends string = string> {
  readonly endpoint: Endpoint;
  readonly refreshMs: number;
  /** The venue's time (epoch ms) in a well-formed 200 answer of the call. */
  timeOf(body: string): number;
  /** The call's answer for the venue's time `ms`. */
  answer(ms: number): string;
}

/** The venue's REST market-data API: the calls served under {@link prefix}, their weights and errors. */
export interface RestDialect<Endpoint extends string = string> {
  /** The API's path prefix, `/` included at both ends (`/api/v3/`). */
  readonly prefix: string;
  /**
   * Where the calls live on the source's REST base, `/` at both ends, when not at {@link prefix} (Bybit:
   * `/bybit/v5/market/` here is `/v5/market/` on `https://api.bybit.com`).
   */
  readonly upstreamPrefix?: string;
  /** The calls served, each at `<prefix><endpoint>`. */
  readonly endpoints: readonly Endpoint[];
  /** The `Content-Type` of the venue's JSON answers, error bodies included. */
  readonly contentType: string;
  /** The weight a call costs: against each client address's budget, and the budget the gateway shares upstream. */
  weight(endpoint: Endpoint, query: URLSearchParams): number;
  /** The venue's error body for a query outside the call's rules, or undefined for a well-formed one. */
  queryError(endpoint: Endpoint, query: URLSearchParams): RestErrorBody | undefined;
  /** Each client address's weight budget, as the venue keeps one per address. */
  readonly clientBudget: WeightBudgetOptions;
  /** The venue's used-weight headers and its answers past the budget. */
  readonly weightAnswers: WeightAnswers<RestErrorBody>;
  /** The bound and shape of a forwarded call's answer. */
  answerRule(endpoint: Endpoint): AnswerRule;
  /** Calls the gateway answers itself, with their 200 body: they test the API a client talks to, the gateway's. */
  readonly localAnswers: ReadonlyMap<Endpoint, string>;
  /** The server-time call answered from the gateway's clock, when the venue's served calls include one. */
  readonly clock?: ClockCall<Endpoint>;
  /**
   * Calls whose answers about the query (200, or 400 for an unknown one) are kept per query and shared
   * by every client, with how long (ms) each copy is kept.
   */
  readonly keptMs: ReadonlyMap<Endpoint, number>;
  /** The kept call and its query (`?…`) that describe one symbol (uppercase), asked before serving its book. */
  symbolInfo(symbol: string): { readonly endpoint: Endpoint; readonly search: string };
  /** The order book depth a depth query asks for. */
  depthLimit(query: URLSearchParams): number;
  /** The deepest book the venue serves. */
  readonly depthMaxLimit: number;
  /** True for a body the venue sends with an error status. */
  isError(body: unknown): boolean;
  readonly errors: {
    /** The answer to a path under the prefix that is not a served call. */
    unknownPath(method: string, path: string): RestErrorBody;
    /** The answer when a client, or the gateway upstream, has no weight left this minute. */
    tooMuchWeight(limitPerMinute: number): RestErrorBody;
    /** The venue cannot serve the request now. */
    readonly internal: RestErrorBody;
    /** The venue is too busy to serve the request. */
    readonly busy: RestErrorBody;
    /**
     * The answer to a served call this gateway cannot serve, `message` saying why (its source has no
     * REST API or order books); sent with 404, the status of a path the venue does not serve.
     */
    unavailable(message: string): RestErrorBody;
  };
}

/**
 * Order-book topics of a venue whose every subscription starts with a snapshot of its own (Bybit
 * `orderbook.{depth}.{symbol}`). Behind a shared upstream subscription only the first client gets the
 * venue's snapshot; a client joining later is sent one built from the source's kept book, then the
 * updates that follow it.
 */
export interface SeededBooks {
  /** The book a stream carries (symbol as the source's books take it, depth), or undefined for any other stream. */
  bookOf(stream: string): { readonly symbol: string; readonly depth: number } | undefined;
  /** The venue's snapshot frame of `stream` for `book`'s state at `now` (epoch ms). */
  snapshotFrame(stream: string, book: OrderBookView, now: number): string;
  /** A frame's update id and whether it is a snapshot (which resets a book), or undefined when it is none. */
  readFrame(frame: Buffer): { readonly updateId: number; readonly snapshot: boolean } | undefined;
}

export interface Dialect<Endpoint extends string = string> {
  /**
   * The WebSocket endpoints: each path, and every path under it, is upgraded (a plain request to one is
   * told to upgrade).
   */
  readonly webSocketPaths: readonly string[];
  /**
   * The path prefix of a venue served under `/<venue>/` (`/bybit/`): an upgrade anywhere under it is
   * this dialect's to answer, refusals included. Undefined for the venue served at the root (Binance).
   */
  readonly pathPrefix?: string;
  /** Parses an upgrade's request target (`req.url`). */
  connectionPath(target: string | undefined): ConnectionPath;
  readonly clientLimits: ClientLimits;
  /**
   * Carries out one control message a client sent on `target` and returns the reply to send, or the
   * replies in order (OKX acknowledges each arg of a request on its own).
   */
  answerControl(text: string, target: ControlTarget): string | readonly string[];
  /** Order-book topics whose subscriptions each start with a snapshot; undefined when the venue has none. */
  readonly seededBooks?: SeededBooks;
  readonly rest: RestDialect<Endpoint>;
}
