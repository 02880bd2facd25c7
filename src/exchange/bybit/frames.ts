/**
 * Bybit v5 public frames. Events come as `{"topic":..,"type":"snapshot"|"delta","ts":..,"data":..}`
 * (order books add `cts`, tickers `cs`); the stream's payload is that whole envelope, since `type`
 * tells a book snapshot from a delta and `ts` is the only event time of some topics. Control replies are
 * `{"success":..,"ret_msg":..,"conn_id":..,"req_id":..,"op":"subscribe"|"unsubscribe"}`; the answer to
 * `{"op":"ping"}` is the same shape with `op:"ping"` (`ret_msg:"pong"`), or `{"op":"pong",..}` on the
 * option and spread hosts.
 */
import { envelopeOf } from '../envelope-frame.js';
import type { FrameHandler } from '../exchange.js';

/** Every event frame Bybit sends starts with these bytes. */
const TOPIC_PREFIX = Buffer.from('{"topic":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The topic of an event frame read from its first bytes, or undefined when the frame does not start
 * with the topic field (then it is parsed as a whole).
 */
function topicAt(frame: Buffer): string | undefined {
  if (
    frame.length <= TOPIC_PREFIX.length ||
    frame.compare(TOPIC_PREFIX, 0, TOPIC_PREFIX.length, 0, TOPIC_PREFIX.length) !== 0
  )
    return undefined;
  const start = TOPIC_PREFIX.length;
  const end = frame.indexOf(QUOTE, start);
  if (end < 0 || end - start > 64) return undefined;
  // Topics are plain ASCII; an escape means something else is going on: parse it.
  if (frame.indexOf(BACKSLASH, start) >= 0 && frame.indexOf(BACKSLASH, start) < end) return undefined;
  return frame.toString('latin1', start, end);
}

/** Reads one frame of a Bybit v5 public connection. */
export function readTopicFrame(frame: Buffer, handler: FrameHandler): void {
  const m = envelopeOf(frame, handler, topicAt);
  if (m === undefined) return;
  const topic = m['topic'];
  if (typeof topic === 'string') {
    if (m['data'] === undefined) handler.malformed(`event of ${topic} without data`);
    else handler.event(topic, m, frame);
    return;
  }
  const op = m['op'];
  if (op === 'pong' || (op === 'ping' && m['success'] !== false)) {
    handler.heartbeat?.();
    return;
  }
  if (op === 'subscribe' || op === 'unsubscribe') {
    const id = Number(m['req_id']);
    if (!Number.isSafeInteger(id) || m['req_id'] === '') {
      handler.malformed(`${op} reply without a request id of ours: ${String(m['ret_msg'])}`);
      return;
    }
    handler.reply(id, m['success'] === true ? undefined : { code: m['ret_msg'], msg: m['ret_msg'] });
    return;
  }
  handler.malformed(`unknown frame: ${frame.toString().slice(0, 120)}`);
}

/** The payload of an event frame is the frame itself. */
export function payloadOf(frame: Buffer): Buffer {
  return frame;
}
