/**
 * The request/reply format between gateways and ingest nodes on REST_SUBJECT and BOOK_SUBJECT (core NATS
 * request/reply). A request is one JSON message. An answer is one or more messages on the request's
 * reply subject: the first carries the outcome in headers (REST_HEADERS), the body follows in chunks
 * that fit the server's `max_payload` (an `exchangeInfo` answer is several MiB, NATS's default limit
 * 1 MiB), and an empty message ends it. One publisher's messages to one subscriber keep their order,
 * so the chunks need no numbering.
 */
import {
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  headers as natsHeaders,
} from '@nats-io/transport-node';

/** Room kept in each message for the headers and the protocol line. */
const HEADER_ROOM = 4096;
/** NATS's default `max_payload`, for a connection that has not reported its server's yet. */
const DEFAULT_MAX_PAYLOAD = 1 << 20;
const END = new Uint8Array(0);

/** Why a request got no answer. */
export type AnswerFailure = 'no_responders' | 'timeout' | 'too_large' | 'failed';

export type Reply =
  | { readonly ok: true; readonly headers: MsgHdrs | undefined; readonly body: Buffer }
  | { readonly ok: false; readonly failure: AnswerFailure };

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
    nc.publish(reply, END, { headers });
    return;
  }
  const size = Math.max(1024, (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM);
  for (let at = 0; at < body.byteLength; at += size) {
    nc.publish(reply, body.subarray(at, at + size), at === 0 ? { headers } : undefined);
  }
  nc.publish(reply, END);
}

/**
 * Sends `payload` to `subject` and gathers the answer: its first message's headers and the whole body,
 * or why there is none. No node subscribed fails at once (`no_responders`, the server's 503); an answer
 * not complete within `timeoutMs` is `timeout`; a body past `maxBytes` is dropped as `too_large`.
 */
export async function requestAnswer(
  nc: NatsConnection,
  subject: string,
  payload: string,
  timeoutMs: number,
  maxBytes: number,
): Promise<Reply> {
  let headers: MsgHdrs | undefined;
  let first = true;
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    const messages = await nc.requestMany(subject, payload, { strategy: 'sentinel', maxWait: timeoutMs });
    for await (const m of messages) {
      if (first) {
        headers = m.headers;
        first = false;
      }
      if (m.data.byteLength === 0) return { ok: true, headers, body: Buffer.concat(chunks, length) };
      length += m.data.byteLength;
      // Leaving the loop cancels the request: later chunks are not kept.
      if (length > maxBytes) return { ok: false, failure: 'too_large' };
      chunks.push(m.data);
    }
  } catch (error) {
    return { ok: false, failure: error instanceof NoRespondersError ? 'no_responders' : 'failed' };
  }
  // The request ended at its deadline, before the end of the answer.
  return { ok: false, failure: 'timeout' };
}
