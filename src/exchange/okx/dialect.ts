/**
 * OKX v5 public market data as the gateway serves it, under `/okx` followed by OKX's own paths, so an OKX
 * client library whose host is replaced by the gateway's (and `/okx` added) works unchanged:
 * - WebSocket `/okx/ws/v5/public` (trades, books, books5, bbo-tbt, tickers) and `/okx/ws/v5/business`
 *   (candles): op-style `subscribe`/`unsubscribe` with `{channel, instId}` args, acknowledged one reply
 *   per arg (`{"event":"subscribe","arg":..,"connId":..}`, echoing the request's `id`), errors as
 *   `{"event":"error","code":..,"msg":..,"connId":..}`, the text `ping` answered with the text `pong`, and
 *   OKX's 480 subscribe/unsubscribe requests per connection per hour. Pushes reach the client as OKX sent
 *   them (`{arg, data}`, books with `action`).
 * - REST `/okx/api/v5/public/instruments` and `/okx/api/v5/market/{books,trades,history-trades,candles}`,
 *   forwarded to the source's REST base at `/api/v5/`, with OKX's body (`code`, `msg`, `data`) for every
 *   error the gateway gives itself.
 * Sources: OKX's changelog and help pages, the okx-api and ccxt code (see docs/venues.md and the limits).
 */
import type { BookLevel, OrderBookView } from '../../core/capabilities.js';
import type { ControlTarget, Dialect, RestDialect, RestErrorBody, SeededBooks } from '../dialect.js';
import {
  BOOK_MAX_DEPTH,
  CONNECTION_ATTEMPTS,
  CONTROL_MESSAGES,
  MESSAGES_PER_SECOND,
  PING_MESSAGE,
  PONG_MESSAGE,
  REST_BAN_MS,
  REST_WEIGHTS,
  STREAMS_PER_CONNECTION,
} from './limits.js';
import { parseChannel, routeOf } from './streams.js';

export type OkxEndpoint =
  | 'public/instruments'
  | 'market/books'
  | 'market/trades'
  | 'market/history-trades'
  | 'market/candles';

const REST_ENDPOINTS: readonly OkxEndpoint[] = Object.freeze([
  'public/instruments',
  'market/books',
  'market/trades',
  'market/history-trades',
  'market/candles',
]);

/** Where every OKX path lives on the gateway. */
export const OKX_PATH_PREFIX = '/okx/';
export const OKX_PUBLIC_PATH = '/okx/ws/v5/public';
export const OKX_BUSINESS_PATH = '/okx/ws/v5/business';

/**
 * The channels served. `books-l2-tbt` and `books50-l2-tbt` need a logged-in VIP connection, which the
 * gateway's shared upstream is not; candles are the business path's, the rest the public path's.
 */
const SERVED_KINDS: ReadonlySet<string> = new Set([
  'trades',
  'books',
  'books5',
  'bbo-tbt',
  'tickers',
  'candle',
]);

/**
 * OKX's error codes the gateway answers with: 60012 "Illegal request", 60014 "Requests too frequent",
 * 60018 "Wrong URL or channel ... doesn't exist" (the codes the simulator and OKX's SDKs know).
 */
const ILLEGAL_REQUEST = '60012';
const TOO_FREQUENT = '60014';
const NO_SUCH_CHANNEL = '60018';

/** "The total length of multiple channels cannot exceed 64 KB" in one request. */
const MAX_REQUEST_CHARS = 64 * 1024;

/**
 * REST: OKX limits each endpoint per IP per 2 s (books 40, candles 40, trades 100, history-trades 10,
 * instruments 20). One budget per client address in units of a `books` request, as the upstream budget
 * counts (limits.ts): 40 per 2 s, an endpoint allowing n per 2 s weighing 40 / n.
 */
const UNITS_PER_WINDOW = 40;
const WINDOW_MS = 2_000;
const WEIGHTS: Readonly<Record<OkxEndpoint, number>> = Object.freeze({
  'public/instruments': 2,
  'market/books': REST_WEIGHTS.books,
  'market/trades': REST_WEIGHTS.trades,
  'market/history-trades': REST_WEIGHTS.historyTrades,
  'market/candles': REST_WEIGHTS.candles,
});

/** OKX's REST body: `{"code":"50011","msg":"..","data":[]}`. */
function okxBody(code: string, msg: string): RestErrorBody {
  return Object.freeze({ code, msg, data: Object.freeze([]) });
}

/**
 * The codes the gateway answers with itself: 50011 is OKX's "Rate limit reached", 50026 its "System
 * error", 50013 "Systems are busy"; 50404 (ours, no OKX code) marks a path or call this gateway does not
 * serve.
 */
const RATE_LIMIT = '50011';
const NOT_SERVED = '50404';
const INTERNAL = okxBody('50026', 'System error. Try again later.');
const BUSY = okxBody('50013', 'Systems are busy. Please try again later.');
const RATE_LIMIT_MESSAGE =
  'Rate limit reached. Please refer to API documentation and throttle requests accordingly.';

/** An object of OKX's answer shape: a string `code` and `msg`, and a `data` array when it succeeded. */
function isOkxAnswer(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { code, msg, data } = body as { code?: unknown; msg?: unknown; data?: unknown };
  if (typeof code !== 'string' || typeof msg !== 'string') return false;
  return code !== '0' || Array.isArray(data);
}

function isOkxError(body: unknown): boolean {
  return isOkxAnswer(body) && (body as { code: string }).code !== '0';
}

/** Answer bounds: every instrument of a type runs to a few MB (options); a page far below. */
const INSTRUMENTS_MAX_BYTES = 16 << 20;
const PAGE_MAX_BYTES = 2 << 20;

export const okxRest: RestDialect<OkxEndpoint> = Object.freeze({
  prefix: '/okx/api/v5/',
  upstreamPrefix: '/api/v5/',
  endpoints: REST_ENDPOINTS,
  contentType: 'application/json',
  weight: (endpoint: OkxEndpoint) => WEIGHTS[endpoint],
  // OKX answers a bad parameter itself (HTTP 200, code 51000/51001): the query goes upstream as it is.
  queryError: () => undefined,
  clientBudget: Object.freeze({
    limit: UNITS_PER_WINDOW,
    windowMs: WINDOW_MS,
    // OKX documents no ban: an address past its budget is refused until the window ends, however often.
    requestsBeforeBan: Number.MAX_SAFE_INTEGER,
    banMs: REST_BAN_MS.first,
  }),
  weightAnswers: Object.freeze({
    // OKX's public calls carry no used-weight header.
    usedHeaders: Object.freeze([]),
    overLimit: () => okxBody(RATE_LIMIT, RATE_LIMIT_MESSAGE),
    banned: () => okxBody(RATE_LIMIT, RATE_LIMIT_MESSAGE),
  }),
  answerRule: (endpoint: OkxEndpoint) => ({
    maxBytes: endpoint === 'public/instruments' ? INSTRUMENTS_MAX_BYTES : PAGE_MAX_BYTES,
    wellFormed: isOkxAnswer,
  }),
  localAnswers: new Map<OkxEndpoint, string>(),
  // Instruments change rarely and every client library loads them on start (ccxt: one call per type).
  keptMs: new Map<OkxEndpoint, number>([['public/instruments', 60_000]]),
  symbolInfo: (symbol: string) => ({
    endpoint: 'public/instruments' as const,
    search: `?instType=SPOT&instId=${symbol}`,
  }),
  depthLimit: (query: URLSearchParams) => Number(query.get('sz') ?? 1),
  depthMaxLimit: BOOK_MAX_DEPTH,
  isError: isOkxError,
  errors: Object.freeze({
    unknownPath: (method: string, path: string) => okxBody(NOT_SERVED, `Route not found: ${method} ${path}`),
    tooMuchWeight: () => okxBody(RATE_LIMIT, RATE_LIMIT_MESSAGE),
    internal: INTERNAL,
    busy: BUSY,
    unavailable: (message: string) => okxBody(NOT_SERVED, message),
  }),
});

/** A level as OKX writes it: price, size, a deprecated "0", and the order count (not kept: "0"). */
function levelsText(levels: readonly BookLevel[]): string {
  let out = '[';
  for (let i = 0; i < levels.length; i++) {
    const [price, size] = levels[i]!;
    out += `${i > 0 ? ',' : ''}["${price}","${size}","0","0"]`;
  }
  return `${out}]`;
}

/**
 * `books` pushes `action:"snapshot"` on subscribe, then updates whose `prevSeqId` is the `seqId` before.
 * `books5` and `bbo-tbt` push whole books each time: a client joining them needs nothing.
 */
export const okxSeededBooks: SeededBooks = Object.freeze({
  bookOf(stream: string) {
    const channel = parseChannel(stream);
    if (channel?.kind !== 'books' || channel.symbol === undefined) return undefined;
    return { symbol: channel.symbol, depth: BOOK_MAX_DEPTH };
  },
  snapshotFrame(stream: string, book: OrderBookView, now: number) {
    const instId = stream.slice(stream.indexOf(':') + 1);
    // The checksum is 0, as OKX sends it since it retired the field; prevSeqId -1 marks a snapshot.
    return (
      `{"arg":{"channel":"books","instId":"${instId}"},"action":"snapshot","data":[{"asks":` +
      `${levelsText(book.asks(BOOK_MAX_DEPTH))},"bids":${levelsText(book.bids(BOOK_MAX_DEPTH))},` +
      `"ts":"${now}","checksum":0,"prevSeqId":-1,"seqId":${book.lastUpdateId}}]}`
    );
  },
  readFrame(frame: Buffer) {
    let push: { action?: unknown; data?: { seqId?: unknown }[] };
    try {
      push = JSON.parse(frame.toString('utf8')) as typeof push;
    } catch {
      return undefined;
    }
    const seqId = Array.isArray(push?.data) ? push.data[0]?.seqId : undefined;
    if (typeof seqId !== 'number') return undefined;
    return { updateId: seqId, snapshot: push.action === 'snapshot' };
  },
});

interface ControlRequest {
  id?: unknown;
  op?: unknown;
  args?: unknown;
}

/** A connection's subscribe/unsubscribe requests in its current window. */
interface RequestCount {
  windowStart: number;
  count: number;
}

export interface OkxControlOptions {
  /** Subscribe/unsubscribe requests a connection may send per window. @default 480 per hour (OKX) */
  readonly requests?: { readonly limit: number; readonly windowMs: number };
  readonly now?: () => number;
}

/** The request target's path, without its query. */
function pathOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/** The control protocol of one gateway: OKX's replies, its error codes and its request budget per connection. */
function controlAnswerer(
  options: OkxControlOptions,
): (text: string, target: ControlTarget) => string | readonly string[] {
  const { limit, windowMs } = options.requests ?? CONTROL_MESSAGES;
  const now = options.now ?? Date.now;
  // Per connection, dropped with it: the target object lives as long as its client.
  const counts = new WeakMap<ControlTarget, RequestCount>();

  const error = (target: ControlTarget, id: string | undefined, code: string, msg: string): string =>
    JSON.stringify({
      ...(id === undefined ? {} : { id }),
      event: 'error',
      code,
      msg,
      connId: target.connectionId ?? '',
    });

  const illegal = (target: ControlTarget, id: string | undefined, text: string): string =>
    error(target, id, ILLEGAL_REQUEST, `Illegal request: ${text.slice(0, 200)}`);

  /** Counts one request; false when the connection has none left in this window. */
  const admits = (target: ControlTarget): boolean => {
    const t = now();
    let count = counts.get(target);
    if (count === undefined) {
      count = { windowStart: t, count: 0 };
      counts.set(target, count);
    } else if (t - count.windowStart >= windowMs) {
      count.windowStart = t;
      count.count = 0;
    }
    if (count.count >= limit) return false;
    count.count++;
    return true;
  };

  return (text, target) => {
    if (text === PING_MESSAGE) return PONG_MESSAGE;
    let msg: ControlRequest;
    try {
      msg = JSON.parse(text) as ControlRequest;
    } catch {
      return illegal(target, undefined, text);
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      return illegal(target, undefined, text);
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const { op, args } = msg;
    if (op !== 'subscribe' && op !== 'unsubscribe') return illegal(target, id, text);
    if (!admits(target)) return error(target, id, TOO_FREQUENT, 'Requests too frequent.');
    if (text.length > MAX_REQUEST_CHARS)
      return error(target, id, ILLEGAL_REQUEST, 'Illegal request: the channels of one request exceed 64 KB');
    if (!Array.isArray(args) || args.length === 0) return illegal(target, id, text);

    // All args are checked before any is acted on: a request with a bad arg changes nothing.
    const route = pathOf(target.path) === OKX_BUSINESS_PATH ? 'business' : 'public';
    const streams: string[] = [];
    for (const a of args as { channel?: unknown; instId?: unknown }[]) {
      const channel = typeof a === 'object' && a !== null ? a.channel : undefined;
      const instId = typeof a === 'object' && a !== null ? a.instId : undefined;
      const parsed =
        typeof channel === 'string' && typeof instId === 'string'
          ? parseChannel(`${channel}:${instId}`)
          : undefined;
      if (parsed === undefined || !SERVED_KINDS.has(parsed.kind) || routeOf(parsed.name) !== route)
        return error(
          target,
          id,
          NO_SUCH_CHANNEL,
          `Wrong URL or channel:${String(channel)},instId:${String(instId)} doesn't exist`,
        );
      streams.push(parsed.name);
    }

    if (op === 'subscribe') {
      // A book channel asked for again is sent afresh (a snapshot first), as a client that lost step asks.
      const held = new Set(target.list());
      const again = streams.filter((s) => held.has(s) && okxSeededBooks.bookOf(s) !== undefined);
      if (again.length > 0) target.unsubscribe(again);
      const refusal = target.subscribe(streams);
      // The gateway words its refusals for Binance's `{"error":{"msg":..}}`; OKX's msg has its own lead.
      if (refusal !== undefined)
        return error(
          target,
          id,
          ILLEGAL_REQUEST,
          `Illegal request: ${refusal.replace(/^Invalid request: /, '')}`,
        );
    } else {
      target.unsubscribe(streams);
    }
    // One acknowledgement per arg, in the request's order, each with the channel as OKX names it.
    const connId = target.connectionId ?? '';
    return (args as { channel: string; instId: string }[]).map((a) =>
      JSON.stringify({
        ...(id === undefined ? {} : { id }),
        event: op,
        arg: { channel: a.channel, instId: a.instId },
        connId,
      }),
    );
  };
}

/** The gateway's OKX dialect; `options` shorten its per-connection request budget (tests). */
export function createOkxDialect(options: OkxControlOptions = {}): Dialect<OkxEndpoint> {
  const webSocketPaths = Object.freeze([OKX_PUBLIC_PATH, OKX_BUSINESS_PATH]);
  return Object.freeze<Dialect<OkxEndpoint>>({
    webSocketPaths,
    pathPrefix: OKX_PATH_PREFIX,
    connectionPath(target) {
      const path = pathOf(target);
      // OKX takes no channels in the URL: a connection starts empty and subscribes by message.
      if (path === OKX_PUBLIC_PATH || path === OKX_BUSINESS_PATH)
        return { ok: true, combined: false, streams: [] };
      return {
        ok: false,
        status: 404,
        reason: 'path',
        message: `not a WebSocket endpoint: OKX is served at ${OKX_PUBLIC_PATH} and ${OKX_BUSINESS_PATH} (candles)`,
      };
    },
    clientLimits: {
      streamsPerConnection: STREAMS_PER_CONNECTION,
      incomingMessagesPerSecond: MESSAGES_PER_SECOND,
      connectionAttempts: CONNECTION_ATTEMPTS,
    },
    answerControl: controlAnswerer(options),
    seededBooks: okxSeededBooks,
    rest: okxRest,
  });
}

/** OKX v5 public (`/okx/ws/v5/public`, candles on `/okx/ws/v5/business`) with OKX's REST market calls. */
export const okxDialect: Dialect<OkxEndpoint> = createOkxDialect();
