/**
 * The manager's REST client for refills: one request-weight budget per manager, kept below the
 * exchange's (Binance "LIMITS": weight per IP per minute, `X-MBX-USED-WEIGHT-1M` on every answer), and
 * the exchange's `Retry-After` honoured: after a 429 or 418 no request goes out until it has passed, so
 * the manager never keeps going after a 429 and never provokes a 418 ban.
 */
import { USED_WEIGHT_HEADER } from '../exchange/binance/rest-limits.js';
import type { Logger } from '../log.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';

/** Without a readable `Retry-After`, a 429/418 pauses requests this long (Binance bans start at 2 minutes). */
const DEFAULT_PAUSE_MS = 120_000;
const WINDOW_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export type RestAnswer =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly reason: 'budget' | 'retry_after' | 'refused' | 'unreachable' };

/** An exchange answer passed on as it came (any status but 429/418), or why there is none. */
export type ForwardedAnswer =
  | { readonly ok: true; readonly status: number; readonly contentType: string; readonly body: string }
  | {
      readonly ok: false;
      /** `refused`: this very request got 429/418, and requests pause until its Retry-After. */
      readonly reason: 'budget' | 'retry_after' | 'refused' | 'unreachable';
      /** When a request could go out again (0 when unreachable). */
      readonly retryAfterMs: number;
    };

export interface RestClientOptions {
  readonly baseUrl: string;
  /** Weight this manager may use per minute. */
  readonly weightPerMinute: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: ManagerMetrics;
}

export class RestClient {
  private window = -1;
  private used = 0;
  private pausedUntil = 0;

  constructor(private readonly options: RestClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** The weight this client may spend per minute, shared by all its callers. */
  get weightPerMinute(): number {
    return this.options.weightPerMinute;
  }

  /** GET `path?query` costing `weight`, unless the budget or a Retry-After pause forbids it. */
  async get(path: string, query: Record<string, string | number>, weight: number): Promise<RestAnswer> {
    const { logger } = this.options;
    const search = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const answer = await this.forward(`${path}?${search}`, weight);
    if (!answer.ok) return { ok: false, reason: answer.reason };
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch (error) {
      logger.warn({ path, err: error }, 'WSManager REST answer is not JSON');
      return { ok: false, reason: 'unreachable' };
    }
    if (answer.status < 200 || answer.status >= 300) {
      logger.warn({ path, status: answer.status, body }, 'WSManager REST request answered with an error');
      return { ok: false, reason: 'refused' };
    }
    return { ok: true, body };
  }

  /**
   * GET `pathAndQuery` (a path with its query string) costing `weight` from the shared budget, the
   * answer's status, content type and text as the exchange sent them. A 429 or 418 pauses every request
   * of this client until its `Retry-After` and comes back as `refused`, so nobody behind this client
   * keeps going after the exchange said stop.
   */
  async forward(pathAndQuery: string, weight: number): Promise<ForwardedAnswer> {
    const { now, logger, metrics } = this.options;
    const t = now();
    if (t < this.pausedUntil) return { ok: false, reason: 'retry_after', retryAfterMs: this.pausedUntil - t };
    const window = Math.floor(t / WINDOW_MS);
    if (window !== this.window) {
      this.window = window;
      this.used = 0;
    }
    if (this.used + weight > this.options.weightPerMinute)
      return { ok: false, reason: 'budget', retryAfterMs: (window + 1) * WINDOW_MS - t };
    this.used += weight;
    const url = `${this.options.baseUrl}${pathAndQuery}`;
    metrics.restRequests.inc();
    metrics.restWeight.inc(weight);
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      body = await res.text();
    } catch (error) {
      logger.warn({ url, err: error }, 'WSManager REST request failed');
      return { ok: false, reason: 'unreachable', retryAfterMs: 0 };
    }
    const header = Number(res.headers.get(USED_WEIGHT_HEADER));
    // The exchange counts every client of this IP: trust its count when it is higher than ours.
    if (Number.isFinite(header) && header > this.used && Math.floor(now() / WINDOW_MS) === this.window)
      this.used = header;
    if (res.status === 429 || res.status === 418) {
      const seconds = Number(res.headers.get('retry-after'));
      const pauseMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_PAUSE_MS;
      this.pausedUntil = Math.max(this.pausedUntil, now() + pauseMs);
      logger.warn(
        { url, status: res.status, pauseMs },
        'WSManager REST request refused; pausing REST requests',
      );
      return { ok: false, reason: 'refused', retryAfterMs: this.pausedUntil - now() };
    }
    return { ok: true, status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  }
}
