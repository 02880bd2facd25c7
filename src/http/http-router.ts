/**
 * Routes plain HTTP requests to the routes features register: an exact path or a path prefix, the
 * methods served, the bearer token a method needs, whether a method spends the per-address rate limit,
 * and the handler. The router itself knows no feature; each role registers the routes it serves.
 * Every failure answers a generic JSON message; details go to the log, never into a response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/log.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { hasBearerToken } from './bearer-auth.js';
import { type HttpResponse, jsonError, writeResponse } from './http-response.js';
import { parseRequestTarget } from './request-target.js';

export interface Route {
  /** The `route` label the request is counted under. */
  readonly name: string;
  /** The methods served; a route without a list answers every method. */
  readonly methods?: readonly string[];
  /** The token `method` requires, if any; checked before the method is. */
  readonly token?: (method: string) => string | undefined;
  /** True when `method` spends the per-address rate limit (probes never do, so a load balancer cannot be locked out). */
  readonly limited?: (method: string) => boolean;
  readonly handle: (req: IncomingMessage, url: URL, head: boolean) => HttpResponse | Promise<HttpResponse>;
}

/** Counts every answer by route and status (`ws_gateway_http_requests_total`). */
export interface RequestCounter {
  inc(labels: { route: string; status: string }): void;
}

export interface HttpRouterOptions {
  readonly logger: Logger;
  readonly requests: RequestCounter;
  /** Requests per address that passed the token check (or need none) on limited routes. */
  readonly rateLimiter: RateLimiter;
  /**
   * Requests per address that failed the token check: a budget of their own, so anonymous traffic from
   * an address (a NAT, a load balancer) cannot spend what its authenticated scraper needs.
   */
  readonly unauthenticatedLimiter: RateLimiter;
}

/** The route label of a request no route took. */
const OTHER = 'other';

export class HttpRouter {
  private readonly exact = new Map<string, Route>();
  private readonly prefixes: { readonly prefix: string; readonly route: Route }[] = [];

  constructor(private readonly options: HttpRouterOptions) {}

  /** Serves `path` exactly. */
  add(path: string, route: Route): this {
    if (this.exact.has(path)) throw new Error(`HTTP route ${path} is registered twice`);
    this.exact.set(path, route);
    return this;
  }

  /** Serves every path starting with `prefix` that no exact route serves; the first prefix registered wins. */
  addPrefix(prefix: string, route: Route): this {
    this.prefixes.push({ prefix, route });
    return this;
  }

  /** Answers one request; never throws and never leaks an error's details. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let name = OTHER;
    let response: HttpResponse;
    const url = parseRequestTarget(req.url);
    try {
      if (url === undefined) response = jsonError(400, 'malformed request target');
      else {
        const found = this.find(url.pathname);
        if (found !== undefined) name = found.name;
        response = found ? await this.dispatch(found, req, url, method, head) : jsonError(404, 'not found');
      }
    } catch (error) {
      this.options.logger.error(
        {
          err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
          route: name,
        },
        'HTTP request failed',
      );
      response = jsonError(500, 'internal error');
    }
    this.options.requests.inc({ route: name, status: String(response.status) });
    if (!res.headersSent && !res.writableEnded) writeResponse(res, response, head);
  }

  private find(pathname: string): Route | undefined {
    const exact = this.exact.get(pathname);
    if (exact !== undefined) return exact;
    for (const { prefix, route } of this.prefixes) if (pathname.startsWith(prefix)) return route;
    return undefined;
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
    const token = route.token?.(method);
    if (token !== undefined && !hasBearerToken(req, token)) {
      const decision = this.options.unauthenticatedLimiter.take(address);
      if (!decision.allowed) return tooManyRequests(decision.retryAfterSeconds);
      return jsonError(401, 'missing or invalid bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (route.methods !== undefined && !route.methods.includes(method)) {
      return jsonError(405, `method ${method} not allowed on ${url.pathname}`, {
        allow: route.methods.join(', '),
      });
    }
    if (route.limited?.(method) === true) {
      const decision = this.options.rateLimiter.take(address);
      if (!decision.allowed) return tooManyRequests(decision.retryAfterSeconds);
    }
    return route.handle(req, url, head);
  }
}

function tooManyRequests(retryAfterSeconds: number): HttpResponse {
  return jsonError(429, 'too many requests', { 'retry-after': String(retryAfterSeconds) });
}
