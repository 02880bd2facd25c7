/**
 * One logical upstream connection: the set of streams it carries and the physical socket serving
 * them, kept alive across failures (backoff with full jitter, the shared upstream admission: attempt
 * budget and Retry-After pause, resubscription) and
 * rotated make-before-break on `serverShutdown` or before the 24 h limit.
 *
 * Its states and the moves between them are the table `TRANSITIONS` below; its `StateMachine` refuses
 * any other move by throwing, since it means the code lost track of its sockets or timers (the throw
 * ends the handler that made the move: under test the run fails, in production the process's uncaught
 * exception handling decides, as for any other programming error). Every move carries a
 * `ConnectionReason`: a code with the facts its log line shows.
 */
import type { Logger } from '../core/log.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import type { UpstreamAdmission } from '../limits/upstream-admission.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';
import { backoffDelay } from './backoff.js';
import { NamedTimers } from './named-timers.js';
import type { ResolvedOptions } from './options.js';
import {
  CLOSE_REQUESTS,
  type CloseRequest,
  type ConnectionSocket,
  type ControlMethod,
  type ExchangeError,
  type SocketCause,
  type SocketEnd,
  type SocketEvents,
  socketCauseText,
  UpstreamSocket,
  type UpstreamSocketOptions,
} from './upstream-socket.js';

export type ConnectionState = 'connecting' | 'open' | 'rotating' | 'waiting' | 'failed' | 'closed';

/**
 * The legal moves. connecting: a socket is being opened; open: it serves; rotating: it serves while a
 * second socket opens to replace it (make-before-break); waiting: a retry or the attempt budget's
 * pause is pending; failed: retries exhausted; closed: released by the pool or destroy.
 */
export const TRANSITIONS: TransitionTable<ConnectionState> = {
  connecting: ['open', 'waiting', 'failed', 'closed'],
  open: ['rotating', 'waiting', 'failed', 'closed'],
  // Back to open when the rotation ends either way; to connecting when the old socket ended before the
  // new one opened; to waiting or failed when the old socket ended before the new one was even started.
  rotating: ['open', 'connecting', 'waiting', 'failed', 'closed'],
  waiting: ['connecting', 'closed'],
  failed: ['closed'],
  closed: [],
};

/** Why a connection closes for good; the text is logged and sent in the upstream close frame. */
export type CloseReason = Exclude<CloseRequest, 'rotated'>;

export const CLOSE_REASONS: Readonly<Record<CloseReason, string>> = CLOSE_REQUESTS;

/** Why a rotation starts: a shutdown notice, the 24 h limit nearing, or a failed rotation retried. */
export type RotationReason =
  | { readonly code: 'shutdown_notice' }
  | { readonly code: 'lifetime'; readonly ageMs: number }
  | { readonly code: 'rotation_retry'; readonly attempt: number; readonly cause: SocketCause };

/** Why a rotation ended before its deadline. */
type RotationEnd = 'switched' | 'nothing_to_switch';

const ROTATION_ENDS: Readonly<Record<RotationEnd, string>> = {
  switched: 'every stream delivers on the new socket',
  nothing_to_switch: 'no streams to switch',
};

/** Why a connection changed state: a code, with the facts its text shows (`reasonText`). */
export type ConnectionReason =
  | { readonly code: 'initial_connect' }
  | { readonly code: 'retry_connect'; readonly attempt: number; readonly cause: SocketCause }
  | { readonly code: 'attempt_budget'; readonly waitMs: number }
  /** The shared admission pauses every attempt (Retry-After); `pause` is its own account of why. */
  | { readonly code: 'upstream_paused'; readonly pause: string }
  | { readonly code: 'socket_open'; readonly socket: string }
  | RotationReason
  | { readonly code: 'rotated'; readonly socket: string; readonly when: RotationEnd }
  | { readonly code: 'rotation_timeout'; readonly socket: string; readonly timeoutMs: number }
  | { readonly code: 'rotation_socket_ended'; readonly socket: string; readonly cause: SocketCause }
  | {
      readonly code: 'taken_over';
      readonly old: string;
      readonly socket: string;
      readonly cause: SocketCause;
    }
  | {
      readonly code: 'retry_wait';
      readonly attempt: number;
      readonly delayMs: number;
      readonly cause: SocketCause;
    }
  | { readonly code: 'retries_exhausted'; readonly attempts: number; readonly cause: SocketCause }
  | { readonly code: 'close'; readonly reason: CloseReason };

/** The reason as logs show it: one fixed wording per code. */
export function reasonText(r: ConnectionReason): string {
  switch (r.code) {
    case 'initial_connect':
      return 'initial connect';
    case 'retry_connect':
      return `retry ${r.attempt} after: ${socketCauseText(r.cause)}`;
    case 'attempt_budget':
      return `attempt budget exhausted, waiting ${r.waitMs} ms`;
    case 'upstream_paused':
      return r.pause;
    case 'socket_open':
      return `socket ${r.socket} open`;
    case 'shutdown_notice':
      return 'server announced shutdown';
    case 'lifetime':
      return `connection age reached ${r.ageMs} ms`;
    case 'rotation_retry':
      return `retrying rotation ${r.attempt} after: ${socketCauseText(r.cause)}`;
    case 'rotated':
      return `rotated to ${r.socket}: ${ROTATION_ENDS[r.when]}`;
    case 'rotation_timeout':
      return `rotated to ${r.socket}: rotation timeout after ${r.timeoutMs} ms`;
    case 'rotation_socket_ended':
      return `rotation socket ${r.socket} ended: ${socketCauseText(r.cause)}`;
    case 'taken_over':
      return `old socket ${r.old} ended during rotation (${socketCauseText(r.cause)}); ${r.socket} took over`;
    case 'retry_wait':
      return `retry ${r.attempt} in ${r.delayMs} ms after: ${socketCauseText(r.cause)}`;
    case 'retries_exhausted':
      return `retries exhausted after ${r.attempts} attempts; last cause: ${socketCauseText(r.cause)}`;
    case 'close':
      return CLOSE_REASONS[r.reason];
  }
}

/** Opens a socket; the default opens an `UpstreamSocket`, a unit test passes a fake. */
export type SocketFactory = (options: UpstreamSocketOptions, events: SocketEvents) => ConnectionSocket;

const openUpstreamSocket: SocketFactory = (options, events) => new UpstreamSocket(options, events);

/** A state change, as logged and handed to `ConnectionHooks.onStateChange`. */
export interface StateChange {
  readonly connection: string;
  readonly from: ConnectionState;
  readonly to: ConnectionState;
  readonly reason: ConnectionReason;
}

/** A socket's end as the manager logs it: its cause in words. */

/** What a connection tells the manager; the causes it hands on are in words, as the manager shows them. */
export interface ConnectionHooks {
  onFrame(socket: ConnectionSocket, stream: string, data: unknown, frame: Buffer): void;
  mayLeaveUnparsed: SocketEvents['mayLeaveUnparsed'];
  readsData: SocketEvents['readsData'];
  onUnparsedFrame: SocketEvents['onUnparsedFrame'];
  onStateChange(connection: UpstreamConnection, change: StateChange): void;
  /** @param downForMs how long the connection had been down, for a reconnect (undefined on the first open). */
  onSocketOpen(connection: UpstreamConnection, downForMs: number | undefined): void;
  onSocketClosed(connection: UpstreamConnection, end: SocketEnd, wasOpen: boolean): void;
  onRejected(connection: UpstreamConnection, stream: string, error: ExchangeError): void;
  onExhausted(connection: UpstreamConnection, cause: SocketCause): void;
  onMalformed(connection: UpstreamConnection, detail: string): void;
}

/** Shared by every connection of one manager. */
export interface ConnectionContext {
  readonly options: ResolvedOptions;
  /** Attempt budget and Retry-After pause, shared by every connection of the manager. */
  readonly admission: UpstreamAdmission;
  readonly metrics: ManagerMetrics;
  readonly logger: Logger;
  readonly hooks: ConnectionHooks;
  nextSerial(): number;
}

export class UpstreamConnection {
  readonly id: string;
  /** Streams this connection should carry; its sockets read it as theirs (`UpstreamSocketOptions.wanted`). */
  readonly wanted = new Set<string>();
  /** Epoch ms since when no socket of this connection has been open (undefined while one is). */
  downSince: number | undefined;
  private current: ConnectionSocket | undefined;
  private next: ConnectionSocket | undefined;
  private readonly lifecycle: StateMachine<ConnectionState, ConnectionReason>;
  /** Consecutive failed attempts to restore service (the current socket); these can exhaust the connection. */
  private attempts = 0;
  /** Consecutive failed rotations: they only set the backoff, since the current socket keeps serving. */
  private rotationAttempts = 0;
  /** Epoch ms since when this connection has been served without a break (rotations included). */
  private upSince: number | undefined;
  private everOpened = false;
  /** retry: the next attempt (reconnect, rotation, or after the attempt budget's wait); rotation: the
   * rotation's deadline; lifetime: the rotation before the exchange's 24 h limit. */
  private readonly timers = new NamedTimers<'retry' | 'rotation' | 'lifetime'>();
  private awaitingSwitch = new Set<string>();
  private readonly socketEvents: SocketEvents;

  constructor(
    id: string,
    private readonly ctx: ConnectionContext,
    private readonly openSocketWith: SocketFactory = openUpstreamSocket,
    /** The URL its sockets open: the venue's one connection URL, or the endpoint of its streams. */
    private readonly url: string = ctx.options.streamUrl,
  ) {
    this.id = id;
    this.downSince = ctx.options.now();
    this.lifecycle = new StateMachine({
      owner: `WSManager connection ${id}`,
      table: TRANSITIONS,
      initial: 'connecting',
      describe: reasonText,
      onChange: (from, to, reason) => {
        ctx.logger.info(
          { connection: id, from, to, reason: reasonText(reason) },
          'WSManager connection state changed',
        );
        ctx.hooks.onStateChange(this, { connection: id, from, to, reason });
      },
    });
    this.socketEvents = {
      onOpen: (s) => this.handleOpen(s),
      onFrame: ctx.hooks.onFrame,
      mayLeaveUnparsed: ctx.hooks.mayLeaveUnparsed,
      readsData: ctx.hooks.readsData,
      onUnparsedFrame: ctx.hooks.onUnparsedFrame,
      onReject: (s, method, streams, error) => this.handleReject(s, method, streams, error),
      onShutdownNotice: (s) => {
        if (s === this.current) this.rotate({ code: 'shutdown_notice' });
      },
      onMalformed: (_s, detail) => ctx.hooks.onMalformed(this, detail),
      onClose: (s, end) => this.handleClose(s, end),
    };
    this.openSocket({ code: 'initial_connect' });
  }

  get state(): ConnectionState {
    return this.lifecycle.state;
  }

  /** The socket delivering now (the newer one once a rotation completes). */
  get socket(): ConnectionSocket | undefined {
    return this.current;
  }

  /** Consecutive failed attempts counted toward `retry.maxAttempts` (read-only, for the status page). */
  get retries(): number {
    return this.attempts;
  }

  /** Sockets of this connection that are open now (two during a rotation). */
  openSockets(): number {
    return (this.current?.state === 'open' ? 1 : 0) + (this.next?.state === 'open' ? 1 : 0);
  }

  add(stream: string): void {
    this.wanted.add(stream);
    this.current?.subscribe([stream]);
    this.next?.subscribe([stream]);
  }

  remove(stream: string): void {
    if (!this.wanted.delete(stream)) return;
    this.current?.unsubscribe([stream]);
    this.next?.unsubscribe([stream]);
    if (this.awaitingSwitch.delete(stream)) this.maybeFinishRotation();
  }

  /** Has the venue send `stream` afresh on the socket delivering it (see `UpstreamSocket.resubscribe`). */
  refresh(stream: string): void {
    if (this.wanted.has(stream)) this.current?.resubscribe?.([stream]);
  }

  /** Called when `socket` took over delivering `stream` during a rotation. */
  streamSwitched(stream: string, socket: ConnectionSocket): void {
    if (socket !== this.next) return;
    if (this.awaitingSwitch.delete(stream)) this.maybeFinishRotation();
  }

  /** Make-before-break: opens a second socket for the same streams; the old one closes once it took over. */
  rotate(reason: RotationReason): void {
    if (this.state !== 'open' || this.next !== undefined) return;
    this.lifecycle.transition('rotating', reason);
    this.awaitingSwitch = new Set(this.wanted);
    this.openSocket(reason);
  }

  /** Closes for good (the pool released it, or the manager is being destroyed). */
  close(reason: CloseReason): Promise<void> {
    this.timers.clearAll();
    this.lifecycle.transition('closed', { code: 'close', reason });
    const sockets = [this.current, this.next].filter((s): s is ConnectionSocket => s !== undefined);
    this.current = undefined;
    this.next = undefined;
    return Promise.all(sockets.map((s) => closeSocket(s, reason))).then(() => undefined);
  }

  /** @param reason why a socket opens: the connection's first, a retry, or a rotation's. */
  private openSocket(reason: ConnectionReason): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    const { options, admission } = this.ctx;
    const wait = admission.admit();
    if (wait > 0) {
      const paused = admission.pauseReason();
      if (paused === undefined) {
        this.ctx.metrics.error('attempt_budget');
        this.ctx.logger.warn(
          { connection: this.id, waitMs: wait, limit: options.connectionAttempts.limit },
          'WSManager connection-attempt budget exhausted; waiting',
        );
      }
      if (this.state !== 'rotating')
        this.lifecycle.transition(
          'waiting',
          paused === undefined
            ? { code: 'attempt_budget', waitMs: wait }
            : { code: 'upstream_paused', pause: paused },
        );
      this.timers.set('retry', wait, () => this.openSocket(reason));
      return;
    }
    const socket = this.openSocketWith(
      {
        url: this.url,
        wanted: this.wanted,
        exchange: options.exchange,
        connection: this.id,
        serial: this.ctx.nextSerial(),
        pacingMessages: options.pacing.messages,
        pacingWindowMs: options.pacing.windowMs,
        maxStreamsPerMessage: options.pacing.maxStreamsPerMessage,
        stallTimeoutMs: options.stallTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        now: options.now,
      },
      this.socketEvents,
    );
    socket.subscribe(this.wanted);
    if (this.state === 'rotating') {
      this.next = socket;
    } else {
      this.current = socket;
      this.lifecycle.transition('connecting', reason);
    }
  }

  private handleOpen(socket: ConnectionSocket): void {
    let downForMs: number | undefined;
    if (socket === this.current) {
      if (this.everOpened && this.downSince !== undefined)
        downForMs = this.ctx.options.now() - this.downSince;
      this.everOpened = true;
      this.downSince = undefined;
      this.upSince ??= this.ctx.options.now();
      this.lifecycle.transition('open', { code: 'socket_open', socket: socket.id });
      this.armLifetime(socket);
    } else if (socket === this.next) {
      const timeoutMs = this.ctx.options.rotationTimeoutMs;
      this.timers.set('rotation', timeoutMs, () =>
        this.finishRotation({ code: 'rotation_timeout', socket: socket.id, timeoutMs }),
      );
      if (this.awaitingSwitch.size === 0)
        this.finishRotation({ code: 'rotated', socket: socket.id, when: 'nothing_to_switch' });
    }
    this.ctx.hooks.onSocketOpen(this, downForMs);
  }

  private armLifetime(socket: ConnectionSocket): void {
    const { rotateAfterMs } = this.ctx.options;
    this.timers.set('lifetime', rotateAfterMs, () => {
      if (socket === this.current) this.rotate({ code: 'lifetime', ageMs: rotateAfterMs });
    });
  }

  private maybeFinishRotation(): void {
    const fresh = this.next;
    if (this.state === 'rotating' && fresh?.state === 'open' && this.awaitingSwitch.size === 0) {
      this.finishRotation({ code: 'rotated', socket: fresh.id, when: 'switched' });
    }
  }

  private finishRotation(reason: ConnectionReason): void {
    const fresh = this.next;
    if (this.state !== 'rotating' || fresh === undefined || fresh.state !== 'open') return;
    const old = this.current;
    this.takeOver(fresh, reason);
    old?.close('rotated');
  }

  /**
   * The rotation's socket becomes the current one: the rotation ends, and the connection serves through
   * that socket when it is open, or is `connecting` until it opens.
   */
  private takeOver(fresh: ConnectionSocket, reason: ConnectionReason): void {
    this.timers.clear('rotation');
    this.current = fresh;
    this.next = undefined;
    this.awaitingSwitch.clear();
    if (fresh.state === 'open') {
      this.rotationAttempts = 0;
      this.lifecycle.transition('open', reason);
      this.armLifetime(fresh);
      return;
    }
    this.upSince = undefined;
    this.downSince = this.ctx.options.now();
    this.lifecycle.transition('connecting', reason);
  }

  private handleReject(
    socket: ConnectionSocket,
    method: ControlMethod,
    streams: string[],
    error: ExchangeError,
  ): void {
    if (socket !== this.current && socket !== this.next) return;
    if (method === 'unsubscribe') {
      this.ctx.logger.warn({ connection: this.id, streams, error }, 'WSManager UNSUBSCRIBE rejected');
      return;
    }
    for (const stream of streams) if (this.wanted.has(stream)) this.ctx.hooks.onRejected(this, stream, error);
  }

  private handleClose(socket: ConnectionSocket, end: SocketEnd): void {
    const wasOpen = socket.openedAt !== undefined;
    if (end.refusal !== undefined) this.ctx.admission.refused(end.refusal.status, end.refusal.retryAfter);
    this.ctx.hooks.onSocketClosed(this, end, wasOpen);
    if (this.state === 'closed' || this.state === 'failed') return;
    const now = this.ctx.options.now();
    if (socket === this.next) {
      this.next = undefined;
      this.timers.clear('rotation');
      this.lifecycle.transition('open', {
        code: 'rotation_socket_ended',
        socket: socket.id,
        cause: end.cause,
      });
      this.scheduleRetry(end.cause, 'rotate');
      return;
    }
    if (socket !== this.current) return;
    this.current = undefined;
    this.resetAttemptsIfStable(now);
    this.timers.clear('lifetime');
    const fresh = this.next;
    if (fresh !== undefined) {
      // The old socket ended during a rotation: the new one takes over at once.
      this.takeOver(fresh, { code: 'taken_over', old: socket.id, socket: fresh.id, cause: end.cause });
      return;
    }
    this.upSince = undefined;
    // A stalled socket stopped serving when it fell silent, not when the silence was noticed.
    const servedUntil = end.cause.code === 'stalled' ? Math.min(now, end.cause.silentSince) : now;
    this.downSince ??= servedUntil;
    const healthy =
      socket.openedAt !== undefined && servedUntil - socket.openedAt >= this.ctx.options.retry.healthyAfterMs;
    this.scheduleRetry(end.cause, 'reconnect', healthy);
  }

  /** A connection served for `retry.resetAfterMs` without a break has recovered: earlier failures no longer count. */
  private resetAttemptsIfStable(now: number): void {
    if (this.upSince !== undefined && now - this.upSince >= this.ctx.options.retry.resetAfterMs)
      this.attempts = 0;
  }

  /**
   * A reconnect counts toward `retry.maxAttempts` and exhausts the connection when they are spent; the
   * first reconnect after the end of a healthy socket goes out at once, later ones back off. A
   * rotation retry never does: the current socket still serves, so the rotation is tried again later
   * (its own backoff), and only the current socket's end can lead to `failed`.
   */
  private scheduleRetry(cause: SocketCause, kind: 'reconnect' | 'rotate', healthy = false): void {
    const { retry, random } = this.ctx.options;
    if (kind === 'reconnect' && this.attempts >= retry.maxAttempts) {
      this.lifecycle.transition('failed', { code: 'retries_exhausted', attempts: this.attempts, cause });
      this.ctx.hooks.onExhausted(this, cause);
      return;
    }
    const attempt = kind === 'reconnect' ? ++this.attempts : ++this.rotationAttempts;
    // A healthy socket's end is a one-off: reconnect at once, with only a little jitter so clients dropped
    // together do not all arrive in the same millisecond; a failing connection backs off.
    const delayMs = healthy
      ? Math.floor(random() * retry.firstRetryJitterMs)
      : backoffDelay(attempt - 1, retry, random);
    this.ctx.metrics.retried();
    this.ctx.logger.warn(
      { connection: this.id, attempt, delayMs, cause: socketCauseText(cause), kind },
      'WSManager retry scheduled',
    );
    if (kind === 'reconnect')
      this.lifecycle.transition('waiting', { code: 'retry_wait', attempt, delayMs, cause });
    this.timers.set('retry', delayMs, () => {
      if (kind === 'reconnect') this.openSocket({ code: 'retry_connect', attempt, cause });
      else if (this.state === 'open') this.rotate({ code: 'rotation_retry', attempt, cause });
    });
  }
}

function closeSocket(socket: ConnectionSocket, reason: CloseReason): Promise<void> {
  if (socket.state === 'closed') return Promise.resolve();
  return new Promise((resolve) => {
    socket.onceClosed(resolve);
    socket.close(reason);
  });
}
