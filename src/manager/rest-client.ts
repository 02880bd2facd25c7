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

  /** GET `path?query` costing `weight`, unless the budget or a Retry-After pause forbids it. */
  async get(path: string, query: Record<string, string | number>, weight: number): Promise<RestAnswer> {
    const { now, logger, metrics } = this.options;
    const t = now();
    if (t < this.pausedUntil) return { ok: false, reason: 'retry_after' };
    const window = Math.floor(t / WINDOW_MS);
    if (window !== this.window) {
      this.window = window;
      this.used = 0;
    }
    if (this.used + weight > this.options.weightPerMinute) return { ok: false, reason: 'budget' };
    this.used += weight;
    const search = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const url = `${this.options.baseUrl}${path}?${search}`;
    metrics.restRequests.inc();
    metrics.restWeight.inc(weight);
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      body = await res.json();
    } catch (error) {
      logger.warn({ url, err: error }, 'WSManager REST request failed');
      return { ok: false, reason: 'unreachable' };
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
      return { ok: false, reason: 'refused' };
    }
    if (!res.ok) {
      logger.warn({ url, status: res.status, body }, 'WSManager REST request answered with an error');
      return { ok: false, reason: 'refused' };
    }
    return { ok: true, body };
  }
}
