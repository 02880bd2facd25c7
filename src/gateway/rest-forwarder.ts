/**
 * The gateway's Binance REST calls other than `/depth`, answered from the exchange through the
 * source's REST API, so they spend the one weight budget the manager keeps below the exchange's
 * (Binance "LIMITS": weight per IP per minute; the gateway is one IP to the exchange however many clients
 * it has). Only a well-formed Binance answer passes through, as the exchange sent it: a 200 JSON of the
 * call's shape, or Binance's `{"code","msg"}` error body with any other status; anything else (a captive
 * portal's `200 text/html`, truncated JSON, a JSON of another shape, an answer past the call's size
 * bound) becomes 502 with Binance's -1001, and is never kept. What is safe to share is shared:
 * - `/ping` is answered here: it tests the REST API a client talks to, which is the gateway's.
 * - `/time` is the exchange's clock: the gateway measures its offset from the exchange with a forwarded
 *   `/time` at most once per {@link TIME_REFRESH_MS} and answers from its own clock plus that offset.
 * - `/exchangeInfo` is kept {@link EXCHANGE_INFO_TTL_MS} per query (one request in flight per query),
 *   an unknown symbol's -1121 as well; its `serverTime` is as old as the copy.
 * When the shared budget has no room, or the exchange asked for a pause (429/418 with `Retry-After`),
 * the client gets 429 with `Retry-After` instead of the exchange getting one more request.
 */

import type { ForwardedAnswer } from '../core/capabilities.js';
import type { RestCapability } from '../core/stream-source.js';
import type { RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import { restAnswer, restError } from './rest-response.js';

export const EXCHANGE_INFO_TTL_MS = 60_000;
export const TIME_REFRESH_MS = 60_000;
/** The forwarded calls' weights are fixed: none depends on the query (the answer bounds are the dialect's). */
const NO_QUERY = new URLSearchParams();
/** Distinct exchangeInfo queries kept (one per `symbol`, plus the full one). */
const EXCHANGE_INFO_KEYS = 64;

interface CachedInfo {
  readonly at: number;
  readonly answer: Promise<HttpResponse>;
}

export class RestForwarder {
  private readonly info = new Map<string, CachedInfo>();
  private offsetMs: number | undefined;
  private offsetAt = Number.NEGATIVE_INFINITY;
  private timeRefresh: Promise<HttpResponse | undefined> | undefined;

  constructor(
    private readonly client: RestCapability,
    private readonly dialect: RestDialect,
    private readonly now: () => number = Date.now,
  ) {}

  /** Answers a call other than `depth` whose query passed Binance's query rules. Never rejects. */
  answer(endpoint: string, url: URL): Promise<HttpResponse> {
    switch (endpoint) {
      case 'ping':
        return Promise.resolve(restAnswer(this.dialect, 200, '{}'));
      case 'time':
        return this.time();
      case 'exchangeInfo':
        return this.exchangeInfo(url.search);
      default:
        return this.forward(endpoint, `${url.pathname}${url.search}`);
    }
  }

  /** `exchangeInfo?symbol=` for `symbol` (uppercase), kept as any exchangeInfo answer: 200 if it trades, -1121 if unknown. */
  symbolInfo(symbol: string): Promise<HttpResponse> {
    return this.exchangeInfo(`?symbol=${encodeURIComponent(symbol)}`);
  }

  private async forward(endpoint: string, pathAndQuery: string): Promise<HttpResponse> {
    const answer = await this.client.forward(
      pathAndQuery,
      this.dialect.weight(endpoint, NO_QUERY),
      this.dialect.answerRule(endpoint).maxBytes,
    );
    return this.toResponse(endpoint, answer);
  }

  private toResponse(endpoint: string, answer: ForwardedAnswer): HttpResponse {
    if (!answer.ok) {
      if (answer.reason === 'unreachable') return restError(this.dialect, 502, this.dialect.errors.internal);
      const seconds = Math.max(1, Math.ceil(answer.retryAfterMs / 1000));
      return restError(
        this.dialect,
        429,
        this.dialect.errors.tooMuchWeight(this.client.clientWeightPerMinute),
        {
          'retry-after': String(seconds),
        },
      );
    }
    const body = answer.contentType.includes('application/json') ? parseJson(answer.body) : undefined;
    const wellFormed =
      answer.status === 200 ? this.dialect.answerRule(endpoint).wellFormed(body) : this.dialect.isError(body);
    if (!wellFormed) return restError(this.dialect, 502, this.dialect.errors.internal);
    return restAnswer(this.dialect, answer.status, answer.body, {}, answer.contentType);
  }

  private exchangeInfo(search: string): Promise<HttpResponse> {
    const now = this.now();
    const cached = this.info.get(search);
    if (cached !== undefined && now - cached.at < EXCHANGE_INFO_TTL_MS) return cached.answer;
    this.info.delete(search);
    if (this.info.size >= EXCHANGE_INFO_KEYS) this.info.delete(this.info.keys().next().value as string);
    const entry: CachedInfo = {
      at: now,
      answer: this.forward('exchangeInfo', `${this.dialect.prefix}exchangeInfo${search}`).then((response) => {
        // An answer about the query (200, or 400 for an unknown symbol) is kept; a refusal, a failure or
        // an answer that is not Binance's (502) is asked again next time.
        const about = response.status === 200 || response.status === 400;
        if (!about && this.info.get(search) === entry) this.info.delete(search);
        return response;
      }),
    };
    this.info.set(search, entry);
    return entry.answer;
  }

  private async time(): Promise<HttpResponse> {
    let failure: HttpResponse | undefined;
    if (this.now() - this.offsetAt >= TIME_REFRESH_MS) {
      this.timeRefresh ??= this.refreshOffset().finally(() => {
        this.timeRefresh = undefined;
      });
      failure = await this.timeRefresh;
    }
    // A refresh that failed leaves the last offset measured, if any: the exchange's clock has not moved.
    if (this.offsetMs === undefined)
      return failure ?? restError(this.dialect, 502, this.dialect.errors.internal);
    return restAnswer(this.dialect, 200, `{"serverTime":${Math.round(this.now() + this.offsetMs)}}`);
  }

  /** Measures the exchange's clock against ours (half the round trip on each side); a failure's answer otherwise. */
  private async refreshOffset(): Promise<HttpResponse | undefined> {
    const sent = this.now();
    const response = await this.forward('time', `${this.dialect.prefix}time`);
    const received = this.now();
    if (response.status !== 200) return response;
    const { serverTime } = JSON.parse(response.body) as { serverTime: number };
    this.offsetMs = serverTime - (sent + received) / 2;
    this.offsetAt = received;
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
