/**
 * An ingest node's answers to gateways over NATS request/reply for one feed (service-subjects.ts): REST
 * calls forwarded for the gateways' clients and snapshots for the gateways' order books. Every ingest
 * node carrying the feed subscribes in one queue group, so one node answers each request and the others
 * keep answering when one stops. Calls go out through the feed's WSManager REST client: the budget its
 * refills and books spend, which follows the exchange's count for the node's address where the venue
 * reports one (Binance `X-MBX-USED-WEIGHT-1M`), so the ingest nodes behind one egress IP stay within one
 * budget (docs/scale-out.md). What the venue lets a gateway keep (Binance `exchangeInfo`, Bybit
 * `instruments-info`) is asked once per keep time here too, however many gateways ask; snapshots come
 * from books this node keeps (snapshot-books.ts). The venue's REST dialect says which paths are its own.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ForwardedAnswer, RestCapability } from '../core/capabilities.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { RestDialect } from '../exchange/dialect.js';
import { acknowledge, sendAnswer } from './rest-wire.js';
import { type ServiceSubjects, serviceSubjectsOf } from './service-subjects.js';
import type { SnapshotBooks } from './snapshot-books.js';
import { BINANCE_FEED, REST_HEADERS, REST_QUEUE } from './subjects.js';

/** Distinct kept queries, all kept calls together. */
const KEPT_QUERIES = 64;
/** Bounds a request must stay within: a gateway asks for no more (the venue's largest answer is 16 MiB). */
const MAX_PATH_LENGTH = 8192;
const MAX_WEIGHT = 100_000;
const MAX_ANSWER_BYTES = 64 << 20;
/** How long stop() lets answers under way finish before the connection closes. */
const STOP_GRACE_MS = 2000;
/** Refused requests are logged at most this often, with their count. */
const REFUSAL_LOG_MS = 60_000;

export interface RestRequest {
  /** Path and query on the exchange's REST base, e.g. `/api/v3/trades?symbol=BTCUSDT`, `/v5/market/kline?…`. */
  readonly path: string;
  readonly weight: number;
  readonly maxBytes: number;
}

export interface BookRequest {
  readonly symbol: string;
  readonly depth: number;
}

export interface IngestRestOptions {
  readonly nc: NatsConnection;
  /** This node's WSManager REST client. */
  readonly rest: RestCapability;
  readonly books: SnapshotBooks;
  /** The venue's REST paths and what may be kept. */
  readonly dialect: Pick<RestDialect, 'prefix' | 'upstreamPrefix' | 'keptMs'>;
  /** The feed's request subjects. @default Binance's */
  readonly subjects?: ServiceSubjects;
  readonly logger: Logger;
}

interface Kept {
  readonly at: number;
  readonly answer: Promise<ForwardedAnswer>;
}

export class IngestRestService {
  private subscriptions: Subscription[] = [];
  /** By path and query. */
  private readonly kept = new Map<string, Kept>();
  private readonly underWay = new Set<Promise<void>>();
  private refused = 0;
  private refusalLoggedAt = Number.NEGATIVE_INFINITY;
  private readonly subjects: ServiceSubjects;
  /** Where the venue's calls start on its REST base (Bybit `/v5/market/`, where gateways serve `/bybit/v5/market/`). */
  private readonly prefix: string;

  constructor(private readonly o: IngestRestOptions) {
    this.subjects = o.subjects ?? serviceSubjectsOf(BINANCE_FEED);
    this.prefix = o.dialect.upstreamPrefix ?? o.dialect.prefix;
  }

  start(): void {
    const { nc } = this.o;
    this.subscriptions = [
      nc.subscribe(this.subjects.rest, {
        queue: REST_QUEUE,
        callback: (error, msg) => {
          if (error === null) this.receive(msg, (m) => this.answerRest(m));
        },
      }),
      nc.subscribe(this.subjects.book, {
        queue: REST_QUEUE,
        callback: (error, msg) => {
          if (error === null) this.receive(msg, (m) => this.answerBook(m));
        },
      }),
    ];
  }

  /**
   * Stops taking requests (the other nodes of the queue group get them), then lets answers under way
   * finish. Draining, not unsubscribing: requests the server sent before it saw the unsubscribe are
   * answered too, instead of being dropped on arrival and left to time out at the gateway.
   */
  async stop(): Promise<void> {
    const drained = this.subscriptions.map((subscription) => subscription.drain().catch(() => {}));
    this.subscriptions = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(drained).then(() => Promise.allSettled([...this.underWay])),
      new Promise((resolve) => {
        timer = setTimeout(resolve, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    this.o.books.close();
  }

  /** Acknowledges `msg` at once, so the gateway knows a live node has it, then answers it. */
  private receive(msg: Msg, answer: (msg: Msg) => Promise<void>): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      acknowledge(this.o.nc, msg.reply);
    } catch {
      // The connection is closing: the gateway sends the request again.
      return;
    }
    this.track(answer(msg));
  }

  private track(work: Promise<void>): void {
    // Answering never rejects by design; should it, the node logs it rather than crash on it.
    const done: Promise<void> = work
      .catch((error: unknown) => {
        this.o.logger.warn({ err: String(error) }, "Answering a gateway's request failed");
      })
      .finally(() => this.underWay.delete(done));
    this.underWay.add(done);
  }

  private async answerRest(msg: Msg): Promise<void> {
    const request = restRequestOf(msg, this.prefix);
    if (request === undefined) {
      this.refuse(msg, 'a REST request that is not well formed');
      return;
    }
    const answer = await this.forward(request);
    const clientWeight = String(this.o.rest.clientWeightPerMinute);
    if (answer.ok) {
      this.reply(
        msg,
        {
          [REST_HEADERS.outcome]: 'ok',
          [REST_HEADERS.status]: String(answer.status),
          [REST_HEADERS.contentType]: answer.contentType,
          [REST_HEADERS.clientWeight]: clientWeight,
        },
        Buffer.from(answer.body, 'utf8'),
      );
    } else {
      this.reply(msg, {
        [REST_HEADERS.outcome]: answer.reason,
        [REST_HEADERS.retryAfterMs]: String(answer.retryAfterMs),
        [REST_HEADERS.clientWeight]: clientWeight,
      });
    }
  }

  private async answerBook(msg: Msg): Promise<void> {
    const request = bookRequestOf(msg);
    if (request === undefined) {
      this.refuse(msg, 'a snapshot request that is not well formed');
      return;
    }
    let snapshot: Awaited<ReturnType<SnapshotBooks['snapshot']>>;
    try {
      snapshot = await this.o.books.snapshot(request.symbol, request.depth);
    } catch (error) {
      if (error instanceof InvalidArgumentError) this.refuse(msg, error.message);
      else this.reply(msg, { [REST_HEADERS.outcome]: 'none' });
      return;
    }
    if (snapshot === undefined) this.reply(msg, { [REST_HEADERS.outcome]: 'none' });
    else this.reply(msg, { [REST_HEADERS.outcome]: 'ok' }, Buffer.from(JSON.stringify(snapshot), 'utf8'));
  }

  /** The exchange's answer; a call the venue lets keep is asked once per keep time (one request in flight). */
  private forward(request: RestRequest): Promise<ForwardedAnswer> {
    const keptMs = this.keptMsOf(request.path);
    if (keptMs === undefined) return this.o.rest.forward(request.path, request.weight, request.maxBytes);
    const now = Date.now();
    const kept = this.kept.get(request.path);
    if (kept !== undefined && now - kept.at < keptMs) return kept.answer;
    this.kept.delete(request.path);
    if (this.kept.size >= KEPT_QUERIES) this.kept.delete(this.kept.keys().next().value as string);
    const entry: Kept = {
      at: now,
      answer: this.o.rest.forward(request.path, request.weight, request.maxBytes).then((answer) => {
        // An answer about the query (200, or 400 for an unknown symbol) is kept, as on the gateway; a
        // refusal or a failure is asked again next time.
        const about = answer.ok && (answer.status === 200 || answer.status === 400);
        if (!about && this.kept.get(request.path) === entry) this.kept.delete(request.path);
        return answer;
      }),
    };
    this.kept.set(request.path, entry);
    return entry.answer;
  }

  private keptMsOf(path: string): number | undefined {
    const query = path.indexOf('?');
    const endpoint = path.slice(this.prefix.length, query < 0 ? undefined : query);
    return (this.o.dialect.keptMs as ReadonlyMap<string, number>).get(endpoint);
  }

  private refuse(msg: Msg, why: string): void {
    this.reply(msg, { [REST_HEADERS.outcome]: 'invalid' });
    this.refused++;
    const now = Date.now();
    if (now - this.refusalLoggedAt < REFUSAL_LOG_MS) return;
    this.refusalLoggedAt = now;
    this.o.logger.warn(
      { refused: this.refused, last: why, subject: msg.subject },
      'Refused requests from gateways (a gateway of another version?)',
    );
    this.refused = 0;
  }

  private reply(
    msg: Msg,
    fields: Readonly<Record<string, string>>,
    body: Uint8Array = new Uint8Array(0),
  ): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      sendAnswer(this.o.nc, msg.reply, fields, body);
    } catch {
      // The connection is closing or lost: the gateway's request ends at its timeout.
    }
  }
}

function jsonOf(msg: Msg): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(msg.string());
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function boundedInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** A REST request on the venue's prefix, within the bounds a gateway keeps to. */
export function restRequestOf(msg: Msg, prefix: string): RestRequest | undefined {
  const r = jsonOf(msg);
  if (r === undefined) return undefined;
  const { path, weight, maxBytes } = r;
  if (typeof path !== 'string' || !path.startsWith(prefix) || path.length > MAX_PATH_LENGTH) return undefined;
  // A request target's characters only: no spaces, control characters or fragment.
  if (!/^[\x21-\x22\x24-\x7e]+$/.test(path)) return undefined;
  if (!boundedInteger(weight, 1, MAX_WEIGHT) || !boundedInteger(maxBytes, 0, MAX_ANSWER_BYTES))
    return undefined;
  return { path, weight, maxBytes };
}

export function bookRequestOf(msg: Msg): BookRequest | undefined {
  const r = jsonOf(msg);
  if (r === undefined) return undefined;
  const { symbol, depth } = r;
  if (typeof symbol !== 'string' || !boundedInteger(depth, 1, 1_000_000)) return undefined;
  return { symbol, depth };
}
