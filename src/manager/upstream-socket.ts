/**
 * One physical multi-stream WebSocket (Binance: `${url}/stream`): opening, paced sending of control
 * messages, pongs and heartbeats, request/acknowledgement matching. What is venue-specific comes from
 * the exchange adapter: the control messages' text, the frame reader (events, replies, notices,
 * heartbeats) and the heartbeat policy. Stalls are found by `SocketLiveness`. Reconnection and rotation
 * are decided by its owner (UpstreamConnection).
 *
 * Its states move only along `SOCKET_TRANSITIONS` (a `StateMachine` throws on any other move), and its
 * end is reported as a `SocketCause`: a code with its facts, worded by `socketCauseText`.
 */
import WebSocket, { type RawData } from 'ws';
import { CloseCodes } from '../core/close-codes.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import type {
  ControlCodec,
  ControlMethod,
  Exchange,
  ExchangeError,
  FrameCodec,
  FrameHandler,
} from '../exchange/exchange.js';
import { RollingWindow } from '../limits/rolling-window.js';
import { readRefusal, type UpgradeRefusal } from '../limits/upstream-admission.js';
import { SocketLiveness } from './socket-liveness.js';

export type SocketState = 'connecting' | 'open' | 'closing' | 'closed';
export type { ControlMethod };

/**
 * The legal moves. A close asked for while connecting or open passes through closing; a socket that
 * fails to open, errs, stalls or is closed by the server goes straight to closed. A close asked for
 * before the open keeps it from ever being open.
 */
export const SOCKET_TRANSITIONS: TransitionTable<SocketState> = {
  connecting: ['open', 'closing', 'closed'],
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Why this side closes a socket; its text goes in the close frame. */
export type CloseRequest = 'no_streams' | 'retries_exhausted' | 'destroyed' | 'rotated';

export const CLOSE_REQUESTS: Readonly<Record<CloseRequest, string>> = {
  no_streams: 'no streams left',
  retries_exhausted: 'retries exhausted',
  destroyed: 'manager destroyed',
  rotated: 'rotated',
};

/** Why a socket ended: a code, with the facts its text shows (`socketCauseText`). */
export type SocketCause =
  /** This side closed it. */
  | { readonly code: 'requested'; readonly request: CloseRequest }
  /** The upgrade was answered with an HTTP status instead of 101 (with its `Retry-After`, if any). */
  | { readonly code: 'refused'; readonly refusal: UpgradeRefusal }
  /** The socket failed (connecting, or once open): the error's message. */
  | { readonly code: 'error'; readonly message: string }
  /**
   * Stall detection ended it. `detail` says which path found it; `silentSince` is the epoch ms of the
   * last traffic seen, since when the socket served nothing.
   */
  | { readonly code: 'stalled'; readonly detail: string; readonly silentSince: number }
  /** The server closed it (or the connection dropped: 1006) without any of the above. */
  | { readonly code: 'server_closed'; readonly closeCode: number; readonly reason: string };

/** The cause as logs, health and stream errors show it: one fixed wording per code. */
export function socketCauseText(cause: SocketCause): string {
  switch (cause.code) {
    case 'requested':
      return CLOSE_REQUESTS[cause.request];
    case 'refused': {
      const { status, retryAfter } = cause.refusal;
      return `upgrade refused with HTTP ${status}${retryAfter === undefined ? '' : ` (Retry-After: ${retryAfter})`}`;
    }
    case 'error':
      return cause.message;
    case 'stalled':
      return cause.detail;
    case 'server_closed':
      return `server closed with ${cause.closeCode}${cause.reason ? ` ${cause.reason}` : ''}`;
  }
}

/** How a socket ended. `expected` is true only when this side asked for the close. */
export interface SocketEnd {
  readonly code: number;
  readonly cause: SocketCause;
  readonly expected: boolean;
  /** `ws_manager_errors_total` reason of an unexpected end. */
  readonly reason: 'connect_failed' | 'connection_error' | 'unexpected_close' | 'stalled' | undefined;
  /**
   * The upgrade was answered with this HTTP status instead of 101: also when a close asked for meanwhile
   * is the cause, since the upstream's answer still counts.
   */
  readonly refusal?: UpgradeRefusal;
}

/** Why a socket changes state: it opened, a close was asked for (closing), or it ended (closed). */
type SocketMove = { readonly code: 'opened' } | SocketCause;

const OPENED: SocketMove = { code: 'opened' };

function moveText(move: SocketMove): string {
  return move.code === 'opened' ? 'opened' : socketCauseText(move);
}

export type { ExchangeError };

/**
 * What the connection and the stream registry use of a socket: `UpstreamSocket` implements it, and a
 * unit test of the connection's state machine can stand in a small fake.
 */
export interface ConnectionSocket {
  readonly id: string;
  /** Rises with every socket a manager opens: the newer of two sockets has the higher serial. */
  readonly serial: number;
  /** Id of the logical connection this socket serves. */
  readonly connection: string;
  readonly state: SocketState;
  readonly openedAt: number | undefined;
  /** Streams the exchange acknowledged on this socket and that are still wanted. */
  readonly subscribed: { has(stream: string): boolean };
  subscribe(streams: Iterable<string>): void;
  unsubscribe(streams: Iterable<string>): void;
  /** Unsubscribes then subscribes again streams it carries, so the venue sends them afresh. */
  resubscribe?(streams: Iterable<string>): void;
  close(request: CloseRequest): void;
  onceClosed(callback: () => void): void;
}

/** What a socket tells its owner. `onFrame` is the hot path: one call per stream event. */
export interface SocketEvents {
  onOpen(socket: ConnectionSocket): void;
  onFrame(socket: ConnectionSocket, stream: string, data: unknown, frame: Buffer): void;
  /**
   * Whether some stream may be read unparsed (it has frame listeners): asked once per frame; when not,
   * the frame reader is not asked to look for the stream in the bytes first.
   */
  mayLeaveUnparsed(): boolean;
  /** Whether `stream`'s events must be parsed (`FrameHandler.readsData`): asked once per event frame. */
  readsData(stream: string): boolean;
  /** A stream event left unparsed (see `readsData`): its payload is `frame[start..end)`. */
  onUnparsedFrame(socket: ConnectionSocket, stream: string, frame: Buffer, start: number, end: number): void;
  onReject(socket: ConnectionSocket, method: ControlMethod, streams: string[], error: ExchangeError): void;
  onShutdownNotice(socket: ConnectionSocket): void;
  onMalformed(socket: ConnectionSocket, detail: string): void;
  onClose(socket: ConnectionSocket, end: SocketEnd): void;
}

export interface UpstreamSocketOptions {
  readonly url: string;
  /**
   * The streams this socket should carry: its owner's set, read and not copied (a manager carries
   * thousands of streams, and a copy per socket held every name once more). The owner changes it, then
   * tells the socket which streams it added (`subscribe`) or took away (`unsubscribe`).
   */
  readonly wanted: ReadonlySet<string>;
  /** The venue: control messages, frame reader and heartbeat policy. */
  readonly exchange: Exchange;
  /** Id of the logical connection this socket serves (its rotations share it). */
  readonly connection: string;
  readonly serial: number;
  readonly pacingMessages: number;
  readonly pacingWindowMs: number;
  readonly maxStreamsPerMessage: number;
  readonly stallTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly now: () => number;
}

interface Request {
  readonly method: ControlMethod;
  readonly streams: string[];
}

/** A pong echoes the latest ping; older unanswered pings need no separate answer (Binance: "pong ... with a copy of the ping payload"). */
const MAX_QUEUED_PONGS = 2;

export class UpstreamSocket implements ConnectionSocket {
  readonly serial: number;
  readonly id: string;
  readonly connection: string;
  openedAt: number | undefined;
  /**
   * Streams the exchange acknowledged on this socket and that are still wanted: those wanted and not
   * `unacknowledged`, so the steady state (every stream acknowledged) keeps no second set of names.
   */
  readonly subscribed = { has: (stream: string): boolean => this.isSubscribed(stream) };
  /**
   * Streams this socket should carry (`UpstreamSocketOptions.wanted`). Frames of other streams (still in
   * flight after an UNSUBSCRIBE) are dropped, and re-sent batches are filtered against it.
   */
  private readonly wanted: ReadonlySet<string>;
  /** Wanted streams whose SUBSCRIBE the exchange rejected on this socket: nothing to take back upstream. */
  private readonly rejected = new Set<string>();
  /** Wanted streams whose SUBSCRIBE the exchange has not acknowledged (yet, or again after `resubscribe`). */
  private readonly unacknowledged = new Set<string>();
  private readonly ws: WebSocket;
  private readonly limiter: RollingWindow;
  /** The venue's cap on subscribe/unsubscribe requests per connection (OKX: 480 per hour), if it has one. */
  private readonly controlLimiter: RollingWindow | undefined;
  /** Set while control requests wait for `controlLimiter`; heartbeats still go out meanwhile. */
  private controlTimer: NodeJS.Timeout | undefined;
  private readonly toSubscribe = new Set<string>();
  private readonly toUnsubscribe = new Set<string>();
  /** Streams to subscribe again once their UNSUBSCRIBE is acknowledged (`resubscribe`). */
  private readonly resubscribing = new Set<string>();
  /** Batches re-sent on their own after the exchange rejected a batch they were part of. */
  private readonly isolated: string[][] = [];
  private readonly pongs: Buffer[] = [];
  /** A keep-alive heartbeat is due (venues whose server does not ping: `HeartbeatPolicy.keepAliveMs`). */
  private keepAliveDue = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** Running while a keep-alive ping awaits its answer (`HeartbeatPolicy.pongTimeoutMs`). */
  private pongTimer: NodeJS.Timeout | undefined;
  /** The adapter's functions, held so the per-frame path calls them without a lookup. */
  private readonly readFrame: FrameCodec['read'];
  private readonly encode: ControlCodec['encode'];
  /** The heartbeat text this side sends; undefined for a WebSocket ping frame. */
  private readonly pingMessage: string | undefined;
  private readonly inflight = new Map<number, Request>();
  private nextRequestId = 1;
  private flushQueued = false;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Stall detection, from the open on. */
  private liveness: SocketLiveness | undefined;
  private readonly lifecycle: StateMachine<SocketState, SocketMove>;
  /** Why the socket is ending, once known: the close asked for, or the first failure seen. */
  private cause: SocketCause | undefined;
  private refusal: UpgradeRefusal | undefined;
  private closedCallbacks: Array<() => void> = [];
  /** The frame reader's handler when every event is parsed. */
  private readonly parsedFrames: FrameHandler = {
    // After an UNSUBSCRIBE (sent, or still waiting for the pacing window) the exchange keeps sending
    // the stream for a while; those frames belong to no subscriber of this socket any more.
    event: (stream, data, frame) => {
      if (this.wanted.has(stream!)) this.events.onFrame(this, stream!, data, frame);
    },
    shutdown: () => this.events.onShutdownNotice(this),
    reply: (id, error) => this.handleReply(id, error),
    // An application-level pong (text or JSON) answers a probe as a WebSocket pong would.
    heartbeat: () => this.heartbeatAnswered(),
    malformed: (detail) => this.events.onMalformed(this, detail),
  };
  /** The same, also taking the events of streams nobody parses unparsed. */
  private readonly frames: FrameHandler = {
    ...this.parsedFrames,
    // A stream no longer wanted is dropped either way: nothing needs its payload.
    readsData: (stream) => this.wanted.has(stream) && this.events.readsData(stream),
    unparsedEvent: (stream, frame, start, end) => {
      if (this.wanted.has(stream)) this.events.onUnparsedFrame(this, stream, frame, start, end);
    },
  };

  constructor(
    private readonly opts: UpstreamSocketOptions,
    private readonly events: SocketEvents,
  ) {
    this.serial = opts.serial;
    this.id = `s${opts.serial}`;
    this.connection = opts.connection;
    this.wanted = opts.wanted;
    this.lifecycle = new StateMachine<SocketState, SocketMove>({
      owner: `WSManager connection ${opts.connection} socket ${this.id}`,
      table: SOCKET_TRANSITIONS,
      initial: 'connecting',
      describe: moveText,
    });
    this.limiter = new RollingWindow(opts.pacingMessages, opts.pacingWindowMs);
    const control = opts.exchange.limits.controlMessages;
    this.controlLimiter =
      control === undefined ? undefined : new RollingWindow(control.limit, control.windowMs);
    this.readFrame = opts.exchange.frames.read;
    this.encode = opts.exchange.control.encode;
    this.pingMessage = opts.exchange.heartbeat.pingMessage;
    this.ws = new WebSocket(opts.url, {
      // Pongs are sent by this class so they count against the pacing window (they count at Binance too).
      autoPong: false,
      perMessageDeflate: false,
      // Every frame is decoded and JSON.parsed right after; a second UTF-8 pass per frame is pure cost.
      skipUTF8Validation: true,
      handshakeTimeout: opts.connectTimeoutMs,
    });
    this.ws.on('open', () => this.handleOpen());
    this.ws.on('message', (raw) => this.handleMessage(raw));
    this.ws.on('ping', (payload) => this.handlePing(payload));
    this.ws.on('pong', () => this.liveness?.pong());
    this.ws.on('unexpected-response', (_req, res) => {
      this.refusal = readRefusal(res);
      this.cause ??= { code: 'refused', refusal: this.refusal };
      res.resume();
      this.ws.terminate();
    });
    this.ws.on('error', (err) => {
      this.cause ??= { code: 'error', message: err.message };
    });
    this.ws.on('close', (code, reason) => this.handleClose(code, reason.toString()));
  }

  /** Read on every flush: a plain read of the machine's field. */
  get state(): SocketState {
    return this.lifecycle.state;
  }

  /**
   * Queues streams just added to `wanted` (or all of it, for a new socket) for SUBSCRIBE, or cancels
   * their UNSUBSCRIBE not sent yet; sent batched and paced once open.
   */
  subscribe(streams: Iterable<string>): void {
    for (const s of streams) {
      this.unacknowledged.add(s);
      this.rejected.delete(s);
      if (!this.toUnsubscribe.delete(s)) this.toSubscribe.add(s);
    }
    this.scheduleFlush();
  }

  /** Queues streams just taken from `wanted` for UNSUBSCRIBE (or cancels a SUBSCRIBE not sent yet). */
  unsubscribe(streams: Iterable<string>): void {
    for (const s of streams) {
      this.unacknowledged.delete(s);
      // A rejected SUBSCRIBE left nothing upstream to take back.
      if (this.rejected.delete(s)) continue;
      if (!this.toSubscribe.delete(s)) this.toUnsubscribe.add(s);
    }
    this.scheduleFlush();
  }

  /**
   * Unsubscribes streams it carries and subscribes them again once the exchange acknowledged that (a
   * venue that pushes a snapshot on subscribe, Bybit, sends one). Their events keep being delivered
   * meanwhile; a stream not acknowledged yet is left alone, its snapshot is on its way.
   */
  resubscribe(streams: Iterable<string>): void {
    for (const s of streams) {
      if (!this.isSubscribed(s) || this.resubscribing.has(s)) continue;
      this.unacknowledged.add(s);
      this.resubscribing.add(s);
      this.toUnsubscribe.add(s);
    }
    this.scheduleFlush();
  }

  private isSubscribed(stream: string): boolean {
    return this.wanted.has(stream) && !this.unacknowledged.has(stream);
  }

  /** Calls `callback` once this socket has closed (at once if it already has). */
  onceClosed(callback: () => void): void {
    if (this.state === 'closed') callback();
    else this.closedCallbacks.push(callback);
  }

  /** Closes on this side's request: the end is reported as expected. */
  close(request: CloseRequest): void {
    const from = this.state;
    if (from === 'closed' || from === 'closing') return;
    const cause: SocketCause = { code: 'requested', request };
    this.cause = cause;
    this.stopTimers();
    this.lifecycle.transition('closing', cause);
    if (from === 'connecting') {
      this.ws.terminate();
      return;
    }
    this.ws.close(CloseCodes.NORMAL, CLOSE_REQUESTS[request]);
    // A server that does not answer the close frame is cut off rather than waited for.
    const hardStop = setTimeout(() => this.ws.terminate(), 1000);
    this.ws.once('close', () => clearTimeout(hardStop));
  }

  private handleOpen(): void {
    if (this.state === 'closing') return;
    this.lifecycle.transition('open', OPENED);
    this.openedAt = this.opts.now();
    this.liveness = new SocketLiveness(this.opts.stallTimeoutMs, this.opts.now, {
      ping: (now) => {
        if (!this.limiter.tryRecord(now)) return false;
        this.sendPing();
        return true;
      },
      stalled: (detail) => {
        this.cause = { code: 'stalled', detail, silentSince: this.liveness!.lastActiveAt };
        this.stopTimers();
        this.ws.terminate();
      },
    });
    const keepAliveMs = this.opts.exchange.heartbeat.keepAliveMs;
    if (keepAliveMs !== undefined) {
      this.keepAliveTimer = setInterval(() => {
        this.keepAliveDue = true;
        this.flush();
      }, keepAliveMs);
    }
    this.events.onOpen(this);
    this.flush();
  }

  /** A heartbeat as the venue takes it: a WebSocket ping frame, or its ping text. */
  private sendPing(): void {
    if (this.pingMessage === undefined) this.ws.ping();
    else this.ws.send(this.pingMessage);
  }

  /**
   * Starts the keep-alive ping's answer deadline, unless one runs already (a later pong answers both).
   * Data frames do not stop it: a venue that keeps sending but no longer answers pings is not trusted.
   */
  private awaitPong(): void {
    const timeoutMs = this.opts.exchange.heartbeat.pongTimeoutMs;
    if (timeoutMs === undefined || this.pongTimer !== undefined) return;
    const sentAt = this.opts.now();
    this.pongTimer = setTimeout(() => {
      this.pongTimer = undefined;
      if (this.state !== 'open') return;
      this.cause = {
        code: 'stalled',
        detail: `no pong within ${timeoutMs} ms to the keep-alive ping`,
        silentSince: sentAt,
      };
      this.stopTimers();
      this.ws.terminate();
    }, timeoutMs);
  }

  private heartbeatAnswered(): void {
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    this.liveness?.pong();
  }

  private handlePing(payload: Buffer): void {
    this.liveness?.ping();
    if (this.pongs.length >= MAX_QUEUED_PONGS) this.pongs.shift();
    this.pongs.push(payload);
    this.flush();
  }

  private handleMessage(raw: RawData): void {
    this.liveness?.frame();
    this.readFrame(
      Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw),
      this.events.mayLeaveUnparsed() ? this.frames : this.parsedFrames,
    );
  }

  private handleReply(id: number, error: ExchangeError | undefined): void {
    const request = this.inflight.get(id);
    if (request === undefined) return;
    this.inflight.delete(id);
    if (error === undefined) {
      // Acknowledgements come in request order, so the last one seen for a stream says where it stands.
      if (request.method === 'subscribe') {
        for (const s of request.streams) this.unacknowledged.delete(s);
      } else {
        for (const s of request.streams) {
          if (this.wanted.has(s)) this.unacknowledged.add(s);
          if (this.resubscribing.delete(s) && this.wanted.has(s)) this.toSubscribe.add(s);
        }
        if (this.toSubscribe.size > 0) this.scheduleFlush();
      }
      return;
    }
    if (request.method === 'subscribe' && request.streams.length > 1) {
      // One bad stream fails the whole message; halve the batch until the culprit stands alone, so the
      // error reaches exactly the affected subscribers.
      const half = Math.ceil(request.streams.length / 2);
      this.isolated.push(request.streams.slice(0, half), request.streams.slice(half));
      this.scheduleFlush();
      return;
    }
    // A rejected SUBSCRIBE left nothing upstream: a later subscribe() must send it again, and a later
    // unsubscribe() has nothing to take back. Still wanted until the owner takes it away, it is not
    // subscribed meanwhile.
    if (request.method === 'subscribe') {
      for (const s of request.streams) {
        if (!this.wanted.has(s)) continue;
        this.rejected.add(s);
        this.unacknowledged.add(s);
      }
    }
    this.events.onReject(this, request.method, request.streams, error);
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.state !== 'open') return;
    this.flushQueued = true;
    // A microtask lets a synchronous burst of subscribe() calls share one message.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private hasWork(): boolean {
    return (
      this.pongs.length > 0 ||
      this.keepAliveDue ||
      this.isolated.length > 0 ||
      this.toUnsubscribe.size > 0 ||
      this.toSubscribe.size > 0
    );
  }

  private flush(): void {
    if (this.state !== 'open' || this.flushTimer !== undefined) return;
    this.pruneIsolated();
    while (this.hasWork()) {
      const now = this.opts.now();
      const heartbeatDue = this.pongs.length > 0 || this.keepAliveDue;
      if (!heartbeatDue && this.controlLimiter !== undefined) {
        const controlWait = this.controlLimiter.waitMs(now);
        if (controlWait > 0) {
          this.awaitControlBudget(controlWait);
          return;
        }
      }
      const wait = this.limiter.waitMs(now);
      if (wait > 0) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = undefined;
          this.flush();
        }, wait);
        return;
      }
      this.limiter.tryRecord(now);
      const pong = this.pongs.shift();
      if (pong !== undefined) {
        this.ws.pong(pong);
        continue;
      }
      if (this.keepAliveDue) {
        this.keepAliveDue = false;
        this.sendPing();
        this.awaitPong();
        continue;
      }
      this.controlLimiter?.tryRecord(now);
      const batch = this.isolated.shift();
      if (batch !== undefined) this.send('subscribe', batch);
      else if (this.toUnsubscribe.size > 0)
        this.send('unsubscribe', take(this.toUnsubscribe, this.opts.maxStreamsPerMessage));
      else this.send('subscribe', take(this.toSubscribe, this.opts.maxStreamsPerMessage));
    }
  }

  /**
   * Control requests wait for the venue's per-connection budget on their own timer, so a heartbeat due
   * meanwhile is not held behind them.
   */
  private awaitControlBudget(waitMs: number): void {
    if (this.controlTimer !== undefined) return;
    this.controlTimer = setTimeout(() => {
      this.controlTimer = undefined;
      this.flush();
    }, waitMs);
  }

  /**
   * Drops from the batches awaiting a re-send (after a rejected SUBSCRIBE was split) the streams no
   * longer wanted, and the batches left empty, so a stream released meanwhile is not subscribed again.
   */
  private pruneIsolated(): void {
    let kept = 0;
    for (const batch of this.isolated) {
      const live = batch.filter((s) => this.wanted.has(s));
      if (live.length > 0) this.isolated[kept++] = live;
    }
    this.isolated.length = kept;
  }

  private send(method: ControlMethod, streams: string[]): void {
    const id = this.nextRequestId++;
    this.inflight.set(id, { method, streams });
    this.ws.send(this.encode(method, streams, id));
  }

  private stopTimers(): void {
    this.liveness?.stop();
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.controlTimer !== undefined) clearTimeout(this.controlTimer);
    this.controlTimer = undefined;
  }

  private handleClose(code: number, reason: string): void {
    const cause = this.cause ?? { code: 'server_closed', closeCode: code, reason };
    this.lifecycle.transition('closed', cause);
    this.stopTimers();
    this.inflight.clear();
    const expected = cause.code === 'requested';
    const end: SocketEnd = {
      code,
      cause,
      expected,
      reason: expected ? undefined : errorReason(cause, this.openedAt !== undefined),
      ...(this.refusal === undefined ? {} : { refusal: this.refusal }),
    };
    this.events.onClose(this, end);
    const callbacks = this.closedCallbacks;
    this.closedCallbacks = [];
    for (const callback of callbacks) callback();
  }
}

/** The `ws_manager_errors_total` reason of an end this side did not ask for. */
function errorReason(cause: SocketCause, wasOpen: boolean): SocketEnd['reason'] {
  if (cause.code === 'stalled') return 'stalled';
  if (!wasOpen) return 'connect_failed';
  return cause.code === 'error' ? 'connection_error' : 'unexpected_close';
}

function take(set: Set<string>, max: number): string[] {
  const out: string[] = [];
  for (const s of set) {
    if (out.length >= max) break;
    out.push(s);
  }
  for (const s of out) set.delete(s);
  return out;
}
