/**
 * Gap recovery of one stream for its backfill subscribers: a gap (or, on a candle stream, a candle whose
 * closing update never came) is refilled from the exchange history (`Exchange.history`) while the stream's
 * live events are held back for them, so they get the missing events first, then the live ones, in
 * order, once each. Subscribers that asked for reports get them from the registry directly.
 */

import { combinedFrame } from '../core/combined-frame.js';
import type { LogDigest } from '../core/log-digest.js';
import type { GapEvent } from '../core/stream-source.js';
import type { HistoryProcedure, ParsedStream, RefillResult, ResumeResult } from '../exchange/exchange.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';

/** Shared by every stream of a registry. */
export interface RefillContext {
  readonly metrics: ManagerMetrics;
  /** A line per refill or failed refill would flood the log when every stream has a gap at once. */
  readonly logs: {
    readonly refilled: LogDigest;
    readonly refillFailed: LogDigest;
    readonly refillTooSlow: LogDigest;
  };
  /** The exchange's history: which kinds refill how, and how a candle event reads. */
  readonly history: HistoryProcedure;
  /**
   * Fetches a gap's events (ids `from` to `to - 1`) from the exchange history; undefined when the
   * stream cannot be refilled (no REST base, or a kind without public history).
   */
  fetch(stream: ParsedStream, from: number, to: number): Promise<RefillResult> | undefined;
  /**
   * Fetches what the history holds between the last event before a lost connection and the first one
   * after (`HistoryProcedure.resume`); undefined when the stream cannot be refilled so.
   */
  resume(stream: ParsedStream, lastSeen: unknown, firstLive: unknown): Promise<ResumeResult> | undefined;
}

/** The stream's backfill subscribers, as the registry reaches them. */
export interface BackfillSubscribers {
  /** Whether the stream has any. */
  present(): boolean;
  deliver(data: unknown, frame: Buffer): void;
  report(gap: GapEvent): void;
}

/** What a stream holds back for its backfill subscribers while a refill runs, in arrival order. */
type Held =
  | { readonly data: unknown; readonly frame: Buffer }
  | { readonly gap: { readonly expected: number; readonly received: number } };

/** Live events held for backfill subscribers during one refill at most; beyond, the refill is abandoned. */
const MAX_HELD = 100_000;

export class StreamRefill {
  /** While a refill runs: the live events (and further gaps) its backfill subscribers wait for. */
  private held: Held[] | undefined;
  /** Candle streams: the candle of the last event, and whether that event closed it. */
  private candle: { t: number; closed: boolean } | undefined;
  /** Candle streams: the interval's length (undefined for months, whose length varies). */
  private readonly intervalMs: number | undefined;
  /** Missed events are found by candle (a closing update that never came), not by sequence id. */
  private readonly byCandles: boolean;
  private readonly stream: string;
  private ended = false;

  constructor(
    private readonly parsed: ParsedStream,
    private readonly ctx: RefillContext,
    private readonly subscribers: BackfillSubscribers,
  ) {
    this.stream = parsed.name;
    this.byCandles = ctx.history.refillBy(parsed.kind) === 'candles';
    this.intervalMs = this.byCandles ? ctx.history.candleIntervalMs(parsed) : undefined;
  }

  /** True while a refill runs: live events go to `hold`, not to the backfill subscribers. */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** The stream was released: a refill still running delivers nothing. */
  end(): void {
    this.ended = true;
    this.held = undefined;
  }

  /** An id gap the backfill subscribers want refilled: ids `expected` to `received - 1`. */
  gap(expected: number, received: number): void {
    if (this.held !== undefined) this.keep({ gap: { expected, received } });
    else this.start(expected, received, []);
  }

  /** Holds a live event back from the backfill subscribers until the running refill delivered. */
  hold(data: unknown, frame: Buffer): void {
    this.keep({ data, frame });
  }

  private keep(item: Held): void {
    const held = this.held!;
    held.push(item);
    if (held.length > MAX_HELD) {
      // The refill takes too long to hold the live stream back any further: those waiting get the gap.
      this.ctx.logs.refillTooSlow.add({ stream: this.stream, held: held.length });
      this.held = undefined;
      this.ctx.metrics.refillFailed('too_large');
      this.release(held);
    }
  }

  /**
   * Candle streams (Binance klines) carry no ids: a candle whose closing update (`"x":true`) never came,
   * or a candle skipped altogether, is what an outage leaves. Backfill subscribers get those candles'
   * closing updates from the history; the others see only the live updates (no `gap` report).
   */
  candleEvent(data: unknown): void {
    const history = this.ctx.history;
    const t = history.candleOpenTime(data);
    if (t === undefined) return;
    const previous = this.candle;
    this.candle = { t, closed: history.candleClosed(data) };
    if (previous === undefined || t <= previous.t) return;
    const step = this.intervalMs;
    const skipped = step !== undefined && t > previous.t + step;
    if (previous.closed && !skipped) return;
    if (!this.subscribers.present()) return;
    this.gap(previous.closed ? previous.t + (step as number) : previous.t, t);
  }

  /**
   * The stream's connection was lost and `firstLive` is the first event since (Bybit trades, which carry
   * no id to show a gap): backfill subscribers get what the history holds after `lastSeen` first, then
   * the live events. A history that no longer reaches back to `lastSeen` is logged and counted
   * (`history_gone`): how many events were lost is unknown, so no gap can be reported.
   */
  resume(lastSeen: unknown, firstLive: unknown): void {
    // A refill running already holds the live events back; the one it ends with covers this one too.
    if (this.held !== undefined) return;
    const pending = this.ctx.resume(this.parsed, lastSeen, firstLive);
    if (pending === undefined) return;
    const held: Held[] = [];
    this.held = held;
    pending.then(
      (result) => this.resumed(held, result),
      () => this.resumed(held, { ok: false, reason: 'unreachable' }),
    );
  }

  private resumed(held: Held[], result: ResumeResult): void {
    if (this.ended || this.held !== held) return;
    this.held = undefined;
    if (result.ok) {
      this.ctx.metrics.refilled(result.events.length);
      this.ctx.logs.refilled.add({
        stream: this.stream,
        refilled: result.events.length,
        complete: result.complete,
      });
      for (const data of result.events)
        this.subscribers.deliver(data, combinedFrame(this.stream, Buffer.from(JSON.stringify(data))));
      if (!result.complete) {
        this.ctx.metrics.refillFailed('history_gone');
        this.ctx.logs.refillFailed.add({ stream: this.stream, reason: 'history_gone', after: 'reconnect' });
      }
    } else {
      this.ctx.metrics.refillFailed(result.reason);
      this.ctx.logs.refillFailed.add({ stream: this.stream, reason: result.reason, after: 'reconnect' });
    }
    this.release(held);
  }

  private start(expected: number, received: number, held: Held[]): void {
    const pending = this.ctx.fetch(this.parsed, expected, received);
    if (pending === undefined) {
      this.reportMissed(expected, received);
      this.release(held);
      return;
    }
    this.held = held;
    pending.then(
      (result) => this.refilled(held, expected, received, result),
      () => this.refilled(held, expected, received, { ok: false, reason: 'unreachable' }),
    );
  }

  private refilled(held: Held[], expected: number, received: number, result: RefillResult): void {
    // Released meanwhile, or this refill was abandoned (too much held back) and a later one may run.
    if (this.ended || this.held !== held) return;
    this.held = undefined;
    const log = { stream: this.stream, expected, received };
    if (result.ok) {
      this.reportMissed(expected, result.firstId);
      this.ctx.metrics.refilled(result.events.length);
      this.ctx.logs.refilled.add({ ...log, refilled: result.events.length });
      for (const data of result.events)
        this.subscribers.deliver(data, combinedFrame(this.stream, Buffer.from(JSON.stringify(data))));
    } else {
      this.ctx.metrics.refillFailed(result.reason);
      this.ctx.logs.refillFailed.add({ ...log, reason: result.reason });
      this.reportMissed(expected, received);
    }
    this.release(held);
  }

  /** Reports ids `expected` to `received - 1` as missed; candles have no ids and no gap report. */
  private reportMissed(expected: number, received: number): void {
    if (this.byCandles || received <= expected) return;
    this.subscribers.report({ stream: this.stream, expected, received, missed: received - expected });
  }

  /** Delivers held events to the backfill subscribers, up to the next held gap, which starts its refill. */
  private release(held: Held[]): void {
    for (let i = 0; i < held.length; i++) {
      // A subscriber's handler may have released the stream: nothing more to deliver or fetch.
      if (this.ended) return;
      const item = held[i]!;
      if ('gap' in item) {
        this.start(item.gap.expected, item.gap.received, held.slice(i + 1));
        return;
      }
      this.subscribers.deliver(item.data, item.frame);
    }
  }
}
