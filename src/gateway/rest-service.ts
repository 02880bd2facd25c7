/**
 * The gateway's Binance REST routes (`/api/v3/ping`, `time`, `exchangeInfo`, `depth`, `trades`,
 * `aggTrades`, `klines`): each client address is charged Binance's request weight for the call in its
 * own per-minute window (Binance "LIMITS": `X-MBX-USED-WEIGHT-1M` on every answer, 429 with `Retry-After`
 * beyond the limit, 418 and a ban for an address that keeps going), a malformed query is answered with
 * Binance's error body, and the rest is served: `/depth` from the books the gateway keeps, the others
 * through the {@link RestForwarder}.
 */
import type { IncomingMessage } from 'node:http';
import { RestErrors, USED_WEIGHT_HEADER } from '../exchange/binance/rest-limits.js';
import { queryError, type RestEndpoint, requestWeight } from '../exchange/binance/rest-query.js';
import {
  BINANCE_WEIGHT_BUDGET,
  WeightBudget,
  type WeightBudgetOptions,
} from '../exchange/binance/weight-budget.js';
import type { HttpResponse } from '../http/http-response.js';
import type { DepthService } from './depth-route.js';
import type { RestForwarder } from './rest-forwarder.js';
import { restError, withHeaders } from './rest-response.js';

export interface RestServiceOptions {
  readonly depth: DepthService;
  readonly forwarder: RestForwarder;
  /** Each client address's weight budget. @default Binance's: 6000 per minute, 418 after 5 more requests */
  readonly limits?: Partial<WeightBudgetOptions>;
  readonly now?: () => number;
}

export class RestService {
  private readonly budget: WeightBudget;
  private readonly limit: number;

  constructor(private readonly options: RestServiceOptions) {
    const limits = { ...BINANCE_WEIGHT_BUDGET, ...options.limits };
    this.limit = limits.limit;
    this.budget = new WeightBudget(limits, options.now ?? Date.now);
  }

  async answer(endpoint: RestEndpoint, req: IncomingMessage, url: URL): Promise<HttpResponse> {
    const verdict = this.budget.charge(
      req.socket.remoteAddress ?? 'unknown',
      requestWeight(endpoint, url.searchParams),
    );
    const used = { [USED_WEIGHT_HEADER]: String(verdict.used), 'x-mbx-used-weight': String(verdict.used) };
    if (verdict.status !== 200) {
      const body =
        verdict.status === 418 ? RestErrors.banned(verdict.until) : RestErrors.tooMuchWeight(this.limit);
      return restError(verdict.status, body, { ...used, 'retry-after': String(verdict.retryAfterS) });
    }
    const malformed = queryError(endpoint, url.searchParams);
    if (malformed !== undefined) return restError(400, malformed, used);
    const response =
      endpoint === 'depth'
        ? await this.options.depth.answer(url)
        : await this.options.forwarder.answer(endpoint, url);
    return withHeaders(response, used);
  }
}
