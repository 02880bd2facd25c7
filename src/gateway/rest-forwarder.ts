/**
 * The venue's REST calls other than `depth`, answered from the exchange through the source's REST API,
 * so they spend the one weight budget the manager keeps below the exchange's (the gateway is one IP to
 * the exchange however many clients it has). Only a well-formed answer of the venue's passes through, as
 * the exchange sent it: a 200 JSON of the call's shape, or the venue's error body with any other status;
 * anything else (a captive portal's `200 text/html`, truncated JSON, a JSON of another shape, an answer
 * past the call's size bound) becomes 502 with the venue's internal error, and is never kept. What is
 * safe to share is shared, as the dialect says: calls it answers locally are answered here, its clock
 * call from our clock plus the exchange's measured offset, and the calls it keeps from one copy per
 * query (one request in flight per query).
 * When the shared budget has no room, or the exchange asked for a pause (429/418 with `Retry-After`),
 * the client gets 429 with `Retry-After` instead of the exchange getting one more request.
 */

import type { ForwardedAnswer } from '../core/capabilities.js';
import type { RestCapability } from '../core/stream-source.js';
import type { ClockCall, RestDialect } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';
import { restAnswer, restError } from './rest-response.js';

/** The forwarded calls' weights are fixed: none depends on the query (the answer bounds are the dialect's). */
const NO_QUERY = new URLSearchParams();
/** Distinct queries kept, all kept calls together. */
const KEPT_QUERIES = 64;

interface KeptAnswer {
  readonly at: number;
  readonly answer: Promise<HttpResponse>;
}

export class RestForwarder {
  /** By path and query. */
  private readonly kept = new Map<string, KeptAnswer>();
  private offsetMs: number | undefined;
  private offsetAt = Number.NEGATIVE_INFINITY;
  private timeRefresh: Promise<HttpResponse | undefined> | undefined;

  constructor(
    private readonly client: RestCapability,
    private readonly dialect: RestDialect,
    private readonly now: () => number = Date.now,
  ) {}

  /** Answers a call other than `depth` whose query passed the venue's query rules. Never rejects. */
  answer(endpoint: string, url: URL): Promise<HttpResponse> {
    const local = this.dialect.localAnswers.get(endpoint);
    if (local !== undefined) return Promise.resolve(restAnswer(this.dialect, 200, local));
    if (endpoint === this.dialect.clock?.endpoint) return this.time();
    const keptMs = this.dialect.keptMs.get(endpoint);
    if (keptMs !== undefined) return this.keptAnswer(endpoint, url.search, keptMs);
    return this.forward(endpoint, this.upstreamPath(endpoint, url.search));
  }

  /** The kept answer describing `symbol` (uppercase), as any answer of its call: 200 if it trades, the venue's error if unknown. */
  symbolInfo(symbol: string): Promise<HttpResponse> {
    const { endpoint, search } = this.dialect.symbolInfo(symbol);
    return this.keptAnswer(endpoint, search, this.dialect.keptMs.get(endpoint) ?? 0);
  }

  /** The call's path and query on the source's REST base. */
  private upstreamPath(endpoint: string, search: string): string {
    return `${this.dialect.upstreamPrefix ?? this.dialect.prefix}${endpoint}${search}`;
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

  private keptAnswer(endpoint: string, search: string, keptMs: number): Promise<HttpResponse> {
    const now = this.now();
    const path = this.upstreamPath(endpoint, search);
    const kept = this.kept.get(path);
    if (kept !== undefined && now - kept.at < keptMs) return kept.answer;
    this.kept.delete(path);
    if (this.kept.size >= KEPT_QUERIES) this.kept.delete(this.kept.keys().next().value as string);
    const entry: KeptAnswer = {
      at: now,
      answer: this.forward(endpoint, path).then((response) => {
        // An answer about the query (200, or 400 for an unknown symbol) is kept; a refusal, a failure or
        // an answer that is not the venue's (502) is asked again next time.
        const about = response.status === 200 || response.status === 400;
        if (!about && this.kept.get(path) === entry) this.kept.delete(path);
        return response;
      }),
    };
    this.kept.set(path, entry);
    return entry.answer;
  }

  /** Answers the dialect's clock call (only routed here when it has one). */
  private async time(): Promise<HttpResponse> {
    const clock = this.dialect.clock as ClockCall;
    let failure: HttpResponse | undefined;
    if (this.now() - this.offsetAt >= clock.refreshMs) {
      this.timeRefresh ??= this.refreshOffset().finally(() => {
        this.timeRefresh = undefined;
      });
      failure = await this.timeRefresh;
    }
    // A refresh that failed leaves the last offset measured, if any: the exchange's clock has not moved.
    if (this.offsetMs === undefined)
      return failure ?? restError(this.dialect, 502, this.dialect.errors.internal);
    return restAnswer(this.dialect, 200, clock.answer(this.now() + this.offsetMs));
  }

  /** Measures the exchange's clock against ours (half the round trip on each side); a failure's answer otherwise. */
  private async refreshOffset(): Promise<HttpResponse | undefined> {
    const sent = this.now();
    const clock = this.dialect.clock as ClockCall;
    const response = await this.forward(clock.endpoint, this.upstreamPath(clock.endpoint, ''));
    const received = this.now();
    if (response.status !== 200) return response;
    this.offsetMs = clock.timeOf(response.body) - (sent + received) / 2;
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
