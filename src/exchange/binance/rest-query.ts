/**
 * The query rules of Binance's public market-data endpoints ("Market Data endpoints": mandatory and
 * optional parameters, their formats and combinations), checked before any data is looked at. The
 * simulator answers with them, and the gateway refuses a bad query itself instead of spending the
 * exchange's weight on it. Whether a well-formed symbol exists (-1121) is the data's business, not these rules'.
 */

import {
  AGG_TRADES_MAX_SPAN_MS,
  DEPTH_DEFAULT_LIMIT,
  DEPTH_MAX_LIMIT,
  depthWeight,
  LIST_MAX_LIMIT,
  REST_WEIGHTS,
  type RestErrorBody,
  RestErrors,
} from './rest-limits.js';
import { KLINE_INTERVALS } from './streams.js';

/** The public market-data endpoints, by their path after `/api/v3/`. */
export const REST_ENDPOINTS = [
  'ping',
  'time',
  'exchangeInfo',
  'depth',
  'trades',
  'aggTrades',
  'klines',
] as const;
export type RestEndpoint = (typeof REST_ENDPOINTS)[number];

export function isRestEndpoint(name: string): name is RestEndpoint {
  return (REST_ENDPOINTS as readonly string[]).includes(name);
}

const SYMBOL_RE = /^[A-Z0-9-_.]{1,20}$/;
const INTEGER_RE = /^[0-9]{1,20}$/;

/** The request weight of a call: fixed per endpoint, by `limit` for /depth. */
export function requestWeight(endpoint: RestEndpoint, query: URLSearchParams): number {
  return endpoint === 'depth' ? depthWeight(depthLimit(query)) : REST_WEIGHTS[endpoint];
}

/** The effective `limit` of /depth (larger values are cut to 5000, as Binance truncates them); never throws. */
export function depthLimit(query: URLSearchParams): number {
  const value = Number(query.get('limit') ?? DEPTH_DEFAULT_LIMIT);
  return Number.isInteger(value) && value >= 1 ? Math.min(value, DEPTH_MAX_LIMIT) : DEPTH_DEFAULT_LIMIT;
}

/** The error Binance answers a malformed query with (status 400), or undefined when the query is well-formed. */
export function queryError(endpoint: RestEndpoint, query: URLSearchParams): RestErrorBody | undefined {
  switch (endpoint) {
    case 'ping':
    case 'time':
      return undefined;
    case 'exchangeInfo':
      return query.get('symbol') === null ? undefined : symbolError(query);
    case 'depth':
      return symbolError(query) ?? limitError(query, DEPTH_MAX_LIMIT);
    case 'trades':
      return symbolError(query) ?? limitError(query, LIST_MAX_LIMIT);
    case 'aggTrades':
      return symbolError(query) ?? aggTradesError(query);
    case 'klines':
      return symbolError(query) ?? klinesError(query);
  }
}

function symbolError(query: URLSearchParams): RestErrorBody | undefined {
  const value = query.get('symbol');
  if (value === null || value === '') return RestErrors.mandatory('symbol');
  if (!SYMBOL_RE.test(value)) return RestErrors.illegalParameter('symbol', SYMBOL_RE.source);
  return undefined;
}

function integerError(query: URLSearchParams, name: string): RestErrorBody | undefined {
  const value = query.get(name);
  if (value === null || INTEGER_RE.test(value)) return undefined;
  return RestErrors.illegalParameter(name, INTEGER_RE.source);
}

function limitError(query: URLSearchParams, max: number): RestErrorBody | undefined {
  const error = integerError(query, 'limit');
  if (error !== undefined) return error;
  return query.get('limit') !== null && Number(query.get('limit')) < 1
    ? RestErrors.illegalParameter('limit', `1 to ${max}`)
    : undefined;
}

function aggTradesError(query: URLSearchParams): RestErrorBody | undefined {
  const error =
    integerError(query, 'fromId') ??
    integerError(query, 'startTime') ??
    integerError(query, 'endTime') ??
    limitError(query, LIST_MAX_LIMIT);
  if (error !== undefined) return error;
  const has = (name: string): boolean => query.get(name) !== null;
  if (has('fromId') && (has('startTime') || has('endTime'))) return RestErrors.badCombination();
  if (
    has('startTime') &&
    has('endTime') &&
    Number(query.get('endTime')) - Number(query.get('startTime')) > AGG_TRADES_MAX_SPAN_MS
  )
    return RestErrors.intervalTooBig();
  return undefined;
}

function klinesError(query: URLSearchParams): RestErrorBody | undefined {
  const interval = query.get('interval');
  if (interval === null || interval === '') return RestErrors.mandatory('interval');
  if (!(KLINE_INTERVALS as readonly string[]).includes(interval)) return RestErrors.invalidInterval();
  return (
    integerError(query, 'startTime') ?? integerError(query, 'endTime') ?? limitError(query, LIST_MAX_LIMIT)
  );
}
