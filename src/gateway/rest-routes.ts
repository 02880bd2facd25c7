/**
 * The venue's REST API paths (Binance's `/api/v3/...`): the market-data calls the gateway serves, and the
 * venue's own answer for any other path there, so its clients can read it.
 */
import type { IncomingMessage } from 'node:http';
import type { RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import type { HttpRouter } from '../http/http-router.js';
import { restError } from './rest-response.js';

/** Registers `GET <prefix><endpoint>` for each served call. */
export function addRestRoutes<Endpoint extends string>(
  router: HttpRouter,
  dialect: RestDialect<Endpoint>,
  rest: { answer(endpoint: Endpoint, req: IncomingMessage, url: URL): Promise<HttpResponse> },
): void {
  for (const endpoint of dialect.endpoints) {
    router.add(`${dialect.prefix}${endpoint}`, {
      name: endpoint === 'depth' ? 'depth' : 'rest',
      methods: ['GET'],
      // The venue's request weights per address limit these routes, not RATE_LIMIT_PER_MINUTE.
      handle: (req, url) => rest.answer(endpoint, req, url),
    });
  }
}

/** Answers every other path under the prefix, whatever the method, as the venue does (404 and its body). */
export function addRestFallback(router: HttpRouter, dialect: RestDialect): void {
  router.addPrefix(dialect.prefix, {
    name: 'other',
    handle: (req, url) =>
      restError(dialect, 404, dialect.errors.unknownPath(req.method ?? 'GET', url.pathname)),
  });
}
