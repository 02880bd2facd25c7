/**
 * The request/reply format between gateways and ingest nodes on REST_SUBJECT and BOOK_SUBJECT (core NATS
 * request/reply). A request is one JSON message. The node that receives it acknowledges it at once (a
 * message with the outcome `received` and no body), so a gateway knows within a moment whether a live
 * node has it. The answer follows on the same reply subject: its first message carries the outcome in
 * headers (REST_HEADERS), the body follows in chunks that fit the server's `max_payload` (an
 * `exchangeInfo` answer is several MiB, NATS's default limit 1 MiB), and an empty message ends it. One
 * publisher's messages to one subscriber keep their order, so the chunks need no numbering.
 *
 * A request nobody acknowledges in time (it went to a node that died, or whose connection the server has
 * not yet found dead) is sent again, and the queue group gives it to a node at random; GET calls can be
 * repeated safely.
 */
import {
  createInbox,
  type MsgHdrs,
  type NatsConnection,
  headers as natsHeaders,
} from '@nats-io/transport-node';
import { REST_HEADERS } from './subjects.js';

/** Room kept in each message for the headers and the protocol line. */
const HEADER_ROOM = 4096;
/** NATS's default `max_payload`, for a connection that has not reported its server's yet. */
const DEFAULT_MAX_PAYLOAD = 1 << 20;
const EMPTY = new Uint8Array(0);
/** The outcome of the acknowledgement. */
const RECEIVED = 'received';

/** Why a request got no answer. */
export type AnswerFailure = 'no_responders' | 'unacknowledged' | 'timeout' | 'too_large' | 'failed';

export type Reply =
  | { readonly ok: true; readonly headers: MsgHdrs | undefined; readonly body: Buffer }
  | { readonly ok: false; readonly failure: AnswerFailure };

export interface RequestLimits {
  /** How long a node may take to acknowledge a request before it is sent again. */
  readonly ackMs: number;
  /** Sendings of a request nobody acknowledges, the first included. */
  readonly attempts: number;
  /** How long an acknowledged request may take to be answered in full. */
  readonly answerMs: number;
  /** The largest body read. */
  readonly maxBytes: number;
}

/** Tells the requester that a live node has its request (ingest side, on receipt). */
export function acknowledge(nc: NatsConnection, reply: string): void {
  const headers = natsHeaders();
  headers.set(REST_HEADERS.outcome, RECEIVED);
  nc.publish(reply, EMPTY, { headers });
}

/** Publishes an answer to `reply`: `fields` as headers of the first message, `body` in chunks, then the end. */
export function sendAnswer(
  nc: NatsConnection,
  reply: string,
  fields: Readonly<Record<string, string>>,
  body: Uint8Array,
): void {
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(fields)) headers.set(name, value);
  if (body.byteLength === 0) {
    // The first message is also the end.
    nc.publish(reply, EMPTY, { headers });
    return;
  }
  const size = Math.max(1024, (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM);
  for (let at = 0; at < body.byteLength; at += size) {
    nc.publish(reply, body.subarray(at, at + size), at === 0 ? { headers } : undefined);
  }
  nc.publish(reply, EMPTY);
}

/**
 * Sends `payload` to `subject` and gathers the answer: its first message's headers and the whole body,
 * or why there is none. No node subscribed fails at once (`no_responders`, the server's 503); a request
 * no node acknowledges within `ackMs` is sent again, up to `attempts` sendings (`unacknowledged`); an
 * acknowledged one not answered in full within `answerMs` is `timeout`; a body past `maxBytes` is
 * dropped as `too_large`.
 */
export async function requestAnswer(
  nc: NatsConnection,
  subject: string,
  payload: string,
  limits: RequestLimits,
): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await sendOnce(nc, subject, payload, limits);
    if (reply.ok || reply.failure !== 'unacknowledged' || attempt >= limits.attempts) return reply;
  }
}

function sendOnce(
  nc: NatsConnection,
  subject: string,
  payload: string,
  limits: RequestLimits,
): Promise<Reply> {
  return new Promise((resolve) => {
    let acknowledged = false;
    let headers: MsgHdrs | undefined;
    let started = false;
    const chunks: Uint8Array[] = [];
    let length = 0;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = () => {};
    const finish = (reply: Reply) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      // Later messages of this request (a late answer) go nowhere.
      unsubscribe();
      resolve(reply);
    };
    try {
      const subscription = nc.subscribe(createInbox(), {
        callback: (error, m) => {
          if (error !== null) return finish({ ok: false, failure: 'failed' });
          if (m.data.byteLength === 0 && m.headers?.code === 503) {
            return finish({ ok: false, failure: 'no_responders' });
          }
          acknowledged = true;
          if (!started) {
            if (m.headers?.get(REST_HEADERS.outcome) === RECEIVED) return;
            started = true;
            headers = m.headers;
          }
          if (m.data.byteLength === 0)
            return finish({ ok: true, headers, body: Buffer.concat(chunks, length) });
          length += m.data.byteLength;
          if (length > limits.maxBytes) return finish({ ok: false, failure: 'too_large' });
          chunks.push(m.data);
        },
      });
      unsubscribe = () => subscription.unsubscribe();
      timers.push(
        setTimeout(() => {
          if (!acknowledged) finish({ ok: false, failure: 'unacknowledged' });
        }, limits.ackMs),
        setTimeout(() => finish({ ok: false, failure: 'timeout' }), limits.ackMs + limits.answerMs),
      );
      nc.publish(subject, payload, { reply: subscription.getSubject() });
    } catch {
      // The connection is closed or draining.
      finish({ ok: false, failure: 'failed' });
    }
  });
}
