/** One event as the legacy implementation delivers it: the raw payload bytes plus the stream name. */
import { combinedFrame } from '../exchange/binance/frames.js';
import type { StreamMessage } from '../stream-source.js';

/**
 * Wraps the payload of a raw `/ws/<stream>` frame. The combined frame is built by concatenating bytes
 * (`{"stream":"x","data":` + payload + `}`), never by serialising `data` again.
 */
export class LegacyMessage implements StreamMessage {
  readonly stream: string;
  readonly data: unknown;
  private readonly payload: Buffer;
  private frame: Buffer | undefined;

  constructor(stream: string, payload: Buffer, data: unknown) {
    this.stream = stream;
    this.payload = payload;
    this.data = data;
  }

  payloadBytes(): Buffer {
    return this.payload;
  }

  frameBytes(): Buffer {
    this.frame ??= combinedFrame(this.stream, this.payload);
    return this.frame;
  }
}
