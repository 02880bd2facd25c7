/**
 * The message object every subscriber of a stream receives for one upstream frame: created once per
 * frame and shared, so forwarding needs neither a copy nor a re-serialisation.
 */

import { combinedFrame, sliceData } from '../core/combined-frame.js';
import type { StreamMessage } from '../core/stream-source.js';
import type { FrameCodec } from '../exchange/exchange.js';

/** How a frame is laid out: whether it is a combined frame, and where its payload lies. */
export type FrameLayout = Pick<FrameCodec, 'framesAreCombined' | 'payloadOf'>;

/** The layout of frames built as combined frames (refilled events), whatever the exchange's own. */
export const COMBINED: FrameLayout = Object.freeze({ framesAreCombined: true, payloadOf: sliceData });

export class FrameMessage implements StreamMessage {
  private payload: Buffer | undefined;
  /** The payload's place in the frame when its reader found it; -1 until then. */
  private payloadStart = -1;
  private payloadEnd = -1;
  /** The combined frame, when the received frame is not one. */
  private combined: Buffer | undefined;

  /**
   * @param frame the frame exactly as received (Binance: `{"stream":"<name>","data":<payload>}`).
   * @param layout the exchange's frame layout, shared by every message.
   */
  constructor(
    readonly stream: string,
    readonly data: unknown,
    private readonly frame: Buffer,
    private readonly layout: FrameLayout,
  ) {}

  /** Where the payload lies in the frame, when the frame's reader found it: `payloadBytes` slices there. */
  payloadAt(start: number, end: number): void {
    this.payloadStart = start;
    this.payloadEnd = end;
  }

  frameBytes(): Buffer {
    if (this.layout.framesAreCombined) return this.frame;
    this.combined ??= combinedFrame(this.stream, this.payloadBytes());
    return this.combined;
  }

  /**
   * The payload bytes, sliced out of the frame on first use (no copy). When the frame is not laid out
   * as the exchange sends it (other key order or spacing), the payload is serialised from `data` instead.
   */
  payloadBytes(): Buffer {
    if (this.payload === undefined)
      this.payload =
        this.payloadStart >= 0
          ? this.frame.subarray(this.payloadStart, this.payloadEnd)
          : (this.layout.payloadOf(this.frame, this.stream) ?? serialise(this.data));
    return this.payload;
  }
}

function serialise(data: unknown): Buffer {
  return Buffer.from(JSON.stringify(data) ?? 'null');
}
