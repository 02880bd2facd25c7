/**
 * Binance spot market data as the client side reads it: the `Exchange` adapter built from this folder's
 * modules (stream grammar, frames, limits, REST history, order-book procedure).
 * Source: Binance spot "WebSocket Streams" and "Market Data endpoints" documentation.
 */

import { sliceData } from '../../core/combined-frame.js';
import type { Exchange, SequenceRule } from '../exchange.js';
import { readCombinedFrame, readRawFrame } from './frames.js';
import { binanceHistory } from './history.js';
import { binanceMarket } from './normalise.js';
import { binanceOrderBook } from './order-book.js';
import { restBaseFor } from './rest-base.js';
import {
  FIRST_BAN_MS,
  LONGEST_BAN_MS,
  REQUEST_WEIGHT_PER_MINUTE,
  USED_WEIGHT_HEADER,
} from './rest-limits.js';
import {
  CONNECTION_ATTEMPT_WINDOW_MS,
  hasSequenceIds,
  isStreamSymbol,
  isValidStreamName,
  MAX_CONNECTION_ATTEMPTS,
  MAX_CONNECTION_LIFETIME_MS,
  MAX_INCOMING_MESSAGES_PER_SECOND,
  MAX_STREAMS_PER_CONNECTION,
  PONG_DEADLINE_MS,
  parseStreamName,
  sequenceRange,
  sequenceRangeIn,
} from './streams.js';

const CONTROL_METHODS = { subscribe: 'SUBSCRIBE', unsubscribe: 'UNSUBSCRIBE' } as const;

/**
 * trade `t` and aggTrade `a` grow by one per event; a depth diff covers `U`..`u` and the next one starts
 * at `u + 1`. bookTicker's `u` grows but is shared across a symbol's order-book updates, so it orders
 * (de-duplicates) without showing gaps.
 */
function sequenceRule(kind: string): SequenceRule | undefined {
  if (hasSequenceIds(kind)) return 'contiguous';
  return kind === 'bookTicker' ? 'ordered' : undefined;
}

export const binance: Exchange = Object.freeze<Exchange>({
  name: 'binance',
  streams: {
    parse: parseStreamName,
    isValid: isValidStreamName,
    isSymbol: isStreamSymbol,
    symbolRule: 'a lowercase Binance symbol such as "btcusdt"',
  },
  endpoints: {
    exampleUrl: 'wss://stream.binance.com:9443',
    connectionUrl: (baseUrl) => `${baseUrl}/stream`,
    singleStreamUrl: (baseUrl, stream) => `${baseUrl}/ws/${stream}`,
    restBaseFor,
  },
  control: {
    // No per-message cap is documented; one message may name every stream a connection can carry.
    argsPerMessage: MAX_STREAMS_PER_CONNECTION,
    encode: (method, streams, id) => JSON.stringify({ method: CONTROL_METHODS[method], params: streams, id }),
    encodeList: (id) => JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id }),
  },
  frames: {
    read: readCombinedFrame,
    readSingle: readRawFrame,
    framesAreCombined: true,
    payloadOf: sliceData,
  },
  // The server pings every 20 s and closes without a pong within 60 s; it answers a client's ping frame
  // with a pong at once, so probes are plain WebSocket pings.
  heartbeat: {
    pongDeadlineMs: PONG_DEADLINE_MS,
    pingMessage: undefined,
    keepAliveMs: undefined,
    pongTimeoutMs: undefined,
  },
  limits: {
    streamsPerConnection: MAX_STREAMS_PER_CONNECTION,
    argCharsPerConnection: undefined,
    incomingMessagesPerSecond: MAX_INCOMING_MESSAGES_PER_SECOND,
    connectionAttempts: { limit: MAX_CONNECTION_ATTEMPTS, windowMs: CONNECTION_ATTEMPT_WINDOW_MS },
    connectionLifetimeMs: MAX_CONNECTION_LIFETIME_MS,
    restWeightPerMinute: REQUEST_WEIGHT_PER_MINUTE,
    usedWeightHeader: USED_WEIGHT_HEADER,
    banMs: { first: FIRST_BAN_MS, longest: LONGEST_BAN_MS },
  },
  sequence: {
    ruleOf: sequenceRule,
    range: sequenceRange,
    rangeIn: sequenceRangeIn,
  },
  history: binanceHistory,
  book: binanceOrderBook,
  market: binanceMarket,
});
