/**
 * The manager's REST client for refills: one request-weight budget per manager, kept below the
 * exchange's (Binance "LIMITS": weight per IP per minute, `X-MBX-USED-WEIGHT-1M` on every answer), and
 * the exchange's `Retry-After` honoured: after a 429 or 418 no request goes out until it has passed, so
 * the manager never keeps going after a 429 and never provokes a 418 ban.
 */

import type { ForwardedAnswer } from '../core/capabilities.js';
import type { Logger } from '../core/log.js';
import type { RestAnswer } from '../exchange/exchange.js';
import { FixedWindow, MINUTE_MS } from '../limits/fixed-window.js';
import { RetryAfterPause, refusalPauseMs } from '../limits/retry-after.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';

/**
 * Share of the budget that calls forwarded for a gateway's clients may use: the rest stays for the
 * manager's own refills and order-book snapshots, so clients polling REST cannot stop gap recovery.
 */
export const CLIENT_SHARE = 0.75;
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Largest answer a refill or snapshot reads: a 5000-level depth snapshot or 1000 trades is well under
 * 1 MiB, so anything much larger is not the exchange's answer.
 */
const REFILL_MAX_BYTES = 8 << 20;

/** A refill's answer: `refused` when the exchange answered with any error status (429/418 included). */
export type { RestAnswer };

export interface RestClientOptions {
  readonly baseUrl: string;
  /** Weight this manager may use per minute. */
  readonly weightPerMinute: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: ManagerMetrics;
  /** The answer header carrying the weight the IP used this minute (Binance `x-mbx-used-weight-1m`), if any. */
  readonly usedWeightHeader: string | undefined;
}

export class RestClient {
  /** Weight used this minute, by our count or the exchange's when higher. */
  private readonly window = new FixedWindow(MINUTE_MS);
  private readonly pause = new RetryAfterPause();

  constructor(private readonly options: RestClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** The weight per minute that calls forwarded for a gateway's clients may use together. */
  get clientWeightPerMinute(): number {
    return Math.floor(this.options.weightPerMinute * CLIENT_SHARE);
  }

  /** GET `path?query` costing `weight`, unless the budget or a Retry-After pause forbids it. */
  async get(path: string, query: Record<string, string | number>, weight: number): Promise<RestAnswer> {
    const { logger } = this.options;
    const search = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const answer = await this.request(
      `${path}?${search}`,
      weight,
      this.options.weightPerMinute,
      REFILL_MAX_BYTES,
    );
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
   * GET `pathAndQuery` (a path with its query string) for a gateway's client, costing `weight` from the
   * clients' share of the budget (CLIENT_SHARE); the answer's status, content type and text as the
   * exchange sent them. A 429 or 418 pauses every request of this client until its `Retry-After` and
   * comes back as `refused`, so nobody behind this client keeps going after the exchange said stop.
   * An answer longer than `maxBytes` is not read past that point and comes back as `unreachable`.
   */
  forward(pathAndQuery: string, weight: number, maxBytes: number): Promise<ForwardedAnswer> {
    return this.request(pathAndQuery, weight, this.clientWeightPerMinute, maxBytes);
  }

  /**
   * One GET, if the weight used this window plus `weight` stays within `limit`; the answer is read up to
   * `maxBytes` and the connection dropped beyond, so no answer is held in memory past that bound.
   */
  private async request(
    pathAndQuery: string,
    weight: number,
    limit: number,
    maxBytes: number,
  ): Promise<ForwardedAnswer> {
    const { now, logger, metrics } = this.options;
    const t = now();
    const paused = this.pause.remainingMs(t);
    if (paused > 0) return { ok: false, reason: 'retry_after', retryAfterMs: paused };
    this.window.advance(t);
    if (this.window.used + weight > limit)
      return { ok: false, reason: 'budget', retryAfterMs: this.window.msToEnd(t) };
    this.window.used += weight;
    const url = `${this.options.baseUrl}${pathAndQuery}`;
    metrics.restRequests.inc();
    metrics.restWeight.inc(weight);
    let res: Response;
    let body: string | undefined;
    try {
      // The exchange's REST API does not redirect: a redirect is a captive portal or a proxy's page.
      res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'error' });
      body = await readAtMost(res, maxBytes);
    } catch (error) {
      logger.warn({ url, err: error }, 'WSManager REST request failed');
      return { ok: false, reason: 'unreachable', retryAfterMs: 0 };
    }
    if (body === undefined) {
      logger.warn({ url, maxBytes }, 'WSManager REST answer longer than its bound; dropped');
      return { ok: false, reason: 'unreachable', retryAfterMs: 0 };
    }
    const { usedWeightHeader } = this.options;
    const header = usedWeightHeader === undefined ? Number.NaN : Number(res.headers.get(usedWeightHeader));
    // The exchange counts every client of this IP: trust its count when it is higher than ours.
    if (Number.isFinite(header)) this.window.raiseTo(header, now());
    if (res.status === 429 || res.status === 418) {
      // Read as the upgrade refusals are: seconds or an HTTP date, bounded, 2 minutes when missing.
      const pauseMs = refusalPauseMs(res.status, res.headers.get('retry-after') ?? undefined, now()) ?? 0;
      this.pause.lengthen(now(), pauseMs);
      logger.warn(
        { url, status: res.status, pauseMs },
        'WSManager REST request refused; pausing REST requests',
      );
      return { ok: false, reason: 'refused', retryAfterMs: this.pause.remainingMs(now()) };
    }
    return { ok: true, status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  }
}

/** The answer's text, or undefined (the rest left unread, the connection dropped) past `maxBytes`. */
async function readAtMost(res: Response, maxBytes: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, length).toString('utf8');
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}
