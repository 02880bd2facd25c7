/**
 * Bybit's v5 market REST API on the simulator's port, under `/bybit/v5/market/`: instruments-info,
 * orderbook, recent-trade and kline, answered as Bybit does (`retCode`/`retMsg`/`result`/`retExtInfo`/
 * `time`; a bad parameter is HTTP 200 with `retCode` 10001). Requests per IP are capped at Bybit's 600 per
 * 5 s (403 "access too frequent" beyond), and the injected refusal and latency apply as to Binance's API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KLINE_MAX_LIMIT, ORDERBOOK_REST_MAX, RECENT_TRADES_MAX } from '../../exchange/bybit/limits.js';
import type { BybitMarket } from '../../exchange/bybit/rest.js';
import { bookDepthFor, isSymbol, KLINE_INTERVALS } from '../../exchange/bybit/streams.js';
import { parseRequestTarget } from '../../http/request-target.js';
import { BucketedWindowPerKey } from '../../limits/bucketed-window.js';
import { KlineHistory, SequencedHistory } from '../rest/feed-history.js';
import { internalBook, notFound, VenueRestApi, type VenueRestContext } from '../venue-rest.js';
import type { TopicFeeds } from './topic-feeds.js';
import { binanceInterval, klineRow, tradeRow } from './translate.js';

export const BYBIT_REST_PREFIX = '/bybit/v5/market/';
const REQUESTS_PER_WINDOW = 600;
const WINDOW_MS = 5000;

export type BybitRestContext = VenueRestContext<TopicFeeds>;

class ParamError extends Error {}

type Handler = (q: URLSearchParams, category: BybitMarket, ctx: BybitRestContext) => Record<string, unknown>;

function symbolOf(q: URLSearchParams): string {
  const symbol = q.get('symbol');
  if (!isSymbol(symbol)) throw new ParamError('params error: symbol invalid');
  return symbol;
}

function limitOf(q: URLSearchParams, fallback: number, max: number): number {
  const raw = q.get('limit');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ParamError(`params error: limit must be 1-${max}`);
  return n;
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  'instruments-info': (q, category, ctx) => {
    const only = q.get('symbol');
    const list = (only === null ? ctx.symbols.map((s) => s.toUpperCase()) : [symbolOf(q)]).map((symbol) => {
      const quote =
        ['USDT', 'USDC', 'BTC'].find((x) => symbol.endsWith(x) && symbol.length > x.length) ?? 'USDT';
      return {
        symbol,
        baseCoin: symbol.slice(0, symbol.length - quote.length),
        quoteCoin: quote,
        status: 'Trading',
        ...(category === 'linear' ? { contractType: 'LinearPerpetual', settleCoin: quote } : {}),
        lotSizeFilter: { basePrecision: '0.00000001', minOrderQty: '0.00000001', maxOrderQty: '9000000' },
        priceFilter: { tickSize: '0.01' },
      };
    });
    return { category, list, nextPageCursor: '' };
  },
  orderbook: (q, category, ctx) => {
    const symbol = symbolOf(q);
    const limit = limitOf(q, category === 'spot' ? 1 : 25, ORDERBOOK_REST_MAX[category]);
    const now = ctx.clock();
    // The book of the topic deep enough for `limit`, when one runs, so its `u` matches what it streams.
    const topic = ctx.feeds.get(`orderbook.${bookDepthFor(limit)}.${symbol}`);
    if (topic !== undefined && topic.sessions.size > 0) {
      const view = topic.view();
      const b = view.bids.slice(0, limit);
      const a = view.asks.slice(0, limit);
      return { s: symbol, b, a, ts: now, u: view.u, seq: view.u, cts: now };
    }
    const book = internalBook(ctx.hub, `${symbol.toLowerCase()}@depth@100ms`, limit);
    if (book === undefined) return { s: symbol, b: [], a: [], ts: now, u: 0, seq: 0, cts: now };
    const u = book.lastUpdateId;
    return { s: symbol, b: book.bids, a: book.asks, ts: now, u, seq: u, cts: now };
  },
  'recent-trade': (q, category, ctx) => {
    const symbol = symbolOf(q);
    const max = RECENT_TRADES_MAX[category];
    const limit = limitOf(q, category === 'spot' ? 60 : 500, max);
    const history = ctx.hub.catchUp(`${symbol.toLowerCase()}@trade`)?.history;
    const rows = history instanceof SequencedHistory ? history.latest(limit) : [];
    // Newest first, as Bybit lists them.
    return { category, list: rows.map(tradeRow).reverse() };
  },
  kline: (q, category, ctx) => {
    const symbol = symbolOf(q);
    const interval = q.get('interval') ?? '';
    if (!KLINE_INTERVALS.has(interval)) throw new ParamError('params error: interval invalid');
    const limit = limitOf(q, 200, KLINE_MAX_LIMIT);
    const start = q.get('start') === null ? undefined : Number(q.get('start'));
    const end = q.get('end') === null ? Number.MAX_SAFE_INTEGER : Number(q.get('end'));
    if ((start !== undefined && !Number.isFinite(start)) || !Number.isFinite(end))
      throw new ParamError('params error: start/end invalid');
    const history = ctx.hub.catchUp(`${symbol.toLowerCase()}@kline_${binanceInterval(interval)}`)?.history;
    const rows = history instanceof KlineHistory ? history.between(start, end, limit) : [];
    return { category, symbol, list: rows.map(klineRow).reverse() };
  },
};

export class BybitRestApi extends VenueRestApi<BybitRestContext> {
  private readonly requests: BucketedWindowPerKey;
  /** Requests counted against the per-IP cap, per endpoint (`kline`, or the unknown path's name). */
  readonly counts = new Map<string, number>();

  constructor(ctx: BybitRestContext) {
    super(ctx);
    this.requests = new BucketedWindowPerKey(REQUESTS_PER_WINDOW, WINDOW_MS, ctx.clock);
  }

  protected answer(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.ctx.refusal();
    if (refusal !== undefined) {
      res.writeHead(refusal.status, {
        'content-type': 'application/json',
        ...(refusal.retryAfterS === undefined ? {} : { 'retry-after': String(refusal.retryAfterS) }),
      });
      res.end(
        JSON.stringify({
          retCode: 10006,
          retMsg: 'Too many visits!',
          result: {},
          retExtInfo: {},
          time: this.ctx.clock(),
        }),
      );
      return;
    }
    if (!this.requests.tryRecord(req.socket.remoteAddress ?? 'unknown')) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('access too frequent');
      return;
    }
    const target = parseRequestTarget(req.url);
    const name = target?.pathname.slice(BYBIT_REST_PREFIX.length) ?? '';
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    const handler = HANDLERS[name];
    if (req.method !== 'GET' || target === undefined || handler === undefined) {
      notFound(res);
      return;
    }
    const q = target.searchParams;
    const body = (retCode: number, retMsg: string, result: Record<string, unknown>) =>
      JSON.stringify({ retCode, retMsg, result, retExtInfo: {}, time: this.ctx.clock() });
    let text: string;
    const category = q.get('category');
    if (category !== 'spot' && category !== 'linear') {
      text = body(10001, 'params error: category invalid', {});
    } else {
      try {
        text = body(0, 'OK', handler(q, category, this.ctx));
      } catch (err) {
        if (!(err instanceof ParamError)) throw err;
        text = body(10001, err.message, {});
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  }
}
