/**
 * Bybit v5 public market data (spot and linear) as the client side reads it: one `Exchange` per
 * category, since each has its own WebSocket path and its own limits. A manager's `url` is the host
 * (`wss://stream.bybit.com`, or a simulator's `ws://host:port/bybit`); the category's path is added.
 * Source: Bybit v5 "Connect", "Rate Limit", "Orderbook", "Trade", "Kline", "Ticker", "Get Recent Public
 * Trades" pages (bybit-exchange.github.io/docs/v5).
 */
import type { Exchange } from '../exchange.js';
import { httpBaseOf } from '../http-base.js';
import { payloadOf, readTopicFrame } from './frames.js';
import { bybitHistory } from './history.js';
import {
  ARG_CHARS_PER_CONNECTION,
  CONNECTION_ATTEMPTS,
  CONNECTION_LIFETIME_MS,
  LINEAR_ARGS_PER_MESSAGE,
  MESSAGES_PER_SECOND,
  PING_INTERVAL_MS,
  PING_MESSAGE,
  PONG_TIMEOUT_MS,
  REST_BAN_MS,
  REST_REQUESTS_PER_MINUTE,
  SPOT_ARGS_PER_MESSAGE,
  STREAMS_PER_CONNECTION,
} from './limits.js';
import { bybitMarket } from './normalise.js';
import { bybitOrderBook } from './order-book.js';
import type { BybitMarket } from './rest.js';
import { isSymbol, isValidTopic, parseTopic } from './streams.js';

export type { BybitMarket } from './rest.js';

/**
 * The REST base of a Bybit WebSocket base: `wss://stream.bybit.com` → `https://api.bybit.com` (and the
 * testnet's likewise); any other host keeps its host and path with the scheme made HTTP (a simulator or
 * gateway serves both under one prefix).
 */
function restBaseFor(wsUrl: string): string | undefined {
  return httpBaseOf(wsUrl, (url) => {
    const bybit = /^stream(-testnet)?\.bybit\.com$/.exec(url.host);
    return bybit === null
      ? undefined
      : `https://api${bybit[1] ?? ''}.bybit.com${url.pathname.replace(/\/$/, '')}`;
  });
}

/** Every topic kind: none carries an id that shows a gap (see history.ts and order-book.ts). */
const NO_SEQUENCE = () => undefined;

function bybitExchange(category: BybitMarket): Exchange {
  return Object.freeze<Exchange>({
    name: 'bybit',
    streams: {
      parse: parseTopic,
      isValid: isValidTopic,
      isSymbol,
      symbolRule: 'an uppercase Bybit symbol such as "BTCUSDT"',
    },
    endpoints: {
      exampleUrl: 'wss://stream.bybit.com',
      connectionUrl: (baseUrl) => `${baseUrl}/v5/public/${category}`,
      // Bybit has no single-topic URL: a connection subscribes by message only.
      singleStreamUrl: (baseUrl) => `${baseUrl}/v5/public/${category}`,
      restBaseFor,
    },
    control: {
      argsPerMessage: category === 'spot' ? SPOT_ARGS_PER_MESSAGE : LINEAR_ARGS_PER_MESSAGE,
      encode: (method, streams, id) =>
        `{"op":"${method}","req_id":"${id}","args":${JSON.stringify(streams)}}`,
      encodeList: undefined,
    },
    frames: {
      read: readTopicFrame,
      readSingle: readTopicFrame,
      framesAreCombined: false,
      payloadOf,
    },
    // The server sends no pings: this side sends `{"op":"ping"}` every 20 s, and a connection whose
    // pong does not come is replaced.
    heartbeat: {
      pongDeadlineMs: undefined,
      pingMessage: PING_MESSAGE,
      keepAliveMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
    },
    limits: {
      streamsPerConnection: STREAMS_PER_CONNECTION,
      argCharsPerConnection: ARG_CHARS_PER_CONNECTION,
      incomingMessagesPerSecond: MESSAGES_PER_SECOND,
      connectionAttempts: CONNECTION_ATTEMPTS,
      connectionLifetimeMs: CONNECTION_LIFETIME_MS,
      restWeightPerMinute: REST_REQUESTS_PER_MINUTE,
      usedWeightHeader: undefined,
      banMs: { first: REST_BAN_MS, longest: REST_BAN_MS },
    },
    sequence: { ruleOf: NO_SEQUENCE, range: NO_SEQUENCE, rangeIn: NO_SEQUENCE },
    history: bybitHistory(category),
    book: bybitOrderBook,
    market: bybitMarket(category),
  });
}

/** Bybit spot (`/v5/public/spot`). */
export const bybitSpot: Exchange = bybitExchange('spot');
/** Bybit USDT/USDC perpetuals and futures (`/v5/public/linear`). */
export const bybitLinear: Exchange = bybitExchange('linear');

export { type RecentTradesRefill, refillRecentTrades, type TradeMark } from './history.js';
export type { BybitPublicTrade, BybitPublicTradeEnvelope } from './normalise.js';
