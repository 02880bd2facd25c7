/**
 * One client connection: its subscriptions and `combined` property, the live control protocol, the
 * per-connection limits (streams, incoming message rate), server pings with a pong deadline, the
 * connection lifetime with its `serverShutdown` notice, and the faults that act on one connection.
 */
import type { WebSocket } from 'ws';
import { CloseCodes } from '../core/close-codes.js';
import { tcpSocketOf } from '../core/ws-socket.js';
import { answerControl, parseControlMessage } from '../exchange/binance/control-protocol.js';
import { combinedPrefix, SERVER_SHUTDOWN_EVENT, SERVER_SHUTDOWN_STREAM } from '../exchange/binance/frames.js';
import type { ControlTarget } from '../exchange/dialect.js';
import { RollingWindow } from '../limits/rolling-window.js';
import type { Subscriber } from './feed.js';
import type { FeedHub } from './feed-hub.js';
import type { ResolvedLimits } from './options.js';
import type { ConnectionStats } from './types.js';
import { type LatencySource, VenueConnection } from './venue-connection.js';

/** Counters shared by all sessions of a simulator. */
export interface SimulatorCounters {
  messagesSent: number;
  controlMessagesReceived: number;
  connectionAttempts: number;
  breaches: { streams: number; messageRate: number; connectionAttempts: number };
}

export interface SessionContext extends LatencySource {
  readonly hub: FeedHub;
  readonly limits: ResolvedLimits;
  readonly counters: SimulatorCounters;
}

/** Frames a broken server might send: truncated JSON, plain text, JSON of the wrong shape, nothing. */
const MALFORMED_FRAMES = [
  '{"stream":"btcusdt@trade","data":{"e":"trade","E":17',
  'this is not JSON',
  '{"stream":42,"data":null}',
  '',
];

export class Session extends VenueConnection implements Subscriber {
  readonly openedAt: number;
  readonly streams = new Set<string>();
  combined: boolean;
  messagesSent = 0;
  controlMessagesReceived = 0;
  /** Called once the connection has closed. */
  onClosed: (() => void) | undefined;
  private readonly incoming: RollingWindow;
  private readonly outstandingPings = new Set<string>();
  private pingSeq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private pingTimer: NodeJS.Timeout | undefined;
  private pongDeadline: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    ws: WebSocket,
    combined: boolean,
    private readonly ctx: SessionContext,
  ) {
    super(id, ws, ctx, MALFORMED_FRAMES);
    this.combined = combined;
    this.openedAt = ctx.clock();
    this.incoming = new RollingWindow(ctx.limits.maxMessagesPerSecond, 1000);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('ping', (data: Buffer) => this.onPing(data));
    ws.on('pong', (data: Buffer) => this.onPong(data));
    const { pingIntervalMs, maxLifetimeMs, shutdownNoticeMs } = ctx.limits;
    this.pingTimer = setInterval(() => this.ping(), pingIntervalMs);
    this.after(maxLifetimeMs - shutdownNoticeMs, () => this.sendShutdownNotice());
    this.after(maxLifetimeMs, () => this.close(CloseCodes.GOING_AWAY, 'Connection lifetime expired'));
  }

  cork(): void {
    tcpSocketOf(this.ws)?.cork();
  }

  uncork(): void {
    tcpSocketOf(this.ws)?.uncork();
  }

  /** Subscribes to streams known to be valid; false (and nothing changes) when the stream limit forbids it. */
  subscribe(streams: readonly string[]): boolean {
    let added = 0;
    for (const s of new Set(streams)) if (!this.streams.has(s)) added++;
    if (this.streams.size + added > this.ctx.limits.maxStreamsPerConnection) {
      this.ctx.counters.breaches.streams++;
      return false;
    }
    for (const s of streams) {
      if (this.streams.has(s)) continue;
      this.streams.add(s);
      this.ctx.hub.subscribe(this, s);
    }
    return true;
  }

  /** Sends the `serverShutdown` event, then closes with 1001 after `closeAfterMs`. */
  announceShutdown(closeAfterMs: number): boolean {
    if (!this.accepting) return false;
    this.sendShutdownNotice();
    this.after(closeAfterMs, () => this.close(CloseCodes.GOING_AWAY, 'Server shutdown'));
    return true;
  }

  protected release(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.pongDeadline !== undefined) clearTimeout(this.pongDeadline);
    this.pingTimer = undefined;
    this.pongDeadline = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.streams) this.ctx.hub.unsubscribe(this, s);
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      streams: [...this.streams],
      messagesSent: this.messagesSent,
      controlMessagesReceived: this.controlMessagesReceived,
      openedAt: this.openedAt,
      combined: this.combined,
      stalled: this.stalled,
    };
  }

  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stalled) run();
    }, ms);
    this.timers.add(timer);
  }

  protected override sent(): void {
    this.messagesSent++;
    this.ctx.counters.messagesSent++;
  }

  private sendShutdownNotice(): void {
    const event = `{"e":"${SERVER_SHUTDOWN_EVENT}","E":${this.ctx.clock()}}`;
    this.sendText(this.combined ? `${combinedPrefix(SERVER_SHUTDOWN_STREAM)}${event}}` : event);
  }

  /** Applies the rolling-window limit to one incoming frame; false when the frame must be ignored. */
  private admit(): boolean {
    if (this.closing || this.stalled) return false;
    if (this.incoming.tryRecord(this.ctx.clock())) return true;
    this.ctx.counters.breaches.messageRate++;
    this.close(CloseCodes.POLICY_VIOLATION, 'Too many messages');
    return false;
  }

  private onMessage(data: Buffer, _isBinary: boolean): void {
    if (!this.admit()) return;
    this.controlMessagesReceived++;
    this.ctx.counters.controlMessagesReceived++;
    const parsed = parseControlMessage(data.toString('utf8'));
    this.sendText(parsed.ok ? answerControl(parsed.request, this.control) : parsed.reply);
  }

  /** The connection as the control protocol sees it. */
  private readonly control: ControlTarget = {
    getCombined: () => this.combined,
    setCombined: (value) => {
      this.combined = value;
    },
    subscribe: (streams) => {
      if (this.subscribe(streams)) return undefined;
      const max = this.ctx.limits.maxStreamsPerConnection;
      return `Invalid request: too many streams, a connection can listen to at most ${max}`;
    },
    unsubscribe: (streams) => {
      for (const s of streams) {
        if (this.streams.delete(s)) this.ctx.hub.unsubscribe(this, s);
      }
    },
    list: () => [...this.streams],
  };

  private onPing(data: Buffer): void {
    if (!this.admit()) return;
    this.sendControl(() => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.pong(data);
    });
  }

  /** Only a pong echoing an outstanding ping's payload counts; unsolicited pongs do not prevent the close. */
  private onPong(data: Buffer): void {
    if (!this.admit()) return;
    if (!this.outstandingPings.has(data.toString('latin1'))) return;
    this.outstandingPings.clear();
    if (this.pongDeadline !== undefined) clearTimeout(this.pongDeadline);
    this.pongDeadline = undefined;
  }

  private ping(): void {
    if (!this.accepting) return;
    const payload = `${this.id}:${++this.pingSeq}`;
    this.outstandingPings.add(payload);
    this.sendControl(() => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.ping(payload);
    });
    this.pongDeadline ??= setTimeout(() => {
      this.pongDeadline = undefined;
      if (!this.stalled) this.close(CloseCodes.POLICY_VIOLATION, 'Pong timeout');
    }, this.ctx.limits.pongTimeoutMs);
  }
}
