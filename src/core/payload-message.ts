/**
 * One event delivered from its payload bytes (the legacy implementation's raw `/ws/<stream>` frames,
 * a clustered gateway's NATS messages). The combined frame is built by concatenating bytes
 * (`{"stream":"x","data":` + payload + `}`) when first asked, never by serialising `data` again.
 */
import { combinedFrame } from './combined-frame.js';
import type { StreamMessage } from './stream-source.js';

export class PayloadMessage implements StreamMessage {
  private frame: Buffer | undefined;

  constructor(
    readonly stream: string,
    private readonly payload: Buffer,
    readonly data: unknown,
  ) {}

  payloadBytes(): Buffer {
    return this.payload;
  }

  frameBytes(): Buffer {
    this.frame ??= combinedFrame(this.stream, this.payload);
    return this.frame;
  }
}
