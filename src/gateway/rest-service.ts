/**
 * The gateway's Binance REST routes (`/api/v3/ping`, `time`, `exchangeInfo`, `depth`, `trades`,
 * `aggTrades`, `klines`): each client address is charged Binance's request weight for the call in its
 * own per-minute window (Binance "LIMITS": `X-MBX-USED-WEIGHT-1M` on every answer, 429 with `Retry-After`
 * beyond the limit, 418 and a ban for an address that keeps going), a malformed query is answered with
 * Binance's error body, and the rest is served: `/depth` from the books the gateway keeps, the others
 * through the {@link RestForwarder}. A gateway whose source has no REST API (clustered and legacy mode)
 * or no order books answers the calls that need them with 404 and a body that says so, uncharged.
 */
import type { IncomingMessage } from 'node:http';
import type { RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import { WeightBudget, type WeightBudgetOptions } from '../limits/weight-budget.js';
import { chargeRequest } from '../limits/weighted-answer.js';
import type { DepthService } from './depth-route.js';
import type { RestForwarder } from './rest-forwarder.js';
import { restError, withHeaders } from './rest-response.js';

export interface RestServiceOptions<Endpoint extends string> {
  readonly dialect: RestDialect<Endpoint>;
  /** Undefined when the source keeps no order books. */
  readonly depth: DepthService | undefined;
  /** Undefined when the source has no REST API. */
  readonly forwarder: RestForwarder | undefined;
  /** Answers a call whose service is absent. */
  readonly unavailable: (endpoint: Endpoint) => HttpResponse;
  /** Each client address's weight budget. @default the venue's (Binance: 6000 per minute, 418 after 5 more requests) */
  readonly limits?: Partial<WeightBudgetOptions> | undefined;
  readonly now?: () => number;
}

export class RestService<Endpoint extends string> {
  private readonly budget: WeightBudget;

  constructor(private readonly options: RestServiceOptions<Endpoint>) {
    this.budget = new WeightBudget(
      { ...options.dialect.clientBudget, ...options.limits },
      options.now ?? Date.now,
    );
  }

  async answer(endpoint: Endpoint, req: IncomingMessage, url: URL): Promise<HttpResponse> {
    const { dialect, depth, forwarder } = this.options;
    if ((endpoint === 'depth' ? depth : forwarder) === undefined) return this.options.unavailable(endpoint);
    const charged = chargeRequest(
      this.budget,
      dialect.weightAnswers,
      req.socket.remoteAddress ?? 'unknown',
      dialect.weight(endpoint, url.searchParams),
    );
    const used = charged.headers;
    if (charged.status !== 200) return restError(dialect, charged.status, charged.error, used);
    const malformed = dialect.queryError(endpoint, url.searchParams);
    if (malformed !== undefined) return restError(dialect, 400, malformed, used);
    const response =
      endpoint === 'depth'
        ? await (depth as DepthService).answer(url)
        : await (forwarder as RestForwarder).answer(endpoint, url);
    return withHeaders(response, used);
  }
}
