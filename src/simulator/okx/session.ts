/**
 * One OKX v5 connection of the simulator (`/okx/ws/v5/public` or `/okx/ws/v5/business`): op-style
 * subscribe/unsubscribe acknowledged per arg (echoing the request's `id`), OKX's error events and codes,
 * its limits (480 subscribe/unsubscribe requests per connection per hour, 64 KB per request, candles only
 * on `/business` and the rest only on `/public`), the text `pong` to the text `ping`, the 64008 notice
 * before a service upgrade, and the faults that act on one connection (stall, malformed frames, withheld
 * pongs, latency, drop).
 */
import type { WebSocket } from 'ws';
import { CloseCodes } from '../../core/close-codes.js';
import type { ParsedStream } from '../../exchange/exchange.js';
import { PING_MESSAGE, PONG_MESSAGE } from '../../exchange/okx/limits.js';
import { parseChannel, routeOf } from '../../exchange/okx/streams.js';
import { RollingWindow } from '../../limits/rolling-window.js';
import type { OkxConnectionStats } from '../types.js';
import { type LatencySource, PongWithholdingConnection } from '../venue-connection.js';
import type { ChannelFeeds, ChannelSubscriber } from './channel-feeds.js';
import { sourceStreamOf } from './translate.js';

export interface OkxSessionContext extends LatencySource {
  readonly feeds: ChannelFeeds;
  /** Subscribe/unsubscribe requests allowed per connection per window. */
  readonly requests: { readonly limit: number; readonly windowMs: number };
}

/** "The total length of multiple channels cannot exceed 64 KB" per request. */
const MAX_REQUEST_BYTES = 64 * 1024;

const MALFORMED_FRAMES = [
  '{"arg":{"channel":"trades","instId":"BTC-US',
  'this is not JSON',
  '{"arg":42}',
  '',
];

export class OkxSession extends PongWithholdingConnection implements ChannelSubscriber {
  readonly channels = new Set<string>();
  private pings = 0;
  private requestCount = 0;
  private readonly subscribeArgs: number[] = [];
  private readonly requestWindow: RollingWindow;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    readonly route: 'public' | 'business',
    ws: WebSocket,
    private readonly ctx: OkxSessionContext,
  ) {
    super(id, ws, ctx, MALFORMED_FRAMES);
    this.requestWindow = new RollingWindow(ctx.requests.limit, ctx.requests.windowMs);
    ws.on('message', (data: Buffer) => this.onMessage(data));
  }

  /** OKX's notice 64008, then the close `closeAfterMs` later, as a service upgrade does. */
  announceShutdown(closeAfterMs: number): boolean {
    if (!this.accepting) return false;
    this.sendText(
      JSON.stringify({
        event: 'notice',
        code: '64008',
        msg: 'The connection will soon be closed for a service upgrade. Please reconnect.',
        connId: this.id,
      }),
    );
    this.closeTimer = setTimeout(() => this.close(CloseCodes.GOING_AWAY, 'Service upgrade'), closeAfterMs);
    return true;
  }

  protected release(): void {
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    for (const c of this.channels) this.ctx.feeds.unsubscribe(this, c);
    this.channels.clear();
  }

  stats(): OkxConnectionStats {
    return {
      id: this.id,
      route: this.route,
      channels: [...this.channels],
      subscribeArgs: [...this.subscribeArgs],
      requests: this.requestCount,
      pings: this.pings,
      stalled: this.stalled,
      withholdingPongs: this.withholdingPongs,
    };
  }

  private error(id: string | undefined, code: string, msg: string): void {
    this.sendText(
      JSON.stringify({ ...(id === undefined ? {} : { id }), event: 'error', code, msg, connId: this.id }),
    );
  }

  private onMessage(data: Buffer): void {
    if (this.closing || this.stalled) return;
    const text = data.toString();
    if (text === PING_MESSAGE) {
      this.pings++;
      if (!this.withholdingPongs) this.sendText(PONG_MESSAGE);
      return;
    }
    let msg: { id?: unknown; op?: unknown; args?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.error(undefined, '60012', `Illegal request: ${text.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.error(undefined, '60012', `Illegal request: ${text.slice(0, 200)}`);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const { op } = msg;
    if (op !== 'subscribe' && op !== 'unsubscribe') {
      this.error(id, '60012', `Illegal request: ${text.slice(0, 200)}`);
      return;
    }
    this.requestCount++;
    if (!this.requestWindow.tryRecord(this.ctx.clock())) {
      this.error(id, '60014', 'Requests too frequent.');
      return;
    }
    if (data.length > MAX_REQUEST_BYTES) {
      this.error(id, '60012', 'Illegal request: the channels of one request exceed 64 KB');
      return;
    }
    const args = msg.args;
    if (!Array.isArray(args) || args.length === 0) {
      this.error(id, '60012', `Illegal request: ${text.slice(0, 200)}`);
      return;
    }
    const parsed: ParsedStream[] = [];
    for (const a of args as { channel?: unknown; instId?: unknown }[]) {
      const channel = parseChannel(`${String(a?.channel)}:${String(a?.instId)}`);
      if (
        channel === undefined ||
        sourceStreamOf(channel) === undefined ||
        routeOf(channel.name) !== this.route
      ) {
        this.error(
          id,
          '60018',
          `Wrong URL or channel:${String(a?.channel)},instId:${String(a?.instId)} doesn't exist`,
        );
        return;
      }
      parsed.push(channel);
    }
    if (op === 'subscribe') this.subscribeArgs.push(parsed.length);
    for (const channel of parsed) {
      const arg = {
        channel: channel.kind === 'candle' ? `candle${channel.param}` : channel.kind,
        instId: channel.symbol,
      };
      // The acknowledgement first, then (for a book) its snapshot, as OKX orders them.
      this.sendText(JSON.stringify({ ...(id === undefined ? {} : { id }), event: op, arg, connId: this.id }));
      if (op === 'subscribe') {
        if (this.channels.has(channel.name)) continue;
        this.channels.add(channel.name);
        this.ctx.feeds.subscribe(this, channel);
      } else if (this.channels.delete(channel.name)) {
        this.ctx.feeds.unsubscribe(this, channel.name);
      }
    }
  }
}
