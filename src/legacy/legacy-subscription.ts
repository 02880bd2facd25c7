/**
 * One subscriber's private upstream socket in the legacy baseline: `${url}/ws/<stream>`, reconnected after
 * a fixed delay with no jitter, as the pre-migration code did. Nothing is shared, except what keeps the
 * exchange from refusing or banning the IP: every attempt goes through the source's UpstreamAdmission
 * (attempt budget, Retry-After pause) and waits when it says so.
 */
import WebSocket from 'ws';
import { type ErrorCode, ErrorCodes, StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { PayloadMessage } from '../core/payload-message.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import type { StreamListener } from '../core/stream-source.js';
import type { Exchange, FrameHandler } from '../exchange/exchange.js';
import { readRefusal, type UpgradeRefusal, type UpstreamAdmission } from '../limits/upstream-admission.js';
import type { ErrorReason, ManagerMetrics } from '../metrics/manager-metrics.js';

export interface LegacySubscriptionContext {
  readonly url: string;
  /** The venue: single-stream URL, frame reader, stream grammar and sequence ids. */
  readonly exchange: Exchange;
  readonly reconnectDelayMs: number;
  /** Shared by every subscription of the source: the attempt budget and the Retry-After pause. */
  readonly admission: UpstreamAdmission;
  readonly metrics: ManagerMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called when the socket opens (true) or an open socket closes (false), so the owner keeps a count. */
  readonly onConnectionChange: (open: boolean) => void;
}

export type LegacySubscriptionState = 'connecting' | 'open' | 'waiting' | 'closed';

/**
 * connecting: a socket is being opened; open: it serves; waiting: the fixed reconnect delay or the
 * upstream admission's wait is pending; closed: the subscriber left or the source was destroyed.
 */
export const LEGACY_TRANSITIONS: TransitionTable<LegacySubscriptionState> = {
  connecting: ['open', 'waiting', 'closed'],
  open: ['waiting', 'closed'],
  waiting: ['connecting', 'closed'],
  closed: [],
};

/** Why a subscription changed state. */
export type LegacyMove = 'admission_wait' | 'connect' | 'socket_open' | 'socket_closed' | 'released';

/** Why a subscription ends without its subscriber asking; each has one error code and message. */
export type LegacyFailure = 'destroyed';

const FAILURES: Readonly<Record<LegacyFailure, { readonly code: ErrorCode; readonly message: string }>> = {
  destroyed: { code: ErrorCodes.DESTROYED, message: 'LegacyStreamSource was destroyed' },
};

export class LegacySubscription {
  readonly id: string;
  readonly stream: string;
  /** Epoch ms since when the subscription has had no open socket; undefined while open. */
  downSince: number | undefined;
  lastMessageAt: number | undefined;
  /** Epoch ms when the current socket opened; undefined while none is open. */
  openedAt: number | undefined;
  /** Epoch ms of the open socket's last sign of life (its open, a frame or a ping). */
  lastTrafficAt: number | undefined;
  messages = 0;
  private readonly lifecycle: StateMachine<LegacySubscriptionState, LegacyMove>;
  private socket: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lastSequence: number | undefined;
  private readonly sequenced: boolean;
  private readonly kind: string;
  private readonly frames: FrameHandler = {
    event: (_stream, data, frame) => {
      this.messages++;
      this.lastMessageAt = this.ctx.now();
      this.ctx.metrics.message();
      if (this.sequenced && isRecord(data)) this.checkSequence(data);
      try {
        this.listener.next(data, new PayloadMessage(this.stream, frame, data));
      } catch (error) {
        this.error('handler_threw');
        this.ctx.logger.error({ stream: this.stream, err: String(error) }, 'Legacy subscriber threw');
      }
    },
    shutdown: () =>
      this.ctx.logger.info(
        { stream: this.stream, connection: this.id },
        'Legacy upstream announced shutdown',
      ),
    // A raw connection sends no control message, so no reply comes.
    reply: () => {},
    malformed: () => {
      this.error('malformed_frame');
      this.ctx.logger.warn({ stream: this.stream, connection: this.id }, 'Legacy malformed frame dropped');
    },
  };

  constructor(
    id: string,
    stream: string,
    private readonly listener: StreamListener,
    private readonly ctx: LegacySubscriptionContext,
  ) {
    this.id = id;
    this.stream = stream;
    const parsed = ctx.exchange.streams.parse(stream);
    this.kind = parsed?.kind ?? '';
    this.sequenced = parsed !== undefined && ctx.exchange.sequence.ruleOf(parsed.kind) === 'contiguous';
    this.downSince = ctx.now();
    this.lifecycle = new StateMachine({
      owner: `Legacy subscription ${id}`,
      table: LEGACY_TRANSITIONS,
      initial: 'connecting',
    });
    this.connect();
  }

  get state(): LegacySubscriptionState {
    return this.lifecycle.state;
  }

  /** Consecutive failed reconnects; 0 once the socket is open again. */
  get retries(): number {
    return this.attempt;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Closes the socket and cancels any pending reconnect; no callback follows. */
  close(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.lifecycle.transition('closed', 'released');
    clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
    }
    if (wasOpen) this.ctx.onConnectionChange(false);
  }

  /** Ends the subscription for good without the subscriber asking (delivered once). */
  fail(reason: LegacyFailure): void {
    const { code, message } = FAILURES[reason];
    try {
      this.listener.error?.(new StreamError(code, this.stream, message));
    } catch {
      this.error('handler_threw');
    }
  }

  private error(reason: ErrorReason): void {
    this.ctx.metrics.error(reason);
  }

  private connect(): void {
    const wait = this.ctx.admission.admit();
    if (wait > 0) {
      this.lifecycle.transition('waiting', 'admission_wait');
      this.ctx.logger.debug(
        { stream: this.stream, connection: this.id, waitMs: wait },
        'Legacy connection attempt deferred by the upstream admission (attempt budget or Retry-After)',
      );
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.state === 'waiting') this.connect();
      }, wait);
      return;
    }
    this.lifecycle.transition('connecting', 'connect');
    const socket = new WebSocket(this.ctx.exchange.endpoints.singleStreamUrl(this.ctx.url, this.stream), {
      perMessageDeflate: false,
    });
    this.socket = socket;
    let opened = false;
    let refusal: UpgradeRefusal | undefined;
    socket.on('unexpected-response', (_req, res) => {
      refusal = readRefusal(res);
      res.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      opened = true;
      this.lifecycle.transition('open', 'socket_open');
      if (this.downSince !== undefined && this.attempt > 0) {
        this.ctx.metrics.reconnectDuration.observe((this.ctx.now() - this.downSince) / 1000);
      }
      this.downSince = undefined;
      this.openedAt = this.ctx.now();
      this.lastTrafficAt = this.openedAt;
      this.attempt = 0;
      this.ctx.logger.debug({ stream: this.stream, connection: this.id }, 'Legacy connection open');
      this.ctx.onConnectionChange(true);
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastTrafficAt = this.ctx.now();
      if (!isBinary) this.ctx.exchange.frames.readSingle(data, this.frames);
    });
    socket.on('ping', () => {
      this.lastTrafficAt = this.ctx.now();
    });
    socket.on('error', (error: Error) => {
      this.error(opened ? 'connection_error' : 'connect_failed');
      this.ctx.logger.warn(
        { stream: this.stream, connection: this.id, err: error.message },
        'Legacy socket error',
      );
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (refusal !== undefined) this.ctx.admission.refused(refusal.status, refusal.retryAfter);
      if (this.state === 'closed' || this.socket !== socket) return;
      this.socket = undefined;
      if (opened) {
        this.error('unexpected_close');
        this.downSince = this.ctx.now();
        this.ctx.onConnectionChange(false);
      }
      this.scheduleReconnect(`close ${code} ${reason.toString()}`.trim());
    });
  }

  private scheduleReconnect(cause: string): void {
    this.lifecycle.transition('waiting', 'socket_closed');
    this.attempt++;
    this.ctx.metrics.retried();
    this.ctx.logger.info(
      {
        stream: this.stream,
        connection: this.id,
        attempt: this.attempt,
        delayMs: this.ctx.reconnectDelayMs,
        cause,
      },
      'Legacy retry: reconnecting after a fixed delay',
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'waiting') this.connect();
    }, this.ctx.reconnectDelayMs);
  }

  private checkSequence(data: Record<string, unknown>): void {
    const range = this.ctx.exchange.sequence.range(this.kind, data);
    if (!range) return;
    const expected = this.lastSequence === undefined ? undefined : this.lastSequence + 1;
    if (expected !== undefined && range.first > expected) {
      const missed = range.first - expected;
      this.ctx.metrics.gap(missed);
      try {
        this.listener.gap?.({ stream: this.stream, expected, received: range.first, missed });
      } catch {
        this.error('handler_threw');
      }
    }
    this.lastSequence = Math.max(range.last, this.lastSequence ?? range.last);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
