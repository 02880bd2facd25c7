/**
 * What every venue's simulated connection shares, whatever its protocol: sending text frames through the
 * injected latency in order, the bytes still waiting to leave, and the faults that act on one connection
 * (stall, malformed frames, close, drop). Each venue's session adds its own protocol on top.
 */
import type { WebSocket } from 'ws';
import { DelayQueue } from './delay-queue.js';

/** Where a connection reads the injected latency and the time. */
export interface LatencySource {
  /** The latency currently injected into every outgoing frame. */
  latencyMs(): number;
  clock(): number;
}

const TEXT = { binary: false } as const;

export abstract class VenueConnection {
  stalled = false;
  closing = false;
  private readonly delay: DelayQueue;

  constructor(
    readonly id: string,
    protected readonly ws: WebSocket,
    private readonly latency: LatencySource,
    /** Frames a broken server of this venue might send, cycled through by `sendMalformed`. */
    private readonly malformedFrames: readonly string[],
  ) {
    this.delay = new DelayQueue(latency.clock);
    // Socket errors (bad frames, resets) end in 'close'; the listener keeps them from becoming uncaught.
    ws.on('error', () => {});
  }

  get accepting(): boolean {
    return !this.stalled && !this.closing;
  }

  pendingBytes(): number {
    return this.ws.bufferedAmount + this.delay.bytes;
  }

  deliver(frame: Buffer): void {
    this.sendText(frame);
  }

  stall(): boolean {
    if (this.stalled || this.closing) return false;
    this.stalled = true;
    return true;
  }

  sendMalformed(count: number): boolean {
    if (!this.accepting) return false;
    const frames = this.malformedFrames;
    for (let i = 0; i < count; i++) this.sendText(frames[i % frames.length]!);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.dispose();
    this.ws.close(code, reason);
  }

  /** Destroys the TCP connection without a close frame. */
  terminate(): void {
    this.closing = true;
    this.dispose();
    this.ws.terminate();
  }

  /** Drops what is still held back and releases the connection's subscriptions and timers; called on any close. */
  dispose(): void {
    this.release();
    this.delay.clear();
  }

  /** Releases the venue's own subscriptions and timers. */
  protected abstract release(): void;

  /** Counts one frame handed to the socket; venues that report sent frames override it. */
  protected sent(): void {}

  protected sendText(data: Buffer | string): void {
    const latency = this.latency.latencyMs();
    if (latency > 0 || this.delay.size > 0) this.delay.push(latency, data.length, () => this.writeText(data));
    else this.writeText(data);
  }

  /** Runs a non-text action (ping, pong) in order with the frames held back by the latency. */
  protected sendControl(run: () => void): void {
    const latency = this.latency.latencyMs();
    if (latency > 0 || this.delay.size > 0) this.delay.push(latency, 0, run);
    else run();
  }

  private writeText(data: Buffer | string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data, TEXT);
    this.sent();
  }
}

/**
 * A connection whose pings are application messages (Bybit's `{"op":"ping"}`, OKX's text `ping`), so the
 * simulator can read them and not answer.
 */
export abstract class PongWithholdingConnection extends VenueConnection {
  /** Pings are read but not answered (fault injection): the client should replace the connection. */
  withholdingPongs = false;

  withholdPongs(): boolean {
    if (this.withholdingPongs || this.closing) return false;
    this.withholdingPongs = true;
    return true;
  }
}
