/**
 * OKX's v5 REST API on the simulator's port, under `/okx/api/v5/`: `market/books`, `market/trades`,
 * `market/history-trades`, `market/candles` and `public/instruments`, answered as OKX does
 * (`{"code":"0","msg":"","data":[..]}`; a bad parameter is HTTP 200 with a non-zero code such as 51000
 * "Parameter … error" or 51001 "Instrument ID does not exist"). Each endpoint has OKX's limit per IP
 * per 2 s (HTTP 429 with code 50011 beyond), and the injected refusal and latency apply as to Binance's API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BOOK_MAX_DEPTH, CANDLES_PAGE_MAX, TRADES_PAGE_MAX } from '../../exchange/okx/limits.js';
import { CANDLE_BARS, isInstId } from '../../exchange/okx/streams.js';
import { parseRequestTarget } from '../../http/request-target.js';
import { BucketedWindowPerKey } from '../../limits/bucketed-window.js';
import { KlineHistory, SequencedHistory } from '../rest/feed-history.js';
import { internalBook, notFound, VenueRestApi, type VenueRestContext } from '../venue-rest.js';
import type { ChannelFeeds } from './channel-feeds.js';
import { binanceInterval, candleRow, instIdOf, internalSymbol, tradeItem } from './translate.js';

export const OKX_REST_PREFIX = '/okx/api/v5/';
const WINDOW_MS = 2_000;

export type OkxRestContext = VenueRestContext<ChannelFeeds>;

class ParamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (q: URLSearchParams, ctx: OkxRestContext) => unknown[];

function instIdOfQuery(q: URLSearchParams): string {
  const instId = q.get('instId');
  if (instId === null) throw new ParamError('50014', 'Parameter instId can not be empty');
  if (!isInstId(instId)) throw new ParamError('51001', "Instrument ID doesn't exist");
  return instId;
}

function intOf(q: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = q.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ParamError('51000', `Parameter ${name} error`);
  return n;
}

function cursorOf(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new ParamError('51000', `Parameter ${name} error`);
  return n;
}

function tradeHistory(ctx: OkxRestContext, instId: string): SequencedHistory | undefined {
  const history = ctx.hub.catchUp(`${internalSymbol(instId)}@trade`)?.history;
  return history instanceof SequencedHistory ? history : undefined;
}

/** The id of a trade payload of the internal feed. */
function tradeIdOf(payload: string): number {
  return Number(/"t":(\d+)/.exec(payload)?.[1]);
}

/** A level as OKX writes it: price, size, a deprecated "0", and the order count. */
function bookRow(level: [string, string]): string[] {
  return [level[0], level[1], '0', '1'];
}

/** Endpoint → handler and its requests per IP per 2 s (OKX's figures). */
const ENDPOINTS: Readonly<Record<string, { limit: number; handle: Handler }>> = {
  'public/instruments': {
    limit: 20,
    handle: (q, ctx) => {
      const instType = q.get('instType');
      if (instType === null) throw new ParamError('50014', 'Parameter instType can not be empty');
      if (instType !== 'SPOT') return [];
      return ctx.symbols.map((s) => {
        const instId = instIdOf(s);
        const [baseCcy, quoteCcy] = instId.split('-');
        return {
          instType,
          instId,
          baseCcy,
          quoteCcy,
          state: 'live',
          tickSz: '0.01',
          lotSz: '0.00000001',
          minSz: '0.00001',
        };
      });
    },
  },
  'market/books': {
    limit: 40,
    handle: (q, ctx) => {
      const instId = instIdOfQuery(q);
      const sz = intOf(q, 'sz', 1, BOOK_MAX_DEPTH);
      const ts = String(ctx.clock());
      // The running `books` channel's view, so its seqId is the one the channel pushes.
      const channel = ctx.feeds.get(`books:${instId}`);
      if (channel !== undefined) {
        const view = channel.view(true);
        return [
          {
            asks: view.asks.slice(0, sz).map(bookRow),
            bids: view.bids.slice(0, sz).map(bookRow),
            ts,
            seqId: view.seqId,
          },
        ];
      }
      const book = internalBook(ctx.hub, `${internalSymbol(instId)}@depth@100ms`, sz);
      if (book === undefined) return [{ asks: [], bids: [], ts, seqId: 0 }];
      return [{ asks: book.asks.map(bookRow), bids: book.bids.map(bookRow), ts, seqId: book.lastUpdateId }];
    },
  },
  'market/trades': {
    limit: 100,
    handle: (q, ctx) => {
      const instId = instIdOfQuery(q);
      const limit = intOf(q, 'limit', 100, 500);
      const rows = tradeHistory(ctx, instId)?.latest(limit) ?? [];
      return rows.map((p) => tradeItem(instId, p)).reverse();
    },
  },
  'market/history-trades': {
    limit: 10,
    handle: (q, ctx) => {
      const instId = instIdOfQuery(q);
      const type = q.get('type') ?? '1';
      if (type !== '1')
        throw new ParamError('51000', 'Parameter type error: the simulator pages by trade id only');
      const limit = intOf(q, 'limit', TRADES_PAGE_MAX, TRADES_PAGE_MAX);
      const after = cursorOf(q, 'after');
      const before = cursorOf(q, 'before');
      const history = tradeHistory(ctx, instId);
      if (history === undefined) return [];
      let rows: string[];
      if (after !== undefined) rows = history.fromId(after - limit, limit);
      else if (before !== undefined) rows = history.fromId(before + 1, limit);
      else rows = history.latest(limit);
      // Older than `after`, newer than `before`, newest first, as OKX pages.
      return rows
        .filter((p) => {
          const id = tradeIdOf(p);
          return (after === undefined || id < after) && (before === undefined || id > before);
        })
        .map((p) => tradeItem(instId, p))
        .reverse();
    },
  },
  'market/candles': {
    limit: 40,
    handle: (q, ctx) => {
      const instId = instIdOfQuery(q);
      const bar = q.get('bar') ?? '1m';
      const interval = CANDLE_BARS.has(bar) ? binanceInterval(bar) : undefined;
      if (interval === undefined) throw new ParamError('51000', 'Parameter bar error');
      const limit = intOf(q, 'limit', 100, CANDLES_PAGE_MAX);
      const after = cursorOf(q, 'after');
      const before = cursorOf(q, 'before');
      const history = ctx.hub.catchUp(`${internalSymbol(instId)}@kline_${interval}`)?.history;
      if (!(history instanceof KlineHistory)) return [];
      const rows = history.between(
        before === undefined ? undefined : before + 1,
        after === undefined ? Number.MAX_SAFE_INTEGER : after - 1,
        limit,
      );
      return rows.map(candleRow).reverse();
    },
  },
};

export class OkxRestApi extends VenueRestApi<OkxRestContext> {
  private readonly requests = new Map<string, BucketedWindowPerKey>();
  /** Requests answered per endpoint (`market/books`, ...), for tests. */
  readonly counts = new Map<string, number>();

  constructor(ctx: OkxRestContext) {
    super(ctx);
    for (const [name, { limit }] of Object.entries(ENDPOINTS))
      this.requests.set(name, new BucketedWindowPerKey(limit, WINDOW_MS, ctx.clock));
  }

  protected answer(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, code: string, msg: string, data: unknown[], headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify({ code, msg, data }));
    };
    const refusal = this.ctx.refusal();
    if (refusal !== undefined) {
      const retry = refusal.retryAfterS === undefined ? {} : { 'retry-after': String(refusal.retryAfterS) };
      send(refusal.status, '50011', 'Rate limit reached.', [], retry);
      return;
    }
    const target = parseRequestTarget(req.url);
    const name = target?.pathname.slice(OKX_REST_PREFIX.length) ?? '';
    const endpoint = ENDPOINTS[name];
    if (req.method !== 'GET' || target === undefined || endpoint === undefined) {
      notFound(res);
      return;
    }
    if (!this.requests.get(name)!.tryRecord(req.socket.remoteAddress ?? 'unknown')) {
      send(
        429,
        '50011',
        'Rate limit reached. Please refer to API documentation and throttle requests accordingly.',
        [],
      );
      return;
    }
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    try {
      send(200, '0', '', endpoint.handle(target.searchParams, this.ctx));
    } catch (err) {
      if (!(err instanceof ParamError)) throw err;
      send(200, err.code, err.message, []);
    }
  }
}
