/**
 * Binance's public spot market-data REST API on the simulator's port (`GET /api/v3/...`): each request is
 * charged its Binance weight against its IP's budget per minute (`X-MBX-USED-WEIGHT-1M` on every answer,
 * 429 then 418 beyond it), and the injected faults apply as to upgrades (a refusal answers with its
 * status and `Retry-After`, latency delays every answer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BINANCE_CONTENT_TYPE, type RestErrorBody, RestErrors } from '../../exchange/binance/rest-limits.js';
import {
  isRestEndpoint,
  queryError,
  type RestEndpoint,
  requestWeight,
} from '../../exchange/binance/rest-query.js';
import { BINANCE_WEIGHT_ANSWERS, BINANCE_WEIGHT_BUDGET } from '../../exchange/binance/weight-budget.js';
import { parseRequestTarget } from '../../http/request-target.js';
import { WeightBudget, type WeightBudgetOptions } from '../../limits/weight-budget.js';
import { chargeRequest } from '../../limits/weighted-answer.js';
import type { RefuseStatus } from '../types.js';
import {
  aggTrades,
  depth,
  exchangeInfo,
  klines,
  type MarketDataContext,
  RestError,
  trades,
} from './market-data.js';

/** The prefix of every path this API serves. */
export const REST_PREFIX = '/api/v3/';

type Answer = (query: URLSearchParams, ctx: MarketDataContext) => string;

const ANSWERS: Readonly<Record<RestEndpoint, Answer>> = {
  ping: () => '{}',
  time: (_q, ctx) => `{"serverTime":${ctx.clock()}}`,
  exchangeInfo,
  depth,
  trades,
  aggTrades,
  klines,
};

export interface RestApiContext extends MarketDataContext {
  /** The weight budget per IP; what it leaves out is Binance's. */
  readonly budget: Partial<WeightBudgetOptions>;
  /** The upgrade gate's injected refusal, if one is in force. */
  readonly refusal: () =>
    | { status: RefuseStatus; retryAfterS: number | undefined; until: number }
    | undefined;
  readonly latencyMs: () => number;
}

export class RestApi {
  private readonly budget: WeightBudget;
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(private readonly ctx: RestApiContext) {
    this.budget = new WeightBudget({ ...BINANCE_WEIGHT_BUDGET, ...ctx.budget }, ctx.clock);
  }

  /** Serves one request whose path starts with {@link REST_PREFIX}. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = parseRequestTarget(req.url);
    const name = url?.pathname.slice(REST_PREFIX.length) ?? '';
    const method = req.method ?? 'GET';
    if (url === undefined || !isRestEndpoint(name) || (method !== 'GET' && method !== 'HEAD')) {
      const path = url?.pathname ?? req.url ?? '/';
      this.send(res, 404, JSON.stringify(RestErrors.unknownPath(method, path)), {});
      return;
    }
    const refusal = this.ctx.refusal();
    if (refusal !== undefined) {
      const headers: Record<string, string> = {};
      if (refusal.retryAfterS !== undefined) headers['retry-after'] = String(refusal.retryAfterS);
      const body = refusedBody(refusal.status, refusal.until, this.ctx.weightLimit);
      this.send(res, refusal.status, JSON.stringify(body), headers);
      return;
    }
    const charged = chargeRequest(
      this.budget,
      BINANCE_WEIGHT_ANSWERS,
      req.socket.remoteAddress ?? 'unknown',
      requestWeight(name, url.searchParams),
    );
    const used = charged.headers;
    if (charged.status !== 200) {
      this.send(res, charged.status, JSON.stringify(charged.error), used);
      return;
    }
    const malformed = queryError(name, url.searchParams);
    if (malformed !== undefined) {
      this.send(res, 400, JSON.stringify(malformed), used);
      return;
    }
    try {
      this.send(res, 200, ANSWERS[name](url.searchParams, this.ctx), used);
    } catch (error) {
      if (error instanceof RestError) this.send(res, error.status, JSON.stringify(error.body), used);
      else
        this.send(
          res,
          500,
          JSON.stringify({ code: -1000, msg: 'An unknown error occurred while processing the request.' }),
          used,
        );
    }
  }

  /** Drops answers still held back by injected latency (the simulator is closing). */
  close(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  private send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    const write = (): void => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': BINANCE_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
        ...headers,
      });
      res.end(res.req.method === 'HEAD' ? undefined : body);
    };
    const latency = this.ctx.latencyMs();
    if (latency === 0) {
      write();
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      write();
    }, latency);
    this.delayed.add(timer);
  }
}

function refusedBody(status: RefuseStatus, until: number, limit: number): RestErrorBody {
  if (status === 418) return RestErrors.banned(until);
  if (status === 429) return RestErrors.tooMuchWeight(limit);
  return {
    code: -1008,
    msg: 'Server is currently overloaded with other requests. Please try again in a few minutes.',
  };
}
