/**
 * OKX v5 public market data as the client side reads it. A manager's `url` is the host
 * (`wss://ws.okx.com:8443`, or a simulator's `ws://host:port/okx`); each connection opens
 * `${url}/ws/v5/public`, or `${url}/ws/v5/business` for candles, by the streams it carries.
 * Sources: OKX's changelog and help pages, and the okx-api and ccxt code (see /docs/venues.md).
 */
import type { Exchange, SequenceRange } from '../exchange.js';
import { httpBaseOf } from '../http-base.js';
import { payloadOf, readOkxFrame } from './frames.js';
import { okxHistory, tradeRange } from './history.js';
import {
  ARGS_PER_MESSAGE,
  CONNECTION_ATTEMPTS,
  CONNECTION_LIFETIME_MS,
  CONTROL_MESSAGES,
  MESSAGES_PER_SECOND,
  PING_INTERVAL_MS,
  PING_MESSAGE,
  PONG_TIMEOUT_MS,
  REST_BAN_MS,
  REST_WEIGHT_PER_MINUTE,
  STREAMS_PER_CONNECTION,
} from './limits.js';
import { okxMarket } from './normalise.js';
import { okxOrderBook } from './order-book.js';
import { argOf, isInstId, isValidChannel, parseChannel, routeOf } from './streams.js';

/**
 * The REST base of an OKX WebSocket base: `wss://ws.okx.com:8443` → `https://www.okx.com` (and the
 * regional hosts likewise); any other host keeps its host and path with the scheme made HTTP (a
 * simulator serves both under one prefix).
 */
function restBaseFor(wsUrl: string): string | undefined {
  return httpBaseOf(wsUrl, (url) => {
    const okx = /^ws(pap|eea|us)?\.okx\.com$/.exec(url.hostname);
    if (okx === null) return undefined;
    return `https://${okx[1] === 'eea' ? 'eea' : okx[1] === 'us' ? 'us' : 'www'}.okx.com`;
  });
}

/** Trades carry contiguous ids; books are checked by their own procedure (prevSeqId), the rest carry none. */
function ruleOf(kind: string): 'contiguous' | undefined {
  return kind === 'trades' ? 'contiguous' : undefined;
}

function range(kind: string, data: Record<string, unknown>): SequenceRange | undefined {
  return kind === 'trades' ? tradeRange(data) : undefined;
}

function rangeIn(kind: string, bytes: Buffer, start: number, end: number): SequenceRange | undefined {
  if (kind !== 'trades') return undefined;
  try {
    return tradeRange(JSON.parse(bytes.toString('utf8', start, end)) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** OKX v5 public (`/ws/v5/public`, candles on `/ws/v5/business`). */
export const okx: Exchange = Object.freeze<Exchange>({
  name: 'okx',
  streams: {
    parse: parseChannel,
    isValid: isValidChannel,
    isSymbol: isInstId,
    symbolRule: 'an OKX instrument id such as "BTC-USDT" or "BTC-USDT-SWAP"',
  },
  endpoints: {
    exampleUrl: 'wss://ws.okx.com:8443',
    connectionUrl: (baseUrl, route = 'public') => `${baseUrl}/ws/v5/${route}`,
    routeOf,
    // OKX has no single-channel URL: a connection subscribes by message only.
    singleStreamUrl: (baseUrl, stream) => `${baseUrl}/ws/v5/${routeOf(stream)}`,
    restBaseFor,
  },
  control: {
    argsPerMessage: ARGS_PER_MESSAGE,
    // OKX echoes `id` in the acknowledgement and in the error of the request.
    encode: (method, streams, id) =>
      `{"id":"${id}","op":"${method}","args":[${streams.map(argOf).join(',')}]}`,
    encodeList: undefined,
  },
  frames: { read: readOkxFrame, readSingle: readOkxFrame, framesAreCombined: false, payloadOf },
  // The server sends no pings and closes a connection silent for 30 s: this side sends the text `ping`
  // every 20 s, and a connection whose `pong` does not come is replaced.
  heartbeat: {
    pongDeadlineMs: undefined,
    pingMessage: PING_MESSAGE,
    keepAliveMs: PING_INTERVAL_MS,
    pongTimeoutMs: PONG_TIMEOUT_MS,
  },
  limits: {
    streamsPerConnection: STREAMS_PER_CONNECTION,
    argCharsPerConnection: undefined,
    incomingMessagesPerSecond: MESSAGES_PER_SECOND,
    // A second more than OKX's hour: a request's transit time must not put two hours' worth in one.
    controlMessages: { limit: CONTROL_MESSAGES.limit, windowMs: CONTROL_MESSAGES.windowMs + 1_000 },
    connectionAttempts: CONNECTION_ATTEMPTS,
    connectionLifetimeMs: CONNECTION_LIFETIME_MS,
    restWeightPerMinute: REST_WEIGHT_PER_MINUTE,
    usedWeightHeader: undefined,
    banMs: REST_BAN_MS,
  },
  sequence: { ruleOf, range, rangeIn },
  history: okxHistory,
  book: okxOrderBook,
  market: okxMarket,
});

export type { OkxTrade, OkxTradesPush } from './normalise.js';
