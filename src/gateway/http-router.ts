/**
 * Routes plain HTTP requests: metrics, probes, the admin API, the status page and Binance's REST market
 * data (/api/v3). Upgrades go to the downstream server.
 * Every failure answers a generic JSON message; details go to the log, never into a response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import type { HealthVerdict, StreamSource } from '../core/stream-source.js';
import { RestErrors } from '../exchange/binance/rest-limits.js';
import { REST_ENDPOINTS } from '../exchange/binance/rest-query.js';
import { hasBearerToken } from '../http/bearer-auth.js';
import { type HttpResponse, json, jsonError, writeResponse } from '../http/http-response.js';
import { parseRequestTarget } from '../http/request-target.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { adminCleanupResponse, adminStreamsResponse } from './admin-route.js';
import type { GatewayMetrics, HttpRoute } from './gateway-metrics.js';
import { type GatewayStats, metricsResponse } from './metrics-route.js';
import { restError } from './rest-response.js';
import type { RestService } from './rest-service.js';
import { statusRoutes } from './status/status-routes.js';
import type { StatusService } from './status/status-service.js';

export interface HttpRouterContext {
  readonly registry: Registry;
  readonly source: StreamSource;
  /** Only the request counter: an ingest node serves the same routes without the gateway's other series. */
  readonly metrics: Pick<GatewayMetrics, 'httpRequests'>;
  readonly logger: Logger;
  /** Requests per address that passed the token check (or need none) on limited routes. */
  readonly rateLimiter: RateLimiter;
  /**
   * Requests per address that failed the token check: a budget of their own, so anonymous traffic from
   * an address (a NAT, a load balancer) cannot spend what its authenticated scraper needs.
   */
  readonly unauthenticatedLimiter: RateLimiter;
  readonly metricsToken: string | undefined;
  readonly adminToken: string | undefined;
  readonly verdict: () => HealthVerdict;
  readonly stats: () => GatewayStats;
  /** Serves the status page and its data when set. */
  readonly status?: StatusService;
  /**
   * Serves Binance's REST market data (`GET /api/v3/depth` from kept order books, the other calls
   * forwarded) when set: WSManager with a known REST base only.
   */
  readonly rest?: RestService | undefined;
  /** False on a server without downstream WebSockets (an ingest node): `/ws/...` is then a plain 404. @default true */
  readonly servesWebSockets?: boolean;
}

interface Route {
  readonly name: HttpRoute;
  readonly methods: readonly string[];
  /** Subject to the per-client rate limit (probes never are, so a load balancer cannot be locked out). */
  readonly limited: (method: string) => boolean;
  /** The token this route requires for `method`, if any; checked before the method is. */
  readonly token: (method: string) => string | undefined;
  readonly handle: (req: IncomingMessage, url: URL, head: boolean) => HttpResponse | Promise<HttpResponse>;
}

const DOWNSTREAM_PATH = /^\/(ws|stream)(\/|$)/;
/** Binance's REST API: a path there that is not served gets Binance's own answer, so its clients can read it. */
const BINANCE_REST_PATH = /^\/api\/v3\//;

export class HttpRouter {
  private readonly routes: ReadonlyMap<string, Route>;

  constructor(private readonly ctx: HttpRouterContext) {
    const routes = new Map<string, Route>();
    routes.set('/api/ws/metrics', {
      name: 'metrics',
      methods: ['GET', 'HEAD'],
      limited: (m) => m === 'GET',
      // HEAD stays open for load balancers; every other method, allowed or not, needs the token.
      token: (m) => (m === 'HEAD' ? undefined : ctx.metricsToken),
      handle: (req, url, head) => metricsResponse(ctx, req, url, head),
    });
    routes.set('/healthz', {
      name: 'healthz',
      methods: ['GET', 'HEAD'],
      limited: () => false,
      token: () => undefined,
      handle: () => json(200, { status: 'ok' }),
    });
    routes.set('/readyz', {
      name: 'readyz',
      methods: ['GET', 'HEAD'],
      limited: () => false,
      token: () => undefined,
      handle: () => {
        const verdict = ctx.verdict();
        return verdict.healthy
          ? json(200, { status: 'ready', implementation: ctx.source.implementation })
          : json(503, { status: 'unavailable', reason: verdict.reason ?? null });
      },
    });
    if (ctx.adminToken !== undefined) {
      const adminToken = ctx.adminToken;
      routes.set('/api/ws/admin/streams', {
        name: 'admin_streams',
        methods: ['GET'],
        limited: () => true,
        token: () => adminToken,
        handle: () => adminStreamsResponse(ctx.source),
      });
      routes.set('/api/ws/admin/cleanup', {
        name: 'admin_cleanup',
        methods: ['POST'],
        limited: () => true,
        token: () => adminToken,
        handle: (_req, url) => adminCleanupResponse(ctx.source, url),
      });
    }
    const rest = ctx.rest;
    if (rest !== undefined) {
      for (const endpoint of REST_ENDPOINTS) {
        routes.set(`/api/v3/${endpoint}`, {
          name: endpoint === 'depth' ? 'depth' : 'rest',
          methods: ['GET'],
          // Binance's request weights per address limit these routes, not RATE_LIMIT_PER_MINUTE.
          limited: () => false,
          token: () => undefined,
          handle: (req, url) => rest.answer(endpoint, req, url),
        });
      }
    }
    for (const r of ctx.status === undefined ? [] : statusRoutes(ctx.status)) {
      routes.set(r.path, {
        name: r.name,
        methods: r.data ? ['GET'] : ['GET', 'HEAD'],
        limited: () => r.data,
        token: () => (r.data ? ctx.metricsToken : undefined),
        handle: r.handle,
      });
    }
    this.routes = routes;
  }

  /** Answers one request; never throws and never leaks an error's details. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let route: HttpRoute = 'other';
    let response: HttpResponse;
    const url = parseRequestTarget(req.url);
    try {
      if (url === undefined) response = jsonError(400, 'malformed request target');
      else {
        const found = this.routes.get(url.pathname);
        if (found) route = found.name;
        response = found
          ? await this.dispatch(found, req, url, method, head)
          : notFound(method, url.pathname, this.ctx.servesWebSockets ?? true);
      }
    } catch (error) {
      this.ctx.logger.error(
        {
          err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
          route,
        },
        'HTTP request failed',
      );
      response = jsonError(500, 'internal error');
    }
    this.ctx.metrics.httpRequests.inc({ route, status: String(response.status) });
    if (!res.headersSent && !res.writableEnded) writeResponse(res, response, head);
  }

  private async dispatch(
    route: Route,
    req: IncomingMessage,
    url: URL,
    method: string,
    head: boolean,
  ): Promise<HttpResponse> {
    const address = req.socket.remoteAddress ?? 'unknown';
    // The token first: a 405 with `Allow` would tell an anonymous caller that an admin route exists.
    const token = route.token(method);
    if (token !== undefined && !hasBearerToken(req, token)) {
      const decision = this.ctx.unauthenticatedLimiter.take(address);
      if (!decision.allowed) return tooManyRequests(decision.retryAfterSeconds);
      return jsonError(401, 'missing or invalid bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (!route.methods.includes(method)) {
      return jsonError(405, `method ${method} not allowed on ${url.pathname}`, {
        allow: route.methods.join(', '),
      });
    }
    if (route.limited(method)) {
      const decision = this.ctx.rateLimiter.take(address);
      if (!decision.allowed) return tooManyRequests(decision.retryAfterSeconds);
    }
    return route.handle(req, url, head);
  }
}

function tooManyRequests(retryAfterSeconds: number): HttpResponse {
  return jsonError(429, 'too many requests', { 'retry-after': String(retryAfterSeconds) });
}

function notFound(method: string, pathname: string, servesWebSockets: boolean): HttpResponse {
  if (servesWebSockets && DOWNSTREAM_PATH.test(pathname)) {
    return jsonError(426, 'this path is a WebSocket endpoint: connect with a WebSocket client', {
      upgrade: 'websocket',
    });
  }
  if (BINANCE_REST_PATH.test(pathname)) return restError(404, RestErrors.unknownPath(method, pathname));
  return jsonError(404, 'not found');
}
