/**
 * Bybit v5 public market data: its documented limits, as data.
 * Sources: Bybit v5 "Connect" (WebSocket) and "Rate Limit" pages, bybit-exchange.github.io/docs/v5.
 */

/** Spot: "at most 10 args per subscribe request". */
export const SPOT_ARGS_PER_MESSAGE = 10;
/**
 * Linear: no args limit is documented; 500 is what Bybit's own SDK (bybit-api) packs per request, and the
 * characters cap per connection bounds it anyway.
 */
export const LINEAR_ARGS_PER_MESSAGE = 500;
/** "The args array ... must not exceed 21,000 characters" on one public connection. */
export const ARG_CHARS_PER_CONNECTION = 21_000;
/**
 * No count of topics per connection is documented beyond the characters cap; with the shortest topics
 * (`tickers.BTCUSDT`, 15 characters) the cap allows 1,400, so this bound rarely binds first (ours).
 */
export const STREAMS_PER_CONNECTION = 1_000;
/** "500 connections per 5 minutes", counted per WebSocket domain. */
export const CONNECTION_ATTEMPTS = { limit: 500, windowMs: 5 * 60_000 } as const;
/** The ping Bybit asks for, and how often: "send the ping heartbeat packet every 20 seconds". */
export const PING_MESSAGE = '{"op":"ping"}';
export const PING_INTERVAL_MS = 20_000;
/**
 * A pong that has not come within this is taken as a dead connection (ours: Bybit answers at once;
 * its SDK waits 1 s, we allow for a loaded link).
 */
export const PONG_TIMEOUT_MS = 10_000;
/**
 * Bybit documents no lifetime for public connections; rotating once a day keeps a connection from
 * living forever on a host that may be drained (ours).
 */
export const CONNECTION_LIFETIME_MS = 24 * 3_600_000;
/**
 * Messages this side sends per second per connection: undocumented for public streams; 10 keeps pings
 * and batched subscribes well clear of any server-side flood check (ours).
 */
export const MESSAGES_PER_SECOND = 10;
/**
 * REST: "600 requests per 5 seconds per IP"; as a per-minute weight of 1 per request that is 7,200, of
 * which the manager budgets a share. Breaking it answers 403 "access too frequent": stop for 10 minutes.
 */
export const REST_REQUESTS_PER_MINUTE = 7_200;
export const REST_BAN_MS = 10 * 60_000;
/** `/v5/market/recent-trade`: spot answers at most 60 trades, the other categories 1,000. */
export const RECENT_TRADES_MAX = { spot: 60, linear: 1_000 } as const;
/** `/v5/market/kline`: at most 1,000 candles per request. */
export const KLINE_MAX_LIMIT = 1_000;
/** `/v5/market/orderbook`: 1 to 200 levels on spot, 1 to 500 on linear. */
export const ORDERBOOK_REST_MAX = { spot: 200, linear: 500 } as const;
/** Depths the `orderbook.{depth}.{symbol}` topic offers on spot and linear. */
export const BOOK_DEPTHS = [1, 50, 200, 1000] as const;
