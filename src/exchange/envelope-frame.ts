/**
 * The first steps of reading a frame whose whole JSON object is the event's payload (Bybit's topic
 * envelopes, OKX's pushes): an event nobody parses goes on unparsed, its stream read from the first
 * bytes; anything else is parsed, and a frame that is not a JSON object is reported malformed.
 */
import type { FrameHandler } from './exchange.js';

/**
 * The frame as a JSON object for the venue's reader to sort, or undefined when it was handled here
 * (passed on unparsed, or reported malformed).
 * @param streamAt the stream of an event frame read from its first bytes, undefined when unsure.
 */
export function envelopeOf(
  frame: Buffer,
  handler: FrameHandler,
  streamAt: (frame: Buffer) => string | undefined,
): Record<string, unknown> | undefined {
  if (handler.readsData !== undefined) {
    const stream = streamAt(frame);
    if (stream !== undefined && !handler.readsData(stream)) {
      // The envelope is the payload: nothing to slice, nothing to parse.
      handler.unparsedEvent!(stream, frame, 0, frame.length);
      return undefined;
    }
  }
  let msg: unknown;
  try {
    msg = JSON.parse(frame.toString());
  } catch {
    handler.malformed(frame.length === 0 ? 'empty frame' : 'frame that is not JSON');
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    handler.malformed('frame that is not a JSON object');
    return undefined;
  }
  return msg as Record<string, unknown>;
}
