/** A StreamMessage built from a payload that came over NATS: the frame is assembled only when asked. */
import type { StreamMessage } from '../stream-source.js';

export class PayloadMessage implements StreamMessage {
  private frame: Buffer | undefined;

  constructor(
    readonly stream: string,
    readonly data: unknown,
    private readonly payload: Buffer,
  ) {}

  payloadBytes(): Buffer {
    return this.payload;
  }

  frameBytes(): Buffer {
    this.frame ??= Buffer.concat([
      Buffer.from(`{"stream":${JSON.stringify(this.stream)},"data":`),
      this.payload,
      Buffer.from('}'),
    ]);
    return this.frame;
  }
}
