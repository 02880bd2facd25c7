/**
 * Bybit v5 public market data as the gateway serves it, under `/bybit` followed by Bybit's own paths, so a
 * Bybit client library whose host is replaced by the gateway's (and `/bybit` added) works unchanged:
 * - WebSocket `/bybit/v5/public/spot` and `/bybit/v5/public/linear` (one dialect per category): op-style
 *   `subscribe`/`unsubscribe` answered with Bybit's reply (`success`, `ret_msg`, `conn_id`, `req_id`,
 *   `op`), the JSON `{"op":"ping"}` answered with its pong, and Bybit's limits on one connection (10 args
 *   per spot subscribe, 21,000 characters of args). Topic frames reach the client as Bybit sent them.
 * - REST `/bybit/v5/market/{instruments-info,orderbook,recent-trade,kline}`, forwarded to the source's
 *   REST base at `/v5/market/`, with Bybit's answer body (`retCode`, `retMsg`, `result`, `retExtInfo`,
 *   `time`) for every error the gateway gives itself.
 * Sources: Bybit v5 "Connect", "Rate Limit", "Market" pages (bybit-exchange.github.io/docs/v5).
 */
import type { ControlTarget, Dialect, RestDialect, RestErrorBody, SeededBooks } from '../dialect.js';
import {
  ARG_CHARS_PER_CONNECTION,
  CONNECTION_ATTEMPTS,
  LINEAR_ARGS_PER_MESSAGE,
  MESSAGES_PER_SECOND,
  REST_BAN_MS,
  SPOT_ARGS_PER_MESSAGE,
  STREAMS_PER_CONNECTION,
} from './limits.js';
import type { BybitMarket } from './rest.js';
import { isValidTopic, parseTopic } from './streams.js';

export type BybitEndpoint = 'instruments-info' | 'orderbook' | 'recent-trade' | 'kline';

const REST_ENDPOINTS: readonly BybitEndpoint[] = Object.freeze([
  'instruments-info',
  'orderbook',
  'recent-trade',
  'kline',
]);

/** Where every Bybit path lives on the gateway. */
export const BYBIT_PATH_PREFIX = '/bybit/';

/** The WebSocket path of a category on the gateway. */
export function bybitWebSocketPath(category: BybitMarket): string {
  return `/bybit/v5/public/${category}`;
}

/** "600 requests per 5 s per IP" ("Rate Limit"): each client address gets the same window here. */
const REQUESTS_PER_WINDOW = 600;
const WINDOW_MS = 5_000;

/**
 * A Bybit REST body: `time` is read when the body is sent, so a kept error object still tells the time
 * of its answer (the field is an enumerable getter, which JSON.stringify reads).
 */
function bybitBody(retCode: number, retMsg: string): RestErrorBody {
  return {
    retCode,
    retMsg,
    result: {},
    retExtInfo: {},
    get time() {
      return Date.now();
    },
  };
}

/**
 * The codes the gateway answers with itself: 10006 is Bybit's "Too many visits" (its rate-limit code),
 * 10016 its "Internal server error" / service error; 10404 (ours, in Bybit's not-found family) marks a
 * path or call this gateway does not serve.
 */
const TOO_MANY_VISITS = 10006;
const SERVICE_ERROR = 10016;
const NOT_SERVED = 10404;

const INTERNAL = bybitBody(SERVICE_ERROR, 'Internal server error.');
const BUSY = bybitBody(SERVICE_ERROR, 'Server is busy, please try again later.');

/** True for an object of Bybit's answer shape (`retCode` and `retMsg`, and a `result` when it succeeded). */
function isBybitAnswer(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { retCode, retMsg, result } = body as { retCode?: unknown; retMsg?: unknown; result?: unknown };
  if (typeof retCode !== 'number' || typeof retMsg !== 'string') return false;
  return retCode !== 0 || (typeof result === 'object' && result !== null);
}

function isBybitError(body: unknown): boolean {
  return isBybitAnswer(body) && (body as { retCode: number }).retCode !== 0;
}

/** Answer bounds: all instruments of a category run to about 1 MB; a 1,000-row page far below. */
const INSTRUMENTS_MAX_BYTES = 8 << 20;
const PAGE_MAX_BYTES = 2 << 20;

const bybitRest: RestDialect<BybitEndpoint> = Object.freeze({
  prefix: '/bybit/v5/market/',
  upstreamPrefix: '/v5/market/',
  endpoints: REST_ENDPOINTS,
  contentType: 'application/json; charset=utf-8',
  // Bybit counts requests, not weights: every call costs one.
  weight: () => 1,
  // Bybit answers a bad parameter itself (HTTP 200, retCode 10001): the query goes upstream as it is.
  queryError: () => undefined,
  clientBudget: Object.freeze({
    limit: REQUESTS_PER_WINDOW,
    windowMs: WINDOW_MS,
    requestsBeforeBan: REQUESTS_PER_WINDOW,
    banMs: REST_BAN_MS,
  }),
  weightAnswers: Object.freeze({
    // Bybit's public calls carry no used-requests header.
    usedHeaders: Object.freeze([]),
    overLimit: (limit: number) =>
      bybitBody(TOO_MANY_VISITS, `Too many visits! Limit ${limit} requests per 5 seconds per IP.`),
    banned: (until: number) =>
      bybitBody(TOO_MANY_VISITS, `access too frequent, banned until ${new Date(until).toISOString()}`),
  }),
  answerRule: (endpoint: BybitEndpoint) => ({
    maxBytes: endpoint === 'instruments-info' ? INSTRUMENTS_MAX_BYTES : PAGE_MAX_BYTES,
    wellFormed: isBybitAnswer,
  }),
  localAnswers: new Map<BybitEndpoint, string>(),
  // Instruments change rarely and every client asks for them on start: one copy per query for a minute.
  keptMs: new Map<BybitEndpoint, number>([['instruments-info', 60_000]]),
  symbolInfo: (symbol: string) => ({
    endpoint: 'instruments-info' as const,
    search: `?category=spot&symbol=${symbol}`,
  }),
  depthLimit: (query: URLSearchParams) => Number(query.get('limit') ?? 1),
  depthMaxLimit: 1000,
  isError: isBybitError,
  errors: Object.freeze({
    unknownPath: (method: string, path: string) =>
      bybitBody(NOT_SERVED, `Route not found: ${method} ${path}`),
    tooMuchWeight: (limitPerMinute: number) =>
      bybitBody(TOO_MANY_VISITS, `Too many visits! Limit ${limitPerMinute} requests per minute.`),
    internal: INTERNAL,
    busy: BUSY,
    unavailable: (message: string) => bybitBody(NOT_SERVED, message),
  }),
});

/**
 * Bybit's book topics (v5 "Orderbook"): each subscription pushes its own `snapshot`, then `delta`s with
 * `u` growing by one. Depth 1 is snapshot-only, so it needs nothing of this.
 */
const seededBooks: SeededBooks = Object.freeze({
  bookOf(stream: string) {
    const topic = parseTopic(stream);
    if (topic?.kind !== 'orderbook' || topic.param === '1' || topic.symbol === undefined) return undefined;
    return { symbol: topic.symbol, depth: Number(topic.param) };
  },
  snapshotFrame(stream: string, book: Parameters<SeededBooks['snapshotFrame']>[1], now: number) {
    const depth = Number(stream.split('.')[1]);
    const data = {
      s: stream.slice(stream.lastIndexOf('.') + 1),
      b: book.bids(depth),
      a: book.asks(depth),
      u: book.lastUpdateId,
    };
    return JSON.stringify({ topic: stream, type: 'snapshot', ts: now, data, cts: now });
  },
  readFrame(frame: Buffer) {
    let envelope: { type?: unknown; data?: { u?: unknown } };
    try {
      envelope = JSON.parse(frame.toString('utf8')) as typeof envelope;
    } catch {
      return undefined;
    }
    const u = envelope?.data?.u;
    if (typeof u !== 'number') return undefined;
    return { updateId: u, snapshot: envelope.type === 'snapshot' };
  },
});

interface ControlRequest {
  op?: unknown;
  args?: unknown;
  req_id?: unknown;
}

/** One category's control protocol: Bybit's replies and its limits on one connection. */
function controlAnswerer(category: BybitMarket): (text: string, target: ControlTarget) => string {
  const argsPerMessage = category === 'spot' ? SPOT_ARGS_PER_MESSAGE : LINEAR_ARGS_PER_MESSAGE;
  // Spot names the op in a success's ret_msg; linear leaves it empty ("Connect": success replies).
  const okMessage = (op: string) => (category === 'spot' ? op : '');

  const reply = (target: ControlTarget, op: string, reqId: unknown, success: boolean, retMsg: string) =>
    JSON.stringify({
      success,
      ret_msg: retMsg,
      conn_id: target.connectionId ?? '',
      req_id: typeof reqId === 'string' ? reqId : '',
      op,
    });

  const subscribe = (target: ControlTarget, args: readonly string[], reqId: unknown): string => {
    const fail = (message: string) => reply(target, 'subscribe', reqId, false, message);
    if (args.length > argsPerMessage) return fail(`error:args size >${argsPerMessage}`);
    const held = target.list();
    const seen = new Set(held);
    let chars = 0;
    for (const topic of held) chars += topic.length;
    for (const topic of args) {
      if (!isValidTopic(topic)) return fail(`error:handler not found,topic:${topic}`);
      if (seen.has(topic)) return fail(`error:already subscribed,topic:${topic}`);
      seen.add(topic);
      chars += topic.length;
    }
    if (chars > ARG_CHARS_PER_CONNECTION)
      return fail(`error:args length exceeds ${ARG_CHARS_PER_CONNECTION} characters`);
    const refusal = target.subscribe(args);
    // The gateway words its refusals for Binance's `{"error":{"msg":..}}`; Bybit's ret_msg has no such lead.
    if (refusal !== undefined) return fail(`error:${refusal.replace(/^Invalid request: /, '')}`);
    return reply(target, 'subscribe', reqId, true, okMessage('subscribe'));
  };

  return (text, target) => {
    let msg: ControlRequest;
    try {
      msg = JSON.parse(text) as ControlRequest;
    } catch {
      return reply(target, '', undefined, false, 'error:request not valid json');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      return reply(target, '', undefined, false, 'error:request not valid json');
    const { op, req_id: reqId, args } = msg;
    if (op === 'ping') return reply(target, 'ping', reqId, true, 'pong');
    if (op !== 'subscribe' && op !== 'unsubscribe') {
      const name = typeof op === 'string' ? op : '';
      return reply(target, name, reqId, false, `error:handler not found,op:${String(op)}`);
    }
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))
      return reply(target, op, reqId, false, 'error:args must be an array of topics');
    if (op === 'subscribe') return subscribe(target, args as string[], reqId);
    target.unsubscribe(args as string[]);
    return reply(target, op, reqId, true, okMessage('unsubscribe'));
  };
}

function bybitDialect(category: BybitMarket): Dialect<BybitEndpoint> {
  const path = bybitWebSocketPath(category);
  const webSocketPaths = Object.freeze([path]);
  return Object.freeze<Dialect<BybitEndpoint>>({
    webSocketPaths,
    pathPrefix: BYBIT_PATH_PREFIX,
    connectionPath(target) {
      if (target === undefined)
        return { ok: false, status: 404, reason: 'path', message: 'not a WebSocket endpoint' };
      const query = target.indexOf('?');
      const requested = query < 0 ? target : target.slice(0, query);
      // Bybit takes no streams in the URL: a connection starts empty and subscribes by message.
      if (requested === path) return { ok: true, combined: false, streams: [] };
      return {
        ok: false,
        status: 404,
        reason: 'path',
        message: `not a WebSocket endpoint: Bybit is served at ${bybitWebSocketPath('spot')} and ${bybitWebSocketPath('linear')}`,
      };
    },
    clientLimits: {
      streamsPerConnection: STREAMS_PER_CONNECTION,
      incomingMessagesPerSecond: MESSAGES_PER_SECOND,
      connectionAttempts: CONNECTION_ATTEMPTS,
    },
    answerControl: controlAnswerer(category),
    seededBooks,
    rest: bybitRest,
  });
}

/** Bybit spot (`/bybit/v5/public/spot`) with Bybit's REST market calls. */
export const bybitSpotDialect: Dialect<BybitEndpoint> = bybitDialect('spot');
/** Bybit linear (`/bybit/v5/public/linear`); its REST dialect is the spot one's (one API for both). */
export const bybitLinearDialect: Dialect<BybitEndpoint> = bybitDialect('linear');
