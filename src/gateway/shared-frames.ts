/**
 * One event's WebSocket frame, encoded once and written as the same bytes to every client that gets it.
 * `ws.send` frames a message per call: a header allocated and two writes per client. A server-to-client
 * frame is not masked, so its bytes are the same for every client: the fan-out encodes it on the first
 * client's delivery and writes that one buffer to each client's TCP socket.
 *
 * Writing under `ws` is safe only while its sender has nothing of its own waiting (it queues frames while
 * compressing or reading a Blob, neither of which the gateway does: no permessage-deflate, text and
 * buffer sends only), so that a frame written here cannot overtake one `ws` holds back. `rawSocketOf`
 * checks that per write, and the caller falls back to `ws.send` whenever it says no.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { StreamFrame } from '../core/stream-source.js';
import { tcpSocketOf } from '../core/ws-socket.js';

/** FIN and the text opcode: a whole message in one frame. */
const FIN_TEXT = 0x81;

/** The text frame that carries `payload`, unmasked (server to client, RFC 6455 section 5.2). */
export function encodeTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = FIN_TEXT;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerBytes);
  return frame;
}

/** Slots of a turn's frame list kept for the next turn (frames they still point to are not freed meanwhile). */
const MAX_KEPT_SLOTS = 64;

/**
 * The encoded frames of the event being delivered: the registry hands one message to all of a stream's
 * subscribers in a row, so a cache of the last message serves every client after the first. One per
 * server; it holds the last message only, until the next one replaces it.
 *
 * The frames encoded in one turn are also kept in order, until the turn's writes are done, so that
 * clients that got the same run of frames write one buffer joining them, joined once for all of them.
 */
export class SharedFrames {
  private message: StreamFrame | undefined;
  private combined: Buffer | undefined;
  private combinedAt = -1;
  private payload: Buffer | undefined;
  private payloadAt = -1;
  /**
   * This turn's frames in the order they were encoded: the first `turnLength` of `turn`. The array keeps
   * its size from turn to turn (emptying it would free its storage, grown again on every turn).
   */
  private readonly turn: Buffer[] = [];
  private turnLength = 0;
  /** The run of `turn` last asked for by `joined`, and its joined buffer. */
  private runStart = -1;
  private runCount = 0;
  private runJoined: Buffer | undefined;
  /** Where in this turn's frames the frame `of` returned last is. */
  index = -1;

  /** The frame carrying `message` in the combined form (`{"stream":..,"data":..}`) or its payload alone. */
  of(message: StreamFrame, combined: boolean): Buffer {
    if (message !== this.message) {
      this.message = message;
      this.combined = undefined;
      this.payload = undefined;
    }
    if (combined) {
      if (this.combined === undefined) {
        this.combined = encodeTextFrame(message.frameBytes());
        this.combinedAt = this.keep(this.combined);
      }
      this.index = this.combinedAt;
      return this.combined;
    }
    if (this.payload === undefined) {
      this.payload = encodeTextFrame(message.payloadBytes());
      this.payloadAt = this.keep(this.payload);
    }
    this.index = this.payloadAt;
    return this.payload;
  }

  /** Adds `frame` to this turn's frames; returns its index there. */
  private keep(frame: Buffer): number {
    this.turn[this.turnLength] = frame;
    return this.turnLength++;
  }

  /** The frame at `index` of this turn's frames. */
  at(index: number): Buffer {
    return this.turn[index]!;
  }

  /**
   * The `count` frames from `start` of this turn's frames in one buffer (`bytes` long): joined for the
   * first client that asks, and the same buffer for the next ones that ask for the same run.
   */
  joined(start: number, count: number, bytes: number): Buffer {
    if (start !== this.runStart || count !== this.runCount || this.runJoined === undefined) {
      const joined = Buffer.allocUnsafe(bytes);
      // `set` copies without `copy`'s argument checks (as Buffer.concat does inside).
      let at = 0;
      for (let i = start; i < start + count; i++) {
        const frame = this.turn[i]!;
        joined.set(frame, at);
        at += frame.length;
      }
      this.runStart = start;
      this.runCount = count;
      this.runJoined = joined;
    }
    return this.runJoined;
  }

  /** The turn's writes are done: its frame list starts over, and the next message is encoded afresh. */
  endTurn(): void {
    // The slots are overwritten by the next turns; a rare long turn's are let go at once.
    if (this.turnLength > MAX_KEPT_SLOTS) this.turn.length = 0;
    this.turnLength = 0;
    this.message = undefined;
    this.combined = undefined;
    this.payload = undefined;
    this.runStart = -1;
    this.runCount = 0;
    this.runJoined = undefined;
  }
}

/** What of `ws` the raw write reads besides its socket: its private sender (guarded: absent means no raw write). */
interface WsSender {
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] };
}

/** `ws`'s sender state when it holds nothing back (its `DEFAULT`). */
const SENDER_IDLE = 0;

/**
 * The TCP socket under `ws` when a frame may be written to it directly now: the connection is open and
 * `ws` holds no frame back. Undefined otherwise (or when `ws` does not expose them): send with `ws.send`.
 */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  const sender = (ws as unknown as WsSender)._sender;
  if (
    ws.readyState !== ws.OPEN ||
    sender === undefined ||
    sender._state !== SENDER_IDLE ||
    sender._queue === undefined ||
    sender._queue.length !== 0
  )
    return undefined;
  return tcpSocketOf(ws);
}

/** A client whose frames of this turn wait to be written together. */
export interface TurnWriter {
  writeTurn(): void;
}

/**
 * Collects the clients that got frames in this turn and has each write them in one go on the next tick:
 * a burst of events (one TCP read upstream carries many) costs a client one socket write, not one
 * buffered write per frame. One list and one `nextTick` for all the clients of a server; the turn's
 * shared frames are let go once all have written.
 */
export class TurnWrites {
  private waiting: TurnWriter[] = [];
  private readonly release = (): void => {
    const writers = this.waiting;
    this.waiting = [];
    for (const writer of writers) writer.writeTurn();
    // A writer added meanwhile (none is, as writes call nothing back) would still need the frames.
    if (this.waiting.length === 0) this.frames.endTurn();
  };

  constructor(private readonly frames: SharedFrames) {}

  /** Call when a client queues its first frame of the turn. */
  add(writer: TurnWriter): void {
    if (this.waiting.push(writer) === 1) process.nextTick(this.release);
  }
}
