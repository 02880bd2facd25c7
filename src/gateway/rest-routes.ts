/**
 * Binance's REST API paths (`/api/v3/...`): the market-data calls the gateway serves, and Binance's own
 * answer for any other path there, so its clients can read it.
 */
import { RestErrors } from '../exchange/binance/rest-limits.js';
import { REST_ENDPOINTS } from '../exchange/binance/rest-query.js';
import type { HttpRouter } from '../http/http-router.js';
import { restError } from './rest-response.js';
import type { RestService } from './rest-service.js';

/** Registers `GET /api/v3/<endpoint>` for each served call. */
export function addRestRoutes(router: HttpRouter, rest: RestService): void {
  for (const endpoint of REST_ENDPOINTS) {
    router.add(`/api/v3/${endpoint}`, {
      name: endpoint === 'depth' ? 'depth' : 'rest',
      methods: ['GET'],
      // Binance's request weights per address limit these routes, not RATE_LIMIT_PER_MINUTE.
      handle: (req, url) => rest.answer(endpoint, req, url),
    });
  }
}

/** Answers every other `/api/v3/` path, whatever the method, as Binance does (404, code -1, unknown path). */
export function addRestFallback(router: HttpRouter): void {
  router.addPrefix('/api/v3/', {
    name: 'other',
    handle: (req, url) => restError(404, RestErrors.unknownPath(req.method ?? 'GET', url.pathname)),
  });
}
