/**
 * The public market-data endpoints of the simulated REST API (Binance spot "Market Data endpoints"),
 * answered from the same feeds the WebSocket streams carry. Each handler gets a query that passed
 * Binance's query rules (`queryError`, checked by the caller) and returns the JSON text of a 200 answer,
 * or throws a {@link RestError} (an unknown symbol, no book).
 */
import {
  AGG_TRADES_MAX_SPAN_MS,
  DEPTH_DEFAULT_LIMIT,
  DEPTH_MAX_LIMIT,
  LIST_DEFAULT_LIMIT,
  LIST_MAX_LIMIT,
  type RestErrorBody,
  RestErrors,
} from '../../exchange/binance/rest-limits.js';
import type { FeedHub } from '../feed-hub.js';
import { DepthDiffGenerator } from '../generators/book-generators.js';
import { formatFixed, multiplyUnits } from '../generators/decimal.js';
import { basePriceUnits, Market } from '../generators/market.js';
import { Random } from '../generators/random.js';
import { KlineHistory, SequencedHistory } from './feed-history.js';

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: RestErrorBody,
  ) {
    super(body.msg);
  }
}

export interface MarketDataContext {
  readonly hub: FeedHub;
  /** Configured symbols, lowercase; with those of started feeds, the ones the REST API knows (others get -1121). */
  readonly symbols: readonly string[];
  readonly clock: () => number;
  readonly weightLimit: number;
}

/** Quote assets recognised when splitting a symbol into base and quote for exchangeInfo. */
const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY'];

/** `symbol` (well-formed), one of the configured symbols or of a started feed; returns it lowercase. */
export function symbolParam(query: URLSearchParams, ctx: MarketDataContext): string {
  const lower = (query.get('symbol') ?? '').toLowerCase();
  if (!ctx.symbols.includes(lower) && !ctx.hub.hasSymbol(lower))
    throw new RestError(400, RestErrors.invalidSymbol());
  return lower;
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  return value === null ? undefined : Number(value);
}

/** `limit` (well-formed, at least 1), larger values cut to max, as Binance truncates them. */
function limitParam(query: URLSearchParams, fallback: number, max: number): number {
  return Math.min(integerParam(query, 'limit') ?? fallback, max);
}

export function depth(query: URLSearchParams, ctx: MarketDataContext): string {
  const symbol = symbolParam(query, ctx);
  const limit = limitParam(query, DEPTH_DEFAULT_LIMIT, DEPTH_MAX_LIMIT);
  // The book behind `<symbol>@depth@100ms`: the stream an order book is kept from.
  const feed = ctx.hub.catchUp(`${symbol}@depth@100ms`);
  if (!(feed?.generator instanceof DepthDiffGenerator))
    throw new RestError(503, {
      code: -1001,
      msg: 'Internal error; unable to process your request. Please try again.',
    });
  return feed.generator.book.snapshot(feed.generator.lastUpdateId, limit);
}

export function aggTrades(query: URLSearchParams, ctx: MarketDataContext): string {
  const symbol = symbolParam(query, ctx);
  const fromId = integerParam(query, 'fromId');
  const startTime = integerParam(query, 'startTime');
  const endTime = integerParam(query, 'endTime');
  const limit = limitParam(query, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const history = sequenced(ctx, `${symbol}@aggTrade`);
  let rows: string[];
  if (fromId !== undefined) rows = history.fromId(fromId, limit);
  else if (startTime !== undefined || endTime !== undefined) {
    const start = startTime ?? (endTime as number) - AGG_TRADES_MAX_SPAN_MS;
    rows = history.between(start, endTime ?? start + AGG_TRADES_MAX_SPAN_MS, limit);
  } else rows = history.latest(limit);
  // The REST row is the stream payload without `e`, `E` and `s`, which precede `a`.
  return `[${rows.map((p) => `{${p.slice(p.indexOf('"a":'))}`).join(',')}]`;
}

export function trades(query: URLSearchParams, ctx: MarketDataContext): string {
  const symbol = symbolParam(query, ctx);
  const limit = limitParam(query, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const rows = sequenced(ctx, `${symbol}@trade`).latest(limit);
  return JSON.stringify(
    rows.map((payload) => {
      const t = JSON.parse(payload) as { t: number; p: string; q: string; T: number; m: boolean; M: boolean };
      const quote = multiplyUnits(units(t.p), units(t.q));
      return {
        id: t.t,
        price: t.p,
        qty: t.q,
        quoteQty: formatFixed(quote),
        time: t.T,
        isBuyerMaker: t.m,
        isBestMatch: t.M,
      };
    }),
  );
}

export function klines(query: URLSearchParams, ctx: MarketDataContext): string {
  const symbol = symbolParam(query, ctx);
  const interval = query.get('interval') as string;
  const startTime = integerParam(query, 'startTime');
  const endTime = integerParam(query, 'endTime') ?? Number.MAX_SAFE_INTEGER;
  const limit = limitParam(query, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const history = ctx.hub.catchUp(`${symbol}@kline_${interval}`)?.history;
  if (!(history instanceof KlineHistory)) return '[]';
  return JSON.stringify(
    history.between(startTime, endTime, limit).map((payload) => {
      const { k } = JSON.parse(payload) as { k: Record<string, string | number> };
      return [k['t'], k['o'], k['h'], k['l'], k['c'], k['v'], k['T'], k['q'], k['n'], k['V'], k['Q'], '0'];
    }),
  );
}

export function exchangeInfo(query: URLSearchParams, ctx: MarketDataContext): string {
  const only = query.get('symbol') === null ? ctx.symbols : [symbolParam(query, ctx)];
  return JSON.stringify({
    timezone: 'UTC',
    serverTime: ctx.clock(),
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: ctx.weightLimit },
    ],
    exchangeFilters: [],
    symbols: only.map((symbol) => {
      const upper = symbol.toUpperCase();
      const quote = QUOTES.find((q) => upper.endsWith(q) && upper.length > q.length) ?? upper.slice(-4);
      const market = new Market(symbol, new Random(0));
      return {
        symbol: upper,
        status: 'TRADING',
        baseAsset: upper.slice(0, upper.length - quote.length),
        baseAssetPrecision: 8,
        quoteAsset: quote,
        quoteAssetPrecision: 8,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: formatFixed(market.tick),
            maxPrice: formatFixed(basePriceUnits(symbol) * 100),
            tickSize: formatFixed(market.tick),
          },
          {
            filterType: 'LOT_SIZE',
            minQty: formatFixed(market.lot),
            maxQty: '9000000.00000000',
            stepSize: formatFixed(market.lot),
          },
        ],
      };
    }),
  });
}

function sequenced(ctx: MarketDataContext, stream: string): SequencedHistory {
  const history = ctx.hub.catchUp(stream)?.history;
  return history instanceof SequencedHistory ? history : new SequencedHistory(1, 'a');
}

/** A decimal string of 8 decimals as integer 10^-8 units. */
function units(decimal: string): bigint {
  return BigInt(decimal.replace('.', ''));
}
