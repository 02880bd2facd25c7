/**
 * OKX v5 public market data: its limits, as data. OKX's own API page was not readable from here; each
 * figure names where it comes from, and "(ours)" marks our own choice where OKX documents none.
 */

/**
 * "The total length of multiple channels cannot exceed 64 KB" in one request. An arg is at most about
 * 70 characters (`{"channel":"books50-l2-tbt","instId":"BTC-USD-250627-100000-C"}`), so 500 args stay
 * near 35 KB (ours).
 */
export const ARGS_PER_MESSAGE = 500;
/** No count of channels per connection is documented; 1,000 keeps one connection's resubscribe in two requests (ours). */
export const STREAMS_PER_CONNECTION = 1_000;
/**
 * "480 subscribe/unsubscribe/login requests per connection per hour" (secondary sources: NautilusTrader's
 * OKX quota, skip-mev's OKX provider notes; unconfirmed against okx.com).
 */
export const CONTROL_MESSAGES = { limit: 480, windowMs: 3_600_000 } as const;
/** "3 connection requests per second" per IP (same secondary sources). */
export const CONNECTION_ATTEMPTS = { limit: 3, windowMs: 1_000 } as const;
/**
 * "If there's no data return after connecting for 30 seconds, the connection will break": send the text
 * `ping` well before (ccxt sends it every 18 s, okx-api every 10 s), and expect the text `pong`.
 */
export const PING_MESSAGE = 'ping';
export const PONG_MESSAGE = 'pong';
export const PING_INTERVAL_MS = 20_000;
/** A pong not back within this is a dead connection (ours: okx-api waits 2 s; 20 s + 5 s stays under OKX's 30 s). */
export const PONG_TIMEOUT_MS = 5_000;
/** OKX documents no lifetime for public connections; rotating once a day anyway (ours). */
export const CONNECTION_LIFETIME_MS = 24 * 3_600_000;
/** Frames this side sends per second per connection: undocumented beyond the hourly cap above (ours). */
export const MESSAGES_PER_SECOND = 10;
/**
 * REST is limited per IP and per endpoint, in requests per 2 s: books 40, candles 40, trades 100,
 * history-trades 10 (ccxt's cost table for OKX, at its 100 ms base). As one per-minute budget in units of
 * one `books` request: 1,200 per minute, and a request of an endpoint allowing n per 2 s weighs 40 / n.
 * Breaking a limit answers 50011 "Rate limit reached"; no ban is documented, so a refusal waits briefly.
 */
export const REST_WEIGHT_PER_MINUTE = 1_200;
export const REST_WEIGHTS = { books: 1, candles: 1, trades: 1, historyTrades: 4 } as const;
export const REST_BAN_MS = { first: 2_000, longest: 60_000 } as const;
/** `/api/v5/market/history-trades` and `/trades`: at most 100 trades per page. */
export const TRADES_PAGE_MAX = 100;
/** `/api/v5/market/candles`: at most 300 candles per request. */
export const CANDLES_PAGE_MAX = 300;
/** `books` carries 400 levels per side; `/api/v5/market/books` answers up to 400 (`sz`). */
export const BOOK_MAX_DEPTH = 400;
/** Trades refilled per gap at most: ten history-trades pages (ours). */
export const MAX_REFILL_TRADES = 1_000;
