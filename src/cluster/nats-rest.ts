/**
 * A clustered gateway's way to one feed's exchange REST API: the `rest` capability of the feed's source,
 * and the snapshots of its order books, both asked of the ingest tier over NATS on the feed's subjects
 * (service-subjects.ts; rest-service.ts answers).
 * Nothing leaves the gateway for the exchange, so the weight spent there does not grow with the number
 * of gateways. A request no node acknowledges at once is sent again (rest-wire.ts). No ingest node
 * subscribed, an answer that does not come in time or one that is not well formed reads as the exchange
 * being unreachable, which the gateway answers as in single-process mode
 * (502 with the venue's internal-error body; a book keeps retrying its snapshot); never a hang.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { BookLevel, ForwardedAnswer, RestCapability } from '../core/capabilities.js';
import type { Logger } from '../core/log.js';
import type { BookSnapshot } from '../exchange/exchange.js';
import type { RestRequest } from './rest-service.js';
import { type AnswerFailure, type Reply, type RequestLimits, requestAnswer } from './rest-wire.js';
import { type ServiceSubjects, serviceSubjectsOf } from './service-subjects.js';
import { BOOK_WAIT_MS } from './snapshot-books.js';
import { BINANCE_FEED, REST_HEADERS } from './subjects.js';

/** The ingest node's own timeout on the exchange (10 s, manager/rest-client.ts), plus the NATS hops. */
const FORWARD_TIMEOUT_MS = 12_000;
/** The ingest node's wait for a new book, plus the NATS hops. */
const SNAPSHOT_TIMEOUT_MS = BOOK_WAIT_MS + 1000;
/**
 * A live node acknowledges on receipt, within milliseconds; one that has not by then is taken for dead
 * and the request sent again (to a node the queue group picks at random).
 */
const ACK_TIMEOUT_MS = 750;
const ATTEMPTS = 4;
/** The largest snapshot read (as the manager's own snapshots: a 5000-level book is under 1 MiB). */
const SNAPSHOT_MAX_BYTES = 8 << 20;
const UNREACHABLE: ForwardedAnswer = { ok: false, reason: 'unreachable', retryAfterMs: 0 };
const REFUSALS = new Set(['budget', 'retry_after', 'refused', 'unreachable']);

/** Why a request got no usable answer, as logged. */
const FAILURES: Readonly<Record<AnswerFailure | 'malformed' | 'refused', string>> = {
  no_responders: 'no ingest node is subscribed',
  unacknowledged: 'no ingest node acknowledged the request in time, however often it was sent',
  timeout: 'no answer in time',
  too_large: 'the answer passed its size bound',
  failed: 'the NATS request failed',
  malformed: 'the answer was not well formed',
  refused: 'the ingest node refused the request as not well formed (another version?)',
};

export interface NatsRestOptions {
  /** The feed's request subjects. @default Binance's */
  readonly subjects?: ServiceSubjects;
  /** How long an acknowledged call may take to be answered. @default 12000 */
  readonly forwardTimeoutMs?: number;
  /** How long an acknowledged snapshot request may take to be answered. @default 4000 */
  readonly snapshotTimeoutMs?: number;
  /** How long a node may take to acknowledge a request. @default 750 */
  readonly ackTimeoutMs?: number;
  /** Sendings of a request no node acknowledges. @default 4 */
  readonly attempts?: number;
}

export class NatsRest implements RestCapability {
  private clientWeight = 0;
  /** Requests without an answer since the last one answered; undefined while answers come. */
  private failing: { since: number; count: number } | undefined;
  private readonly limits: { readonly forward: RequestLimits; readonly snapshot: RequestLimits };
  private readonly subjects: ServiceSubjects;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    options: NatsRestOptions = {},
  ) {
    this.subjects = options.subjects ?? serviceSubjectsOf(BINANCE_FEED);
    const ack = { ackMs: options.ackTimeoutMs ?? ACK_TIMEOUT_MS, attempts: options.attempts ?? ATTEMPTS };
    this.limits = {
      // The answer's bound is the call's own (set per call).
      forward: { ...ack, answerMs: options.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS, maxBytes: 0 },
      snapshot: {
        ...ack,
        answerMs: options.snapshotTimeoutMs ?? SNAPSHOT_TIMEOUT_MS,
        maxBytes: SNAPSHOT_MAX_BYTES,
      },
    };
  }

  /**
   * The clients' share of the answering ingest node's budget, as its last answer said (a refusal, the
   * only answer that quotes it, always comes with one).
   */
  get clientWeightPerMinute(): number {
    return this.clientWeight;
  }

  async forward(pathAndQuery: string, weight: number, maxBytes: number): Promise<ForwardedAnswer> {
    const request: RestRequest = { path: pathAndQuery, weight, maxBytes };
    const reply = await requestAnswer(this.nc, this.subjects.rest, JSON.stringify(request), {
      ...this.limits.forward,
      maxBytes,
    });
    if (!reply.ok) return this.failed(reply.failure, UNREACHABLE);
    const get = (name: string) => reply.headers?.get(name) ?? '';
    const clientWeight = Number(get(REST_HEADERS.clientWeight));
    if (Number.isSafeInteger(clientWeight) && clientWeight > 0) this.clientWeight = clientWeight;
    const outcome = get(REST_HEADERS.outcome);
    if (outcome === 'ok') {
      const status = Number(get(REST_HEADERS.status));
      if (!Number.isInteger(status) || status < 100 || status > 599)
        return this.failed('malformed', UNREACHABLE);
      this.answered();
      return {
        ok: true,
        status,
        contentType: get(REST_HEADERS.contentType),
        body: reply.body.toString('utf8'),
      };
    }
    if (!REFUSALS.has(outcome))
      return this.failed(outcome === 'invalid' ? 'refused' : 'malformed', UNREACHABLE);
    this.answered();
    const retryAfterMs = Number(get(REST_HEADERS.retryAfterMs));
    return {
      ok: false,
      reason: outcome as 'budget' | 'retry_after' | 'refused' | 'unreachable',
      retryAfterMs: Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : 0,
    };
  }

  /** A snapshot of `symbol`'s book (as the feed's books take it) from an ingest node's kept book, or undefined. */
  async snapshot(symbol: string, depth: number): Promise<BookSnapshot | undefined> {
    const reply: Reply = await requestAnswer(
      this.nc,
      this.subjects.book,
      JSON.stringify({ symbol, depth }),
      this.limits.snapshot,
    );
    if (!reply.ok) return this.failed(reply.failure, undefined);
    const outcome = reply.headers?.get(REST_HEADERS.outcome);
    // The ingest node's book is not in step yet: the caller retries, as after a failed REST snapshot.
    if (outcome === 'none') return this.answered(undefined);
    const snapshot = outcome === 'ok' ? snapshotOf(reply.body) : undefined;
    if (snapshot === undefined)
      return this.failed(outcome === 'invalid' ? 'refused' : 'malformed', undefined);
    return this.answered(snapshot);
  }

  private answered<T>(value?: T): T {
    if (this.failing !== undefined) {
      this.logger.info(
        { failedRequests: this.failing.count, forMs: Date.now() - this.failing.since },
        'Ingest nodes answer REST and snapshot requests again',
      );
      this.failing = undefined;
    }
    return value as T;
  }

  /** Logs the first failure of a run, and the run's count once answers come again. */
  private failed<T>(why: keyof typeof FAILURES, value: T): T {
    if (this.failing !== undefined) {
      this.failing.count++;
      return value;
    }
    this.failing = { since: Date.now(), count: 1 };
    this.logger.warn(
      { reason: FAILURES[why] },
      'REST and snapshot requests to the ingest tier fail: answered as the exchange being unreachable',
    );
    return value;
  }
}

/** `{"lastUpdateId","bids","asks"}` with levels of two decimal strings, or undefined. */
function snapshotOf(body: Buffer): BookSnapshot | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { lastUpdateId, bids, asks } = value as Record<string, unknown>;
  if (typeof lastUpdateId !== 'number' || !Number.isSafeInteger(lastUpdateId)) return undefined;
  if (!isLevels(bids) || !isLevels(asks)) return undefined;
  return { lastUpdateId, bids, asks };
}

function isLevels(value: unknown): value is BookLevel[] {
  return (
    Array.isArray(value) &&
    value.every(
      (l) => Array.isArray(l) && l.length === 2 && typeof l[0] === 'string' && typeof l[1] === 'string',
    )
  );
}
