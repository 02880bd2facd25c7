/**
 * One downstream WebSocket client speaking Binance's market-stream protocol. Each of its streams is a
 * `StreamSource.subscribe`, so many clients on one stream share one upstream subscription (WSManager).
 * Frames are forwarded as the upstream bytes; the send queue is bounded by bytes (ws `bufferedAmount`).
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { CloseCodes } from '../core/close-codes.js';
import { ErrorCodes, StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { LogDigest } from '../core/log-digest.js';
import type { FrameListener, StreamFrame, StreamSource, Unsubscribe } from '../core/stream-source.js';
import type { TurnCorks } from '../core/ws-socket.js';
import type { ControlTarget, Dialect } from '../exchange/dialect.js';
import { RollingWindow } from '../limits/rolling-window.js';
import { BookJoin } from './book-join.js';
import type { DisconnectReason, GatewayMetrics } from './gateway-metrics.js';
import { rawSocketOf, type SharedFrames, type TurnWriter, type TurnWrites } from './shared-frames.js';
import type { UpstreamStreamCap } from './upstream-stream-cap.js';

/** Frames are forwarded as the upstream's text bytes; one options object for every send. */
const TEXT_FRAME = { binary: false } as const;

/**
 * What a server shares with all its clients: one object, not one per client. Per-client state lives on
 * the client, and the socket's listeners below are module functions, so that a client costs its own
 * fields and little else (a gateway holds tens of thousands).
 */
export interface DownstreamClientContext {
  readonly source: StreamSource;
  readonly dialect: Dialect;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly maxStreams: number;
  readonly maxMessagesPerSecond: number;
  /**
   * Bytes that may wait for this client before it is cut as slow: shared by every client and lowered by
   * the server as clients arrive, so that all queues together stay within SEND_QUEUE_TOTAL_BYTES.
   */
  readonly sendQueue: { bytes: number };
  /** Upstream subscriptions across all clients, capped by MAX_UPSTREAM_STREAMS. */
  readonly streamCap: UpstreamStreamCap;
  /** How long a closing client may take to finish the close handshake before its socket is destroyed. */
  readonly closeGraceMs: number;
  readonly now: () => number;
  /** Upstream frames arrive in bursts (one TCP read, many frames): each client's sends leave in one write. */
  readonly corks: TurnCorks;
  /** Each event's WebSocket frame, encoded once for all the clients it goes to. */
  readonly frames: SharedFrames;
  /** Each client's frames of a turn leave in one socket write. */
  readonly writes: TurnWrites;
  /** Lines that thousands of clients can cause at once: one line per interval each (see LogDigest). */
  readonly logs: {
    readonly pongTimeout: LogDigest;
    readonly slow: LogDigest;
    readonly streamEnded: LogDigest;
    readonly messageRate: LogDigest;
  };
  /** Called after a client's streams changed (the stream cap already counts the change). */
  readonly onSubscriptionsChanged: () => void;
  readonly onSlow: () => void;
  /** `code` and `reason` are the close frame's as `ws` reports them (1006 when the socket just ended). */
  readonly onClosed: (client: DownstreamClient, code: number, reason: string) => void;
}

/** The client a socket belongs to, read by the shared listeners (`this` is the socket in an emit). */
const CLIENT = Symbol('client');
type ClientSocket = WebSocket & { [CLIENT]: DownstreamClient };

function clientOf(ws: WebSocket): DownstreamClient {
  return (ws as ClientSocket)[CLIENT];
}
function onSocketMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  clientOf(this).onMessage(data, isBinary);
}
function onSocketPing(this: WebSocket): void {
  clientOf(this).admit();
}
function onSocketPong(this: WebSocket): void {
  clientOf(this).onPong();
}
function onSocketError(this: WebSocket, error: Error & { code?: string }): void {
  clientOf(this).onError(error);
}
function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  clientOf(this).onClose(code, reason.toString('utf8'));
}

/** Who a client is, for its log lines. */
export interface ClientPeer {
  readonly address: string;
  readonly port: number | undefined;
  readonly path: string;
}

export class DownstreamClient implements TurnWriter {
  /** Epoch ms of the last pong (or of the connection), for the heartbeat. */
  lastPongAt: number;
  /** Epoch ms of the connection. */
  readonly connectedAt: number;
  private combined: boolean;
  private readonly subscriptions = new Map<string, Unsubscribe>();
  private readonly incoming: RollingWindow;
  private closing = false;
  private closed = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** Built on the first control message: most clients never send one. */
  private control: ControlTarget | undefined;
  /**
   * Encoded frames of this turn, written together by `writeTurn`. Most turns give every client the same
   * run of the turn's shared frames (`SharedFrames`): then the run's start and length say it all, and
   * cost no array; `turnFrames` holds them only once a client's frames are not such a run.
   */
  private turnStart = -1;
  private turnCount = 0;
  private turnFrames: Buffer[] | undefined;
  /** Their bytes, headers included. */
  private turnBytes = 0;
  /** The events' own bytes among `turnBytes` (without the frame headers), for the sent-bytes count. */
  private turnBodyBytes = 0;
  /**
   * The socket this turn's frames go to, found writable on the turn's first frame, and what it held
   * then: neither changes before `writeTurn` (the socket drains in I/O callbacks, which run after the
   * turn, and a reply or close writes the turn first).
   */
  private turnSocket: Socket | undefined;
  private turnQueued = 0;

  constructor(
    /** The client's number on this server: its name in logs (`id`), and its heartbeat slice. */
    readonly serial: number,
    private readonly ws: WebSocket,
    combined: boolean,
    readonly peer: ClientPeer,
    private readonly ctx: DownstreamClientContext,
  ) {
    this.combined = combined;
    this.connectedAt = ctx.now();
    this.lastPongAt = this.connectedAt;
    // Binance "WebSocket Limits": pings, pongs and control messages all count, strict rolling 1 s window.
    this.incoming = new RollingWindow(ctx.maxMessagesPerSecond, 1000);
    (ws as ClientSocket)[CLIENT] = this;
    ws.on('message', onSocketMessage);
    ws.on('ping', onSocketPing);
    ws.on('pong', onSocketPong);
    ws.on('error', onSocketError);
    ws.on('close', onSocketClose);
  }

  /** Subscribes the streams named in the connection URL. */
  subscribeAll(streams: readonly string[]): void {
    this.ctx.streamCap.prepare(streams);
    for (const stream of streams) this.add(stream);
  }

  get streamCount(): number {
    return this.subscriptions.size;
  }

  get id(): string {
    return `client-${this.serial}`;
  }

  /** Sends a ping for the heartbeat; false when the client already missed its pong deadline. */
  heartbeat(pongTimeoutMs: number): boolean {
    if (this.closing) return true;
    if (this.ctx.now() - this.lastPongAt > pongTimeoutMs) {
      this.ctx.metrics.clientDisconnects.inc({ reason: 'pong_timeout' });
      this.ctx.logs.pongTimeout.add({ client: this.id });
      this.release();
      this.ws.terminate();
      return false;
    }
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    return true;
  }

  /** Closes the client with `code` and stops sending; the socket is destroyed if the handshake stalls. */
  close(code: number, reason: string, metricReason?: DisconnectReason): void {
    if (this.closing) return;
    // The events queued this turn still go out ahead of the close frame.
    this.writeTurn();
    this.closing = true;
    if (metricReason) this.ctx.metrics.clientDisconnects.inc({ reason: metricReason });
    this.release();
    this.ws.close(code, reason);
    this.killTimer = setTimeout(() => this.ws.terminate(), this.ctx.closeGraceMs);
  }

  /** Destroys the socket at once (end of the shutdown deadline). */
  terminate(): void {
    this.release();
    this.ws.terminate();
  }

  /**
   * Queues one event for this turn's write: the frame encoded once for all clients, written under `ws`
   * (or sent by `ws.send` when `ws` holds frames back or exposes no socket).
   */
  forward(message: StreamFrame): void {
    if (this.closing) {
      this.ctx.metrics.tally.droppedMessages++;
      return;
    }
    let socket = this.turnSocket;
    if (socket === undefined) {
      socket = rawSocketOf(this.ws);
      if (socket === undefined) {
        this.send(this.combined ? message.frameBytes() : message.payloadBytes());
        return;
      }
    }
    const frames = this.ctx.frames;
    const frame = frames.of(message, this.combined);
    const body = frame.length - headerLength(frame);
    // With nothing held back by `ws`, what waits for this client is its socket's buffer and this turn's frames.
    const queued = (this.turnCount === 0 ? socket.writableLength : this.turnQueued) + this.turnBytes;
    if (queued + body > this.ctx.sendQueue.bytes) {
      this.slow(queued);
      return;
    }
    const index = frames.index;
    if (this.turnCount === 0) {
      this.turnSocket = socket;
      this.turnQueued = queued;
      this.turnStart = index;
      this.ctx.writes.add(this);
    } else if (this.turnFrames !== undefined) {
      this.turnFrames.push(frame);
    } else if (index !== this.turnStart + this.turnCount) {
      // Not the next of the turn's frames (the client is on several streams): listed one by one.
      const listed: Buffer[] = [];
      for (let i = 0; i < this.turnCount; i++) listed.push(frames.at(this.turnStart + i));
      listed.push(frame);
      this.turnFrames = listed;
    }
    this.turnCount++;
    this.turnBytes += frame.length;
    this.turnBodyBytes += body;
  }

  /** Writes the frames queued this turn in one socket write (dropped if the client closed meanwhile). */
  writeTurn(): void {
    const count = this.turnCount;
    if (count === 0) return;
    const socket = this.closing ? undefined : rawSocketOf(this.ws);
    if (socket === undefined) {
      this.ctx.metrics.tally.droppedMessages += count;
    } else {
      const frames = this.ctx.frames;
      const listed = this.turnFrames;
      // One write of one buffer: a copy costs less than the stream's handling of each frame apart.
      if (count === 1) socket.write(frames.at(this.turnStart));
      else if (listed === undefined) socket.write(frames.joined(this.turnStart, count, this.turnBytes));
      else socket.write(Buffer.concat(listed, this.turnBytes));
      const tally = this.ctx.metrics.tally;
      tally.messagesSent += count;
      tally.bytesSent += this.turnBodyBytes;
    }
    this.turnStart = -1;
    this.turnCount = 0;
    this.turnFrames = undefined;
    this.turnBytes = 0;
    this.turnBodyBytes = 0;
    this.turnSocket = undefined;
  }

  /** Sends one event's bytes with `ws.send` (when `ws` holds frames back, or exposes no socket). */
  private send(bytes: Buffer): void {
    if (this.ws.bufferedAmount + bytes.length > this.ctx.sendQueue.bytes) {
      this.slow(this.ws.bufferedAmount);
      return;
    }
    this.ctx.corks.hold(this.ws);
    this.ws.send(bytes, TEXT_FRAME);
    this.ctx.metrics.tally.messagesSent++;
    this.ctx.metrics.tally.bytesSent += bytes.length;
  }

  /** The client's send queue would pass its limit: the event is dropped and the client cut. */
  private slow(bufferedBytes: number): void {
    this.ctx.metrics.slowClientDisconnects.inc();
    this.ctx.onSlow();
    this.ctx.metrics.tally.droppedMessages++;
    this.ctx.logs.slow.add({ client: this.id, bufferedBytes, limit: this.ctx.sendQueue.bytes });
    this.close(CloseCodes.SLOW_CONSUMER, 'slow consumer', 'slow_consumer');
  }

  /**
   * @throws StreamError `WS_ERR_UPSTREAM_STREAM_CAP` when the server-wide cap (MAX_UPSTREAM_STREAMS) is
   * reached, or whatever `source.subscribe` throws (nothing is held then).
   */
  private add(stream: string): void {
    if (this.subscriptions.has(stream)) return;
    if (!this.ctx.streamCap.acquire(stream)) {
      const message = `the server carries at most ${this.ctx.streamCap.limit} upstream streams`;
      throw new StreamError(ErrorCodes.UPSTREAM_STREAM_CAP, stream, message);
    }
    const join = this.bookJoin(stream);
    let unsubscribe: Unsubscribe;
    try {
      // Only the bytes are forwarded: the source need not parse the payloads for this subscriber.
      unsubscribe = this.ctx.source.subscribe(stream, new ClientStream(this, stream, join));
    } catch (error) {
      join?.close();
      this.ctx.streamCap.release(stream);
      throw error;
    }
    if (join !== undefined) {
      const release = unsubscribe;
      unsubscribe = () => {
        join.close();
        release();
      };
    }
    this.subscriptions.set(stream, unsubscribe);
    this.ctx.onSubscriptionsChanged();
  }

  /** For a book topic whose subscriptions each start with a snapshot, what puts this client's book in step. */
  private bookJoin(stream: string): BookJoin | undefined {
    const seeded = this.ctx.dialect.seededBooks;
    const books = this.ctx.source.books;
    if (seeded === undefined || books === undefined || seeded.bookOf(stream) === undefined) return undefined;
    return new BookJoin(stream, seeded, books, (text) => this.reply(text), this.ctx.now);
  }

  private remove(stream: string): void {
    const unsubscribe = this.subscriptions.get(stream);
    if (!unsubscribe) return;
    this.subscriptions.delete(stream);
    this.ctx.streamCap.release(stream);
    unsubscribe();
    this.ctx.onSubscriptionsChanged();
  }

  private release(): void {
    for (const stream of [...this.subscriptions.keys()]) this.remove(stream);
  }

  /** The source ended `stream` for this client. */
  onStreamError(stream: string, error: StreamError): void {
    // A stream the client already released (or an error delivered twice) must not be counted again.
    if (!this.subscriptions.delete(stream)) return;
    this.ctx.streamCap.release(stream);
    this.ctx.onSubscriptionsChanged();
    // On shutdown the gateway closes every client with 1001 itself.
    if (error.code === ErrorCodes.DESTROYED) return;
    this.ctx.logs.streamEnded.add({ client: this.id, stream, reason: error.code });
    this.close(
      CloseCodes.UPSTREAM_FAILED,
      `upstream stream failed: ${stream}`.slice(0, 120),
      'upstream_failed',
    );
  }

  /** Counts an incoming frame against the rate limit; false (and the client closed) beyond it. */
  admit(): boolean {
    if (this.closing) return false;
    if (this.incoming.tryRecord(this.ctx.now())) return true;
    this.ctx.logs.messageRate.add({ client: this.id });
    this.close(CloseCodes.POLICY_VIOLATION, 'Too many messages', 'message_rate');
    return false;
  }

  onPong(): void {
    if (this.admit()) this.lastPongAt = this.ctx.now();
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (!this.admit()) return;
    this.ctx.metrics.controlMessages.inc();
    this.control ??= this.controlTarget();
    const answer = this.ctx.dialect.answerControl(isBinary ? '' : data.toString('utf8'), this.control);
    if (typeof answer === 'string') this.reply(answer);
    else for (const text of answer) this.reply(text);
  }

  /** The connection as the control protocol sees it (SUBSCRIBE is all or nothing). */
  private controlTarget(): ControlTarget {
    return {
      getCombined: () => this.combined,
      setCombined: (value) => {
        this.combined = value;
      },
      subscribe: (streams) => this.subscribeRequested(streams),
      unsubscribe: (streams) => {
        for (const stream of streams) this.remove(stream);
      },
      list: () => [...this.subscriptions.keys()],
      connectionId: this.id,
      path: this.peer.path,
    };
  }

  /** Adds every stream of a SUBSCRIBE or none; returns the refusal message. */
  private subscribeRequested(streams: readonly string[]): string | undefined {
    const fresh = [...new Set(streams)].filter((s) => !this.subscriptions.has(s));
    if (this.subscriptions.size + fresh.length > this.ctx.maxStreams) {
      return `Invalid request: too many streams, a connection can listen to at most ${this.ctx.maxStreams}`;
    }
    if (!this.ctx.streamCap.admits(fresh)) {
      return `Invalid request: too many streams, the server carries at most ${this.ctx.streamCap.limit} upstream streams`;
    }
    this.ctx.streamCap.prepare(fresh);
    // All or nothing: a request answered with an error must leave no stream behind.
    const added: string[] = [];
    try {
      for (const stream of fresh) {
        this.add(stream);
        added.push(stream);
      }
    } catch (error) {
      for (const stream of added) this.remove(stream);
      this.ctx.logger.error({ client: this.id, err: String(error) }, 'SUBSCRIBE failed upstream');
      return 'Invalid request: subscription failed';
    }
    return undefined;
  }

  private reply(text: string): void {
    // After the events queued before it: an UNSUBSCRIBE's answer is followed by none of its stream.
    this.writeTurn();
    if (!this.closing && this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  onError(error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.ctx.metrics.clientDisconnects.inc({ reason: 'payload_too_large' });
    }
    this.ctx.logger.debug({ client: this.id, err: error.message }, 'Client socket error');
  }

  onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    clearTimeout(this.killTimer);
    this.release();
    this.ctx.onClosed(this, code, reason);
  }
}

/**
 * One client's subscription to one stream, as the source's listener: its methods are the class's, so a
 * subscription costs this small object rather than a closure per callback.
 */
class ClientStream implements FrameListener {
  readonly frames = true;

  constructor(
    private readonly client: DownstreamClient,
    private readonly stream: string,
    /** Puts the client's book in step first, for a book topic that starts with a snapshot. */
    private readonly join: BookJoin | undefined,
  ) {}

  next(message: StreamFrame): void {
    if (this.join === undefined || this.join.admits(message.payloadBytes())) this.client.forward(message);
  }

  error(error: StreamError): void {
    this.join?.close();
    this.client.onStreamError(this.stream, error);
  }
}

/** Bytes of a WebSocket frame's header, from its length byte (server frames carry no mask). */
function headerLength(frame: Buffer): number {
  const length = frame[1]! & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}
