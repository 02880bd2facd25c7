/**
 * What a client reads from a Binance market-stream connection ("WebSocket Streams for Binance"): on a
 * combined connection (`/stream?streams=`) every event comes wrapped as `{"stream":..,"data":..}`; on a
 * raw one (`/ws/<stream>`) the event payload itself. Both carry the `serverShutdown` notice (combined:
 * stream `!serverShutdown`) and the replies to live control messages, `{"result":..,"id":..}`, or an
 * error: documented flat as `{"code":..,"msg":..,"id":..}`, sent by the production servers nested as
 * `{"error":{"code":..,"msg":..},"id":..}`; clients must accept both.
 *
 * The readers hand the frame to a handler instead of returning a description of it: they run once per
 * stream event, and an ordinary event then costs one JSON.parse and no further allocation, or no parse
 * at all when the handler does not read the stream's payload (`FrameHandler.readsData`).
 */

import type { ExchangeError, FrameHandler } from '../exchange.js';

export { combinedFrame, combinedPrefix, sliceData } from '../../core/combined-frame.js';
export type { ExchangeError, FrameHandler };

export const SERVER_SHUTDOWN_EVENT = 'serverShutdown';
/** The pseudo stream a combined connection sends the `serverShutdown` event on. */
export const SERVER_SHUTDOWN_STREAM = '!serverShutdown';

/** Reads one frame of a combined-stream connection. */
export function readCombinedFrame(frame: Buffer, handler: FrameHandler): void {
  if (handler.readsData !== undefined && readUnparsed(frame, handler)) return;
  const obj = parseObject(frame, handler);
  if (obj === undefined) return;
  const stream = obj['stream'];
  if (typeof stream === 'string') {
    const data = obj['data'];
    if (stream === SERVER_SHUTDOWN_STREAM) handler.shutdown();
    else if (data === undefined) handler.malformed(`frame of stream ${stream} without data`);
    else handler.event(stream, data, frame);
    return;
  }
  if (obj['e'] === SERVER_SHUTDOWN_EVENT) {
    handler.shutdown();
    return;
  }
  const id = obj['id'];
  if (typeof id === 'number') {
    handler.reply(id, replyError(obj));
    return;
  }
  handler.malformed('JSON object that is neither an event nor a reply');
}

/**
 * Reads one frame of a raw-stream connection: anything that is JSON is the stream's event, except the
 * `serverShutdown` notice. (A raw connection that sends no control message gets no reply to tell apart.)
 */
export function readRawFrame(frame: Buffer, handler: FrameHandler): void {
  const data = parseJson(frame, handler);
  if (data === NOT_JSON) return;
  if (
    typeof data === 'object' &&
    data !== null &&
    (data as Record<string, unknown>)['e'] === SERVER_SHUTDOWN_EVENT
  )
    handler.shutdown();
  else handler.event(undefined, data, frame);
}

const STREAM_OPENING = Buffer.from('{"stream":"');
const DATA_KEY = Buffer.from('","data":');

/**
 * Reads an event frame laid out exactly as Binance sends it, `{"stream":"<name>","data":<payload>}`,
 * from its bytes, and hands it on unparsed when the handler does not read the stream's payload. False
 * (nothing called) when the frame is laid out otherwise, is the shutdown notice, or is to be parsed.
 */
function readUnparsed(frame: Buffer, handler: FrameHandler): boolean {
  const opening = STREAM_OPENING.length;
  if (!bytesAt(frame, 0, STREAM_OPENING)) return false;
  // Stream names are ASCII without escapes; anything else is left to the parse.
  let close = opening;
  for (; close < frame.length; close++) {
    const c = frame[close]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c >= 0x80) return false;
  }
  const start = close + DATA_KEY.length;
  if (!bytesAt(frame, close, DATA_KEY)) return false;
  let end = frame.length - 1;
  while (end > start && isSpace(frame[end]!)) end--;
  if (frame[end] !== CLOSE_BRACE) return false;
  while (end > start && isSpace(frame[end - 1]!)) end--;
  if (end <= start) return false;
  const stream = streamName(frame, opening, close);
  if (stream === SERVER_SHUTDOWN_STREAM || handler.readsData!(stream)) return false;
  handler.unparsedEvent!(stream, frame, start, end);
  return true;
}

/** The last stream name read, and the frame and place it was read from (frames are never written to). */
let lastName = '';
let lastFrame: Buffer | undefined;
let lastStart = 0;
let lastEnd = 0;

/**
 * The stream name in `frame[start..end)` (ASCII): the string made for the previous frame when the bytes
 * are the same. Busy streams send runs of events, and the same string object is then looked up in the
 * maps the event passes through without being made and hashed again.
 */
function streamName(frame: Buffer, start: number, end: number): string {
  const previous = lastFrame;
  const length = end - start;
  if (previous !== undefined && lastEnd - lastStart === length) {
    let i = 0;
    while (i < length && previous[lastStart + i] === frame[start + i]) i++;
    if (i === length) return lastName;
  }
  lastName = frame.toString('latin1', start, end);
  lastFrame = frame;
  lastStart = start;
  lastEnd = end;
  return lastName;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

/** Whether `frame` holds `bytes` at `at` (a loop: cheaper than a native compare for a few bytes). */
function bytesAt(frame: Buffer, at: number, bytes: Buffer): boolean {
  if (at + bytes.length > frame.length) return false;
  for (let i = 0; i < bytes.length; i++) if (frame[at + i] !== bytes[i]) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The error a control reply carries, in either envelope; undefined for a success. */
function replyError(reply: Record<string, unknown>): ExchangeError | undefined {
  const nested = reply['error'];
  if (reply['code'] === undefined && nested === undefined) return undefined;
  const body = nested !== null && typeof nested === 'object' ? (nested as Record<string, unknown>) : reply;
  return { code: body['code'], msg: body['msg'] };
}

const NOT_JSON = Symbol('not JSON');

/** The frame's JSON value, or NOT_JSON after telling the handler. */
function parseJson(frame: Buffer, handler: FrameHandler): unknown {
  try {
    return JSON.parse(frame.toString());
  } catch {
    handler.malformed('frame that is not JSON');
    return NOT_JSON;
  }
}

function parseObject(frame: Buffer, handler: FrameHandler): Record<string, unknown> | undefined {
  const msg = parseJson(frame, handler);
  if (msg === NOT_JSON) return undefined;
  if (msg === null || typeof msg !== 'object') {
    handler.malformed('frame that is not a JSON object');
    return undefined;
  }
  return msg as Record<string, unknown>;
}
