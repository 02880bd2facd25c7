/**
 * One Bybit v5 public connection of the simulator (`/bybit/v5/public/spot` or `/linear`): op-style
 * subscribe/unsubscribe with Bybit's replies and limits (spot: at most 10 args per request; 21,000
 * characters of args per connection), the JSON pong to `{"op":"ping"}`, and the faults that act on one
 * connection (stall, malformed frames, withheld pongs, latency, drop).
 */
import type { WebSocket } from 'ws';
import { ARG_CHARS_PER_CONNECTION, SPOT_ARGS_PER_MESSAGE } from '../../exchange/bybit/limits.js';
import type { BybitMarket } from '../../exchange/bybit/rest.js';
import { parseTopic } from '../../exchange/bybit/streams.js';
import type { BybitConnectionStats } from '../types.js';
import { type LatencySource, PongWithholdingConnection } from '../venue-connection.js';
import type { TopicFeeds, TopicSubscriber } from './topic-feeds.js';

export interface BybitSessionContext extends LatencySource {
  readonly feeds: TopicFeeds;
}

const MALFORMED_FRAMES = [
  '{"topic":"publicTrade.BTCUSDT","type":"snap',
  'this is not JSON',
  '{"topic":42}',
  '',
];

export class BybitSession extends PongWithholdingConnection implements TopicSubscriber {
  readonly topics = new Set<string>();
  onClosed: (() => void) | undefined;
  private chars = 0;
  private pings = 0;
  private readonly subscribeArgs: number[] = [];

  constructor(
    id: string,
    readonly category: BybitMarket,
    ws: WebSocket,
    private readonly ctx: BybitSessionContext,
  ) {
    super(id, ws, ctx, MALFORMED_FRAMES);
    ws.on('message', (data: Buffer) => this.onMessage(data));
  }

  protected release(): void {
    for (const t of this.topics) this.ctx.feeds.unsubscribe(this, t);
    this.topics.clear();
  }

  stats(): BybitConnectionStats {
    return {
      id: this.id,
      category: this.category,
      topics: [...this.topics],
      subscribeArgs: [...this.subscribeArgs],
      pings: this.pings,
      stalled: this.stalled,
      withholdingPongs: this.withholdingPongs,
    };
  }

  private reply(op: string, reqId: unknown, success: boolean, retMsg: string): void {
    const req = typeof reqId === 'string' ? reqId : '';
    this.sendText(JSON.stringify({ success, ret_msg: retMsg, conn_id: this.id, req_id: req, op }));
  }

  private onMessage(data: Buffer): void {
    if (this.closing || this.stalled) return;
    let msg: { op?: unknown; args?: unknown; req_id?: unknown };
    try {
      msg = JSON.parse(data.toString()) as typeof msg;
    } catch {
      this.reply('', undefined, false, 'error:request not valid json');
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.reply('', undefined, false, 'error:request not valid json');
      return;
    }
    const { op, req_id: reqId } = msg;
    if (op === 'ping') {
      this.pings++;
      if (!this.withholdingPongs) this.reply('ping', reqId, true, 'pong');
      return;
    }
    if (op !== 'subscribe' && op !== 'unsubscribe') {
      this.reply(typeof op === 'string' ? op : '', reqId, false, `error:handler not found,op:${String(op)}`);
      return;
    }
    const args = msg.args;
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
      this.reply(op, reqId, false, 'error:args must be an array of topics');
      return;
    }
    if (op === 'unsubscribe') {
      for (const t of args as string[]) {
        if (!this.topics.delete(t)) continue;
        this.chars -= t.length;
        this.ctx.feeds.unsubscribe(this, t);
      }
      this.reply(op, reqId, true, this.category === 'spot' ? 'unsubscribe' : '');
      return;
    }
    this.subscribe(args as string[], reqId);
  }

  private subscribe(args: string[], reqId: unknown): void {
    this.subscribeArgs.push(args.length);
    if (this.category === 'spot' && args.length > SPOT_ARGS_PER_MESSAGE) {
      this.reply('subscribe', reqId, false, `error:args size >${SPOT_ARGS_PER_MESSAGE}`);
      return;
    }
    const parsed = [];
    let added = 0;
    for (const t of args) {
      const topic = parseTopic(t);
      if (topic === undefined) {
        this.reply('subscribe', reqId, false, `error:handler not found,topic:${t}`);
        return;
      }
      if (this.topics.has(t)) {
        this.reply('subscribe', reqId, false, `error:already subscribed,topic:${t}`);
        return;
      }
      parsed.push(topic);
      added += t.length;
    }
    if (this.chars + added > ARG_CHARS_PER_CONNECTION) {
      this.reply(
        'subscribe',
        reqId,
        false,
        `error:args length exceeds ${ARG_CHARS_PER_CONNECTION} characters`,
      );
      return;
    }
    this.reply('subscribe', reqId, true, this.category === 'spot' ? 'subscribe' : '');
    for (const topic of parsed) {
      this.topics.add(topic.name);
      this.chars += topic.name.length;
      this.ctx.feeds.subscribe(this, topic);
    }
  }
}
