/**
 * Binance spot public market-data REST endpoints: request weights, limits and error shapes, shared by the
 * simulator and the gateway (which enforce them) and by the manager's REST client (which budgets for them).
 * Source: Binance spot API docs, "Market Data endpoints" and "LIMITS" (request weight per IP per minute).
 */

/** The content type of every Binance REST answer. */
export const BINANCE_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** REQUEST_WEIGHT limit of one IP per minute ("rateLimits" of /api/v3/exchangeInfo). */
export const REQUEST_WEIGHT_PER_MINUTE = 6000;
/** Header carrying the weight an IP used in the current minute. */
export const USED_WEIGHT_HEADER = 'x-mbx-used-weight-1m';
/** IP bans "scale in duration for repeat offenders, from 2 minutes to 3 days". */
export const FIRST_BAN_MS = 2 * 60_000;
export const LONGEST_BAN_MS = 3 * 24 * 3_600_000;

/** `/api/v3/depth`: weight by `limit` (default 100, at most 5000; larger limits are truncated to 5000). */
export function depthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

/** Fixed weights of the other public market-data endpoints. */
export const REST_WEIGHTS = {
  ping: 1,
  time: 1,
  exchangeInfo: 20,
  trades: 25,
  aggTrades: 4,
  klines: 2,
} as const;

export const DEPTH_DEFAULT_LIMIT = 100;
export const DEPTH_MAX_LIMIT = 5000;
/** Default and maximum `limit` of /trades, /aggTrades and /klines. */
export const LIST_DEFAULT_LIMIT = 500;
export const LIST_MAX_LIMIT = 1000;
/** /aggTrades: startTime and endTime at most one hour apart. */
export const AGG_TRADES_MAX_SPAN_MS = 3_600_000;

/** The body of every REST error Binance sends: `{"code":-1121,"msg":"Invalid symbol."}`. */
export interface RestErrorBody {
  code: number;
  msg: string;
}

/** Binance error codes the public market-data endpoints answer with (docs: "Error codes"). */
export const RestErrors = {
  tooMuchWeight: (limit: number): RestErrorBody => ({
    code: -1003,
    msg: `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
  }),
  banned: (untilMs: number): RestErrorBody => ({
    code: -1003,
    msg: `Way too much request weight used; IP banned until ${untilMs}. Please use WebSocket Streams for live updates to avoid bans.`,
  }),
  illegalParameter: (name: string, legal: string): RestErrorBody => ({
    code: -1100,
    msg: `Illegal characters found in parameter '${name}'; legal range is '${legal}'.`,
  }),
  mandatory: (name: string): RestErrorBody => ({
    code: -1102,
    msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
  }),
  invalidInterval: (): RestErrorBody => ({ code: -1120, msg: 'Invalid interval.' }),
  invalidSymbol: (): RestErrorBody => ({ code: -1121, msg: 'Invalid symbol.' }),
  intervalTooBig: (): RestErrorBody => ({
    code: -1127,
    msg: 'More than 1 hours between startTime and endTime.',
  }),
  badCombination: (): RestErrorBody => ({ code: -1128, msg: 'Combination of optional parameters invalid.' }),
  unknownPath: (method: string, path: string): RestErrorBody => ({
    code: -5000,
    msg: `Path ${path}, Method ${method} is invalid`,
  }),
} as const;
