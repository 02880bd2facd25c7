/**
 * The streams a manager holds: their subscribers (ref counts), idle grace, routing of each event to
 * the stream's subscribers, de-duplication and gap detection by sequence id, and which socket a
 * stream is taken from while a rotation runs two sockets side by side.
 */

import type { StreamError } from '../errors.js';
import {
  hasSequenceIds,
  parseStreamName,
  type SequenceRange,
  type StreamKind,
  sequenceRange,
} from '../exchange/binance/streams.js';
import type { Logger } from '../log.js';
import type { CleanupReason } from '../metrics/manager-metrics.js';
import type { GapEvent, StreamInfo, StreamListener } from '../stream-source.js';
import type { RefillResult } from './backfill.js';
import { GapDetector } from './gap-detector.js';
import type { ManagerStats } from './manager-stats.js';
import { FrameMessage } from './stream-message.js';
import type { UpstreamSocket } from './upstream-socket.js';

/** One subscribe() call. `listener` is called with `this` = the listener object the caller gave. */
interface Subscription {
  readonly listener: StreamListener;
  /** `listener.next` bound to the listener once, so delivery is a single call. */
  readonly next: StreamListener['next'];
  active: boolean;
  /** Gaps are refilled for this subscriber (when the stream can be refilled), not reported. */
  readonly backfill: boolean;
}

/** What a stream holds back for its backfill subscribers while a refill runs, in arrival order. */
type Held =
  | { readonly data: unknown; readonly frame: Buffer }
  | { readonly gap: { readonly expected: number; readonly received: number } };

interface StreamEntry {
  readonly name: string;
  readonly kind: StreamKind;
  /** Copy-on-write: replaced, never mutated, so delivery can iterate without copying. */
  subscriptions: readonly Subscription[];
  readonly sequence: GapDetector | undefined;
  /** The socket this stream's events are taken from. */
  source: UpstreamSocket | undefined;
  messages: number;
  lastMessageAt: number | undefined;
  idleSince: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** While a refill runs: the live events (and further gaps) its backfill subscribers wait for. */
  held: Held[] | undefined;
  /** Kline streams: the candle of the last event, and whether that event closed it. */
  candle: { t: number; closed: boolean } | undefined;
  /** Kline streams: the interval's length (undefined for months, whose length varies). */
  readonly intervalMs: number | undefined;
}

const INTERVAL_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

function intervalMs(interval: string | undefined): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(interval ?? '');
  return match === null ? undefined : Number(match[1]) * (INTERVAL_UNIT_MS[match[2]!] as number);
}

export interface RegistryHooks {
  /** The first subscriber arrived: subscribe upstream. */
  onCreate(stream: string): void;
  /** The stream is released: unsubscribe upstream. */
  onRelease(stream: string, reason: CleanupReason): void;
  /** During a rotation, `socket` took over delivering `stream`. */
  onSwitch(stream: string, socket: UpstreamSocket): void;
  /** Where the stream is subscribed upstream now, for listings. */
  connectionOf(stream: string): string | undefined;
  /**
   * Fetches a gap's events (ids `from` to `to - 1`) from the exchange history; undefined when the
   * stream cannot be refilled (no REST base, or a kind without public history).
   */
  refill?(stream: string, kind: StreamKind, from: number, to: number): Promise<RefillResult> | undefined;
}

/** Live events held for backfill subscribers during one refill at most; beyond, the refill is abandoned. */
const MAX_HELD = 100_000;

/** At most one "handler threw" log line per this interval; the rest are counted in the next line. */
const HANDLER_LOG_INTERVAL_MS = 10_000;

export class StreamRegistry {
  private readonly entries = new Map<string, StreamEntry>();
  private subscriberCount = 0;
  private idleCount = 0;
  private lastHandlerLogAt = Number.NEGATIVE_INFINITY;
  private suppressedHandlerErrors = 0;
  /** Coarse wall clock for `lastMessageAt`, refreshed by the manager's housekeeping (a clock read per event costs more than routing it). */
  coarseNow: number;

  constructor(
    private readonly stats: ManagerStats,
    private readonly logger: Logger,
    private readonly idleGraceMs: number,
    private readonly now: () => number,
    private readonly hooks: RegistryHooks,
    private readonly defaultBackfill = false,
  ) {
    this.coarseNow = now();
  }

  get size(): number {
    return this.entries.size;
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  get idle(): number {
    return this.idleCount;
  }

  has(stream: string): boolean {
    return this.entries.has(stream);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Adds a subscriber (the stream name is already validated); returns the function that removes it. */
  /**
   * Adds a subscriber. `next` defaults to `listener.next` bound to the listener; a caller that
   * subscribed with a plain function passes it as is, saving a bound-function hop per delivery.
   */
  add(
    stream: string,
    listener: StreamListener,
    next: StreamListener['next'] = listener.next.bind(listener),
  ): () => void {
    let entry = this.entries.get(stream);
    let created = false;
    if (entry === undefined) {
      const parsed = parseStreamName(stream)!;
      const kind = parsed.kind;
      const ordered = hasSequenceIds(kind) || kind === 'bookTicker';
      entry = {
        name: stream,
        kind,
        subscriptions: [],
        sequence: ordered ? new GapDetector(hasSequenceIds(kind)) : undefined,
        source: undefined,
        messages: 0,
        lastMessageAt: undefined,
        idleSince: undefined,
        idleTimer: undefined,
        held: undefined,
        candle: undefined,
        intervalMs: kind === 'kline' ? intervalMs(parsed.param) : undefined,
      };
      this.entries.set(stream, entry);
      created = true;
    } else if (entry.idleSince !== undefined) {
      this.leaveIdle(entry);
    }
    const backfill =
      listener.recovery === undefined ? this.defaultBackfill : listener.recovery === 'backfill';
    const subscription: Subscription = { listener, next, active: true, backfill };
    entry.subscriptions = [...entry.subscriptions, subscription];
    this.subscriberCount++;
    this.updateGauges();
    if (created) {
      this.stats.created();
      this.hooks.onCreate(stream);
    }
    const owner = entry;
    return () => this.removeSubscription(owner, subscription);
  }

  private removeSubscription(entry: StreamEntry, subscription: Subscription): void {
    if (!subscription.active) return;
    subscription.active = false;
    entry.subscriptions = entry.subscriptions.filter((s) => s !== subscription);
    this.subscriberCount--;
    if (entry.subscriptions.length === 0 && this.entries.get(entry.name) === entry) this.enterIdle(entry);
    this.updateGauges();
  }

  private enterIdle(entry: StreamEntry): void {
    entry.idleSince = this.now();
    this.idleCount++;
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      this.release(entry, 'idle');
    }, this.idleGraceMs);
  }

  private leaveIdle(entry: StreamEntry): void {
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.idleSince = undefined;
    this.idleCount--;
  }

  /** Releases idle streams idle for at least `idleMs`; returns how many. */
  releaseIdle(idleMs: number, reason: CleanupReason): number {
    const now = this.now();
    let released = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.idleSince !== undefined && now - entry.idleSince >= idleMs) {
        this.release(entry, reason);
        released++;
      }
    }
    return released;
  }

  /** Idle streams whose grace has passed but that are still held (cleanup lag). */
  overdueIdle(): number {
    if (this.idleCount === 0) return 0;
    const now = this.now();
    let overdue = 0;
    for (const entry of this.entries.values()) {
      if (entry.idleSince !== undefined && now - entry.idleSince > this.idleGraceMs) overdue++;
    }
    return overdue;
  }

  /**
   * Releases the stream, then ends it for its subscribers with `error`. Releasing first means an
   * `error` callback that subscribes again (rxjs `retry()` does) creates a fresh stream instead of
   * joining the one being torn down.
   */
  fail(stream: string, error: StreamError, reason: CleanupReason): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    const ended = entry.subscriptions.filter((s) => s.active);
    this.release(entry, reason);
    for (const s of ended) {
      try {
        s.listener.error?.(error);
      } catch (err) {
        this.handlerThrew(stream, err);
      }
    }
  }

  private release(entry: StreamEntry, reason: CleanupReason): void {
    if (this.entries.get(entry.name) !== entry) return;
    if (entry.idleSince !== undefined) this.leaveIdle(entry);
    this.subscriberCount -= entry.subscriptions.filter((s) => s.active).length;
    for (const s of entry.subscriptions) s.active = false;
    entry.subscriptions = [];
    this.entries.delete(entry.name);
    this.stats.cleanedUp(reason);
    this.updateGauges();
    this.hooks.onRelease(entry.name, reason);
  }

  /** Routes one event to the stream's subscribers: the hot path. */
  dispatch(socket: UpstreamSocket, stream: string, data: unknown, frame: Buffer): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    this.stats.message();
    let range: SequenceRange | undefined;
    if (entry.sequence !== undefined && typeof data === 'object' && data !== null) {
      range = sequenceRange(entry.kind, data as Record<string, unknown>);
    }
    if (entry.source !== socket && !this.takeFrom(entry, socket, range)) return;
    if (range !== undefined) {
      const verdict = entry.sequence!.check(range);
      if (verdict.kind === 'duplicate') return;
      if (verdict.kind === 'gap') this.gapFound(entry, verdict.expected, verdict.received, verdict.missed);
    }
    if (entry.kind === 'kline') this.checkCandle(entry, data);
    entry.messages++;
    entry.lastMessageAt = this.coarseNow;
    if (entry.subscriptions.length === 0) return;
    if (entry.held === undefined) {
      this.deliver(entry, data, new FrameMessage(stream, data, frame), undefined);
      return;
    }
    this.deliver(entry, data, new FrameMessage(stream, data, frame), false);
    this.hold(entry, { data, frame });
  }

  /** Calls `next` of the stream's subscribers: all, or only those whose `backfill` equals `backfill`. */
  private deliver(
    entry: StreamEntry,
    data: unknown,
    message: FrameMessage,
    backfill: boolean | undefined,
  ): void {
    const subscriptions = entry.subscriptions;
    for (let i = 0; i < subscriptions.length; i++) {
      const s = subscriptions[i]!;
      // A handler may unsubscribe another subscriber of this stream while the loop runs (the array is
      // replaced then, so the per-subscriber check is only paid after a change).
      if (entry.subscriptions !== subscriptions && !s.active) continue;
      if (backfill !== undefined && s.backfill !== backfill) continue;
      try {
        s.next(data, message);
      } catch (err) {
        this.handlerThrew(entry.name, err);
      }
    }
  }

  private hold(entry: StreamEntry, item: Held): void {
    const held = entry.held!;
    held.push(item);
    if (held.length > MAX_HELD) {
      // The refill takes too long to hold the live stream back any further: those waiting get the gap.
      this.logger.warn({ stream: entry.name, held: held.length }, 'WSManager refill too slow; gap reported');
      entry.held = undefined;
      this.stats.refillFailed('too_large');
      this.releaseHeld(entry, held);
    }
  }

  /**
   * A gap: reported to subscribers that asked for reports, refilled from the exchange history for
   * those that asked for a backfill (their live events are held back meanwhile, so they get the
   * missing events first, then the live ones, in order, once each).
   */
  private gapFound(entry: StreamEntry, expected: number, received: number, missed: number): void {
    this.stats.gap(missed);
    const gap: GapEvent = { stream: entry.name, expected, received, missed };
    if (!entry.subscriptions.some((s) => s.backfill)) {
      this.notifyGap(entry, gap, undefined);
      return;
    }
    this.notifyGap(entry, gap, false);
    if (entry.held !== undefined) {
      this.hold(entry, { gap: { expected, received } });
      return;
    }
    this.startRefill(entry, expected, received, []);
  }

  /**
   * Kline streams carry no ids: a candle whose closing update (`"x":true`) never came, or a candle
   * skipped altogether, is what an outage leaves. Backfill subscribers get those candles' closing
   * updates from the history; the others see the stream as before (klines have no `gap` report).
   */
  private checkCandle(entry: StreamEntry, data: unknown): void {
    const k = (data as { k?: { t?: unknown; x?: unknown } } | null)?.k;
    if (typeof k?.t !== 'number' || typeof k.x !== 'boolean') return;
    const previous = entry.candle;
    entry.candle = { t: k.t, closed: k.x };
    if (previous === undefined || k.t <= previous.t) return;
    const step = entry.intervalMs;
    const skipped = step !== undefined && k.t > previous.t + step;
    if (previous.closed && !skipped) return;
    if (!entry.subscriptions.some((s) => s.backfill)) return;
    const from = previous.closed ? previous.t + (step as number) : previous.t;
    if (entry.held !== undefined) this.hold(entry, { gap: { expected: from, received: k.t } });
    else this.startRefill(entry, from, k.t, []);
  }

  private startRefill(entry: StreamEntry, expected: number, received: number, held: Held[]): void {
    const pending = this.hooks.refill?.(entry.name, entry.kind, expected, received);
    if (pending === undefined) {
      if (entry.kind !== 'kline')
        this.notifyGap(entry, { stream: entry.name, expected, received, missed: received - expected }, true);
      this.releaseHeld(entry, held);
      return;
    }
    entry.held = held;
    pending.then(
      (result) => this.refilled(entry, held, expected, received, result),
      () => this.refilled(entry, held, expected, received, { ok: false, reason: 'unreachable' }),
    );
  }

  private refilled(
    entry: StreamEntry,
    held: Held[],
    expected: number,
    received: number,
    result: RefillResult,
  ): void {
    // Released meanwhile, or this refill was abandoned (too much held back) and a later one may run.
    if (this.entries.get(entry.name) !== entry || entry.held !== held) return;
    entry.held = undefined;
    // Klines have no ids: what could not be refilled is not reported (there never was a kline gap report).
    const reports = entry.kind !== 'kline';
    if (result.ok) {
      if (reports && result.firstId > expected) {
        const missed = result.firstId - expected;
        this.notifyGap(entry, { stream: entry.name, expected, received: result.firstId, missed }, true);
      }
      this.stats.refilled(result.events.length);
      this.logger.info(
        { stream: entry.name, expected, received, refilled: result.events.length },
        'WSManager gap refilled from the exchange history',
      );
      for (const data of result.events) {
        const frame = Buffer.from(`{"stream":${JSON.stringify(entry.name)},"data":${JSON.stringify(data)}}`);
        this.deliver(entry, data, new FrameMessage(entry.name, data, frame), true);
      }
    } else {
      this.stats.refillFailed(result.reason);
      this.logger.warn(
        { stream: entry.name, expected, received, reason: result.reason },
        'WSManager gap could not be refilled; reported',
      );
      if (reports)
        this.notifyGap(entry, { stream: entry.name, expected, received, missed: received - expected }, true);
    }
    this.releaseHeld(entry, held);
  }

  /** Delivers held events to the backfill subscribers, up to the next held gap, which starts its refill. */
  private releaseHeld(entry: StreamEntry, held: Held[]): void {
    for (let i = 0; i < held.length; i++) {
      const item = held[i]!;
      if ('gap' in item) {
        this.startRefill(entry, item.gap.expected, item.gap.received, held.slice(i + 1));
        return;
      }
      this.deliver(entry, item.data, new FrameMessage(entry.name, item.data, item.frame), true);
    }
  }

  /**
   * Decides whether an event from `socket`, which is not the stream's current source, is delivered.
   * A socket takes over at once when the source is gone (closed, or a socket of another connection:
   * the stream moved, and sockets only pass on streams they still carry). During a rotation (two
   * sockets of one connection) the newer one takes over as soon as its events line up with what was
   * already delivered (same or next sequence id), so nothing is lost or doubled.
   */
  private takeFrom(entry: StreamEntry, socket: UpstreamSocket, range: SequenceRange | undefined): boolean {
    const source = entry.source;
    if (source === undefined || source.state !== 'open' || source.connection !== socket.connection) {
      entry.source = socket;
      // No overlap with the previous socket: an id at or before the last one delivered is not a
      // duplicate but a restarted upstream sequence.
      const last = entry.sequence?.lastId;
      if (range !== undefined && last !== undefined && range.last <= last)
        this.sequenceReset(entry, last, range);
      return true;
    }
    if (socket.serial < source.serial) return false;
    const last = entry.sequence?.lastId;
    if (range !== undefined && last !== undefined) {
      if (range.last <= last) {
        // The new socket caught up: later events come from it; this one was already delivered.
        this.switchTo(entry, socket);
        return false;
      }
      // Ahead of the old socket: it still delivers the events in between, so wait for them.
      if (hasSequenceIds(entry.kind) && range.first > last + 1) return false;
    }
    this.switchTo(entry, socket);
    return true;
  }

  private switchTo(entry: StreamEntry, socket: UpstreamSocket): void {
    entry.source = socket;
    this.hooks.onSwitch(entry.name, socket);
  }

  /**
   * The upstream sequence went back (the exchange restarted its feed): tracking starts again from
   * `range`, and gap listeners of gap-tracked streams get a `GapEvent` with `received < expected`
   * and a negative `missed` (how much was lost in between is unknown).
   */
  private sequenceReset(entry: StreamEntry, last: number, range: SequenceRange): void {
    entry.sequence!.restart();
    this.stats.sequenceReset();
    this.logger.info(
      { stream: entry.name, lastId: last, receivedId: range.first },
      'WSManager sequence ids went back after a reconnect; tracking restarted',
    );
    if (!hasSequenceIds(entry.kind)) return;
    this.notifyGap(entry, {
      stream: entry.name,
      expected: last + 1,
      received: range.first,
      missed: range.first - last - 1,
    });
  }

  /** Calls `gap` of the stream's subscribers: all, or only those whose `backfill` equals `backfill`. */
  private notifyGap(entry: StreamEntry, gap: GapEvent, backfill?: boolean): void {
    for (const s of entry.subscriptions) {
      if (s.listener.gap === undefined || (backfill !== undefined && s.backfill !== backfill)) continue;
      try {
        s.listener.gap(gap);
      } catch (err) {
        this.handlerThrew(entry.name, err);
      }
    }
  }

  private handlerThrew(stream: string, err: unknown): void {
    this.stats.error('handler_threw');
    const now = this.now();
    if (now - this.lastHandlerLogAt < HANDLER_LOG_INTERVAL_MS) {
      this.suppressedHandlerErrors++;
      return;
    }
    this.lastHandlerLogAt = now;
    const suppressed = this.suppressedHandlerErrors;
    this.suppressedHandlerErrors = 0;
    this.logger.warn(
      { stream, err, suppressed },
      'WSManager subscriber handler threw; other subscribers unaffected',
    );
  }

  list(): StreamInfo[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => ({
      stream: e.name,
      subscribers: e.subscriptions.length,
      connection: this.hooks.connectionOf(e.name),
      lastMessageAt: e.lastMessageAt,
      idleMs: e.idleSince === undefined ? undefined : now - e.idleSince,
      messages: e.messages,
    }));
  }

  /** Releases every stream (manager destroyed): subscribers get `error`, cleanups counted as 'destroyed'. */
  destroyAll(makeError: (stream: string) => StreamError): void {
    for (const name of [...this.entries.keys()]) this.fail(name, makeError(name), 'destroyed');
  }

  private updateGauges(): void {
    this.stats.streams(this.entries.size, this.idleCount, this.subscriberCount);
  }
}
