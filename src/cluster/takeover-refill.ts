/**
 * Refilling what a dead owner left out. A node taking a shard whose lease expired (no handover) reads
 * each stream's last event from the JetStream history; its own first live event then shows the window
 * nobody read from the exchange: ids between the two (trade, aggTrade), or candles whose closing update
 * never came (kline). That window is fetched from the exchange's REST history (`Exchange.history`, as
 * WSManager refills its own gaps) and published before the live events, with the sequence continued,
 * so gateways see contiguous ids. Kinds whose events carry no contiguous id (Bybit `publicTrade`) show
 * no window: the exchange's history is searched between the two events (`HistoryProcedure.resume`, as
 * WSManager does after a lost connection), and a window older than that history reaches is reported.
 * What cannot be refilled is counted by reason and logged, one line per interval however many streams
 * fail at once; gateways then report the ids skipped, as before.
 */

import type { Logger } from '../core/log.js';
import { LogDigest } from '../core/log-digest.js';
import type {
  Exchange,
  HistoryProcedure,
  ParsedStream,
  RefillResult,
  RestGetter,
  ResumeResult,
  SequencePolicy,
} from '../exchange/exchange.js';
import type { ClusterMetrics, RefillFailureReason } from './cluster-metrics.js';

/** Ids `from` to `to - 1` (for candles: open times in [from, to)) that the stream's history should fill. */
export interface RefillWindow {
  readonly from: number;
  readonly to: number;
}

/**
 * A window of a kind refilled by resume: only the dead owner's last event and this node's first live
 * one bound it, and the history tells what lies between.
 */
export interface ResumeWindow {
  readonly lastSeen: object;
  readonly firstLive: unknown;
}

/** Live payloads held back during one refill at most; beyond, the refill is abandoned and the window reported. */
const MAX_HELD = 100_000;

/**
 * The window between the dead owner's last event `after` and this node's first live event `first`,
 * or undefined when nothing is missing (or the events carry nothing to tell). Pure.
 */
export function refillWindow(
  history: HistoryProcedure,
  sequence: SequencePolicy,
  stream: ParsedStream,
  after: object,
  first: unknown,
): RefillWindow | undefined {
  const by = history.refillBy(stream.kind);
  if (by === 'ids') {
    if (typeof first !== 'object' || first === null) return undefined;
    const last = sequence.range(stream.kind, after as Record<string, unknown>);
    const next = sequence.range(stream.kind, first as Record<string, unknown>);
    if (last === undefined || next === undefined || next.first <= last.last + 1) return undefined;
    return { from: last.last + 1, to: next.first };
  }
  if (by === 'candles') {
    // As WSManager judges a candle stream: a candle whose closing update never came, or candles skipped.
    const t0 = history.candleOpenTime(after);
    const t1 = history.candleOpenTime(first);
    if (t0 === undefined || t1 === undefined || t1 <= t0) return undefined;
    const step = history.candleIntervalMs(stream);
    const closed = history.candleClosed(after);
    const skipped = step !== undefined && t1 > t0 + step;
    if (closed && !skipped) return undefined;
    if (closed && step === undefined) return undefined;
    return { from: closed ? t0 + (step as number) : t0, to: t1 };
  }
  return undefined;
}

export interface TakeoverRefillOptions {
  readonly exchange: Exchange;
  /** The exchange's REST API; unset: no window can be refilled (each is counted and logged). */
  readonly rest: RestGetter | undefined;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger;
}

export class TakeoverRefill {
  private readonly refilledLog: LogDigest;
  private readonly failedLog: LogDigest;

  constructor(private readonly o: TakeoverRefillOptions) {
    this.refilledLog = new LogDigest(
      o.logger,
      'info',
      "Takeover window refilled from the exchange's history",
    );
    this.failedLog = new LogDigest(
      o.logger,
      'warn',
      "Takeover window not refilled from the exchange's history: gateways report the ids skipped",
    );
  }

  /**
   * Whether `stream`'s kind can be refilled (the exchange keeps a public history of it). A kind found
   * by resume (no contiguous ids) is not refilled after a handover: gateways tell that overlap by the
   * venue's own frames, which a refilled, re-encoded event is not, and the previous owner's line
   * covers the window anyway.
   */
  covers(stream: string, afterHandover: boolean): boolean {
    const parsed = this.o.exchange.streams.parse(stream);
    if (parsed?.symbol === undefined) return false;
    const history = this.o.exchange.history;
    if (history.refillBy(parsed.kind) !== undefined) return true;
    return !afterHandover && history.resume?.kinds.has(parsed.kind) === true;
  }

  windowOf(stream: string, after: object, first: unknown): RefillWindow | ResumeWindow | undefined {
    const parsed = this.o.exchange.streams.parse(stream);
    if (parsed === undefined) return undefined;
    const history = this.o.exchange.history;
    if (history.refillBy(parsed.kind) === undefined && history.resume?.kinds.has(parsed.kind) === true)
      return { lastSeen: after, firstLive: first };
    return refillWindow(history, this.o.exchange.sequence, parsed, after, first);
  }

  /** Holds a live payload during a refill; false when too much is held (the refill is abandoned). */
  hold(stream: string, held: Buffer[], payload: Buffer): boolean {
    held.push(payload);
    if (held.length <= MAX_HELD) return true;
    this.failed(stream, undefined, 'too_large');
    return false;
  }

  /** The window's events in order, or none when it cannot be refilled (counted and logged); never rejects. */
  async fetch(
    stream: string,
    window: RefillWindow | ResumeWindow,
  ): Promise<readonly Record<string, unknown>[]> {
    const parsed = this.o.exchange.streams.parse(stream);
    const rest = this.o.rest;
    const byIds = 'from' in window;
    if (parsed === undefined || rest === undefined) {
      this.failed(stream, byIds ? window : undefined, 'unavailable');
      return [];
    }
    if (!byIds) return this.resume(stream, rest, parsed, window);
    let result: RefillResult;
    try {
      result = await this.o.exchange.history.fetch(rest, parsed, window.from, window.to);
    } catch {
      result = { ok: false, reason: 'unreachable' };
    }
    if (!result.ok) {
      this.failed(stream, window, result.reason);
      return [];
    }
    this.o.metrics.refilled.inc(result.events.length);
    this.refilledLog.add({ stream, ...window, refilled: result.events.length });
    // The oldest ids are no longer in the history: the rest is refilled, the start reported by gateways.
    if (this.o.exchange.history.refillBy(parsed.kind) === 'ids' && result.firstId > window.from)
      this.failed(stream, { from: window.from, to: result.firstId }, 'history_gone');
    return result.events;
  }

  private async resume(
    stream: string,
    rest: RestGetter,
    parsed: ParsedStream,
    window: ResumeWindow,
  ): Promise<readonly Record<string, unknown>[]> {
    let result: ResumeResult;
    try {
      const resume = this.o.exchange.history.resume;
      result =
        resume === undefined
          ? { ok: false, reason: 'history_gone' }
          : await resume.fetch(rest, parsed, window.lastSeen, window.firstLive);
    } catch {
      result = { ok: false, reason: 'unreachable' };
    }
    if (!result.ok) {
      this.failed(stream, undefined, result.reason);
      return [];
    }
    if (result.events.length > 0) {
      this.o.metrics.refilled.inc(result.events.length);
      this.refilledLog.add({ stream, refilled: result.events.length, complete: result.complete });
    }
    // The history no longer reached back to the dead owner's last event: older ones are lost for good.
    if (!result.complete) this.failed(stream, undefined, 'history_gone');
    return result.events;
  }

  /**
   * @param window undefined when the refill was abandoned while it ran (too many live events held), or
   * when the kind has no ids to bound it.
   */
  private failed(stream: string, window: RefillWindow | undefined, reason: RefillFailureReason): void {
    this.o.metrics.refillFailures.inc({ reason });
    this.failedLog.add({ stream, reason, ...window });
  }
}
