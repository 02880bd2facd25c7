/**
 * OKX v5 public frames. Pushes come as `{"arg":{"channel":..,"instId":..},"data":[..]}` (order books add
 * `"action":"snapshot"|"update"`); the stream's payload is that whole envelope, since `action` tells a
 * book snapshot from an update. Control replies are `{"event":"subscribe"|"unsubscribe","arg":{..},
 * "connId":..}` (one per arg) or `{"event":"error","code":"60012","msg":..,"connId":..}`, carrying the
 * request's `id` when it had one; `{"event":"notice","code":"64008",..}` announces that the connection
 * will close for a service upgrade. The heartbeat answer is the bare text `pong`.
 */
import { envelopeOf } from '../envelope-frame.js';
import type { FrameHandler } from '../exchange.js';
import { PONG_MESSAGE } from './limits.js';

/** Every push frame starts with these bytes; the instrument follows the channel. */
const ARG_PREFIX = Buffer.from('{"arg":{"channel":"');
const INST_INFIX = Buffer.from('","instId":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const PONG = Buffer.from(PONG_MESSAGE);
/** The upgrade notice: reconnect now, make-before-break. */
const SHUTDOWN_NOTICE = '64008';

function startsWith(frame: Buffer, prefix: Buffer, at: number): boolean {
  return (
    frame.length > at + prefix.length && frame.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

/**
 * The stream of a push frame read from its first bytes (`channel:instId`), or undefined when the frame
 * is not laid out that way (then it is parsed as a whole).
 */
function streamAt(frame: Buffer): string | undefined {
  if (!startsWith(frame, ARG_PREFIX, 0)) return undefined;
  const channelEnd = frame.indexOf(QUOTE, ARG_PREFIX.length);
  if (channelEnd < 0 || channelEnd - ARG_PREFIX.length > 32 || !startsWith(frame, INST_INFIX, channelEnd))
    return undefined;
  const instStart = channelEnd + INST_INFIX.length;
  const instEnd = frame.indexOf(QUOTE, instStart);
  if (instEnd < 0 || instEnd - instStart > 64) return undefined;
  // Names are plain ASCII; an escape means something else is going on: parse it.
  const slash = frame.indexOf(BACKSLASH, ARG_PREFIX.length);
  if (slash >= 0 && slash < instEnd) return undefined;
  return `${frame.toString('latin1', ARG_PREFIX.length, channelEnd)}:${frame.toString('latin1', instStart, instEnd)}`;
}

/** The request id a reply echoes, or undefined when it carries none of ours. */
function idOf(m: Record<string, unknown>): number | undefined {
  const raw = m['id'];
  if (typeof raw !== 'string' || raw === '') return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Reads one frame of an OKX v5 public or business connection. */
export function readOkxFrame(frame: Buffer, handler: FrameHandler): void {
  if (frame.length === PONG.length && frame.equals(PONG)) {
    handler.heartbeat?.();
    return;
  }
  const m = envelopeOf(frame, handler, streamAt);
  if (m === undefined) return;
  const arg = m['arg'] as Record<string, unknown> | undefined;
  const event = m['event'];
  if (event === undefined && typeof arg === 'object' && arg !== null) {
    const { channel, instId } = arg;
    if (typeof channel !== 'string' || typeof instId !== 'string' || !Array.isArray(m['data']))
      handler.malformed(`push without a channel, instrument or data: ${frame.toString().slice(0, 120)}`);
    else handler.event(`${channel}:${instId}`, m, frame);
    return;
  }
  switch (event) {
    case 'subscribe':
    case 'unsubscribe': {
      // OKX acknowledges each arg of a request; the first acknowledgement settles the request, and one
      // without our id (a request sent by someone else) has nothing to settle.
      const id = idOf(m);
      if (id !== undefined) handler.reply(id, undefined);
      return;
    }
    case 'error': {
      const id = idOf(m);
      const error = { code: m['code'], msg: m['msg'] };
      if (id !== undefined) handler.reply(id, error);
      else handler.malformed(`error ${String(m['code'])} without a request id of ours: ${String(m['msg'])}`);
      return;
    }
    case 'notice':
      if (m['code'] === SHUTDOWN_NOTICE) handler.shutdown();
      else handler.malformed(`notice ${String(m['code'])}: ${String(m['msg'])}`);
      return;
    case 'channel-conn-count':
      // Only private channels send it; nothing to act on.
      return;
    default:
      handler.malformed(`unknown frame: ${frame.toString().slice(0, 120)}`);
  }
}

/** The payload of a push frame is the frame itself. */
export function payloadOf(frame: Buffer): Buffer {
  return frame;
}
