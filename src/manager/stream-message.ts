/**
 * The message object every subscriber of a stream receives for one upstream frame: created once per
 * frame and shared, so forwarding needs neither a copy nor a re-serialisation.
 */

import type { StreamMessage } from '../core/stream-source.js';
import { combinedPrefix } from '../exchange/binance/frames.js';

const CLOSE_BRACE = 0x7d;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

export class FrameMessage implements StreamMessage {
  private payload: Buffer | undefined;

  /**
   * @param frame the combined-stream frame exactly as received: `{"stream":"<name>","data":<payload>}`.
   */
  constructor(
    readonly stream: string,
    readonly data: unknown,
    private readonly frame: Buffer,
  ) {}

  frameBytes(): Buffer {
    return this.frame;
  }

  /**
   * The payload bytes, sliced out of the frame on first use (no copy). When the frame is not laid out
   * as Binance sends it (other key order or spacing), the payload is serialised from `data` instead.
   */
  payloadBytes(): Buffer {
    if (this.payload === undefined) this.payload = sliceData(this.frame, this.stream) ?? serialise(this.data);
    return this.payload;
  }
}

/** Locates `<payload>` in `{"stream":"<name>","data":<payload>}` (trailing whitespace allowed). */
export function sliceData(frame: Buffer, stream: string): Buffer | undefined {
  const prefix = combinedPrefix(stream);
  const start = Buffer.byteLength(prefix);
  if (frame.length <= start || frame.toString('utf8', 0, start) !== prefix) return undefined;
  let end = frame.length - 1;
  while (end > start && WHITESPACE.has(frame[end]!)) end--;
  if (frame[end] !== CLOSE_BRACE) return undefined;
  end--;
  while (end >= start && WHITESPACE.has(frame[end]!)) end--;
  return end >= start ? frame.subarray(start, end + 1) : undefined;
}

function serialise(data: unknown): Buffer {
  return Buffer.from(JSON.stringify(data) ?? 'null');
}
