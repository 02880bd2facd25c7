/**
 * The streams a manager holds: their subscribers (ref counts), idle grace, routing of each event to
 * the stream's subscribers, de-duplication and gap detection by sequence id, and which socket a
 * stream is taken from while a rotation runs two sockets side by side.
 */

import { busiest } from '../core/busiest-streams.js';
import type { StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { LogDigest } from '../core/log-digest.js';
import type { GapEvent, StreamInfo, StreamListener } from '../core/stream-source.js';
import { readsPayload } from '../core/subscriber.js';
import { SubscriberList } from '../core/subscriber-list.js';
import type { Exchange, FrameCodec, SequencePolicy, SequenceRange } from '../exchange/exchange.js';
import type { CleanupReason, ManagerMetrics } from '../metrics/manager-metrics.js';
import { sequenceVerdict } from './gap-detector.js';
import { COMBINED, FrameMessage } from './stream-message.js';
import { type RefillContext, StreamRefill } from './stream-refill.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { ConnectionSocket } from './upstream-socket.js';

/** One subscribe() call with a listener object; `next` is called as its method. */
class Subscription {
  constructor(
    readonly listener: StreamListener,
    /** Gaps are refilled for this subscriber (when the stream can be refilled), not reported. */
    readonly backfill: boolean,
  ) {}
}

/**
 * One subscribe() call: a `Subscription`, or the plain function the caller subscribed (it has no
 * `gap` or `error`, and takes the manager's default recovery), held as is so that a stream costs no
 * object per subscriber in the common case.
 */
type Member = Subscription | StreamListener['next'];

/** What the exchange says about one kind of stream: one object per kind, shared by its streams. */
interface KindRules {
  readonly kind: string;
  /** Its ids grow by one per event: a jump is a gap (`SequenceRule` `contiguous`). */
  readonly contiguous: boolean;
  /** Missed events show as candles whose closing update never came (`HistoryProcedure.refillBy`). */
  readonly candles: boolean;
  /** Missed events show only as a lost connection, refilled from the history (`HistoryProcedure.resume`). */
  readonly resumes: boolean;
  /** Its events carry sequence ids: duplicates are dropped and gaps found (`SequencePolicy.ruleOf`). */
  readonly sequenced: boolean;
}

/** State few streams have at a time (idle grace, a refill): kept apart, made when first needed. */
class StreamExtras {
  idleSince: number | undefined = undefined;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Gap recovery for backfill subscribers. */
  refill: StreamRefill | undefined = undefined;
}

const NO_MEMBERS: readonly Member[] = Object.freeze([]);

/**
 * One stream and its state. A manager holds thousands, nearly all with one subscriber, so an entry is
 * kept small: that subscriber is held directly (a list only from the second on), the sequence check is
 * a field, and what few streams need is in `extras`.
 */
class StreamEntry {
  /** Its subscribers: none, one member, or a list once a second arrived. */
  subs: Member | SubscriberList<Member> | undefined = undefined;
  /** The socket this stream's events are taken from. */
  source: ConnectionSocket | undefined = undefined;
  /** The upstream connection that carries it (set by `onCreate`, right after the entry is made). */
  carrier: UpstreamConnection | undefined = undefined;
  messages = 0;
  lastMessageAt: number | undefined = undefined;
  /** The last sequence id accepted (streams of `sequenced` kinds), undefined before the first. */
  lastId: number | undefined = undefined;
  /** How many subscribers read payloads (`readsPayload`): with none, events may go unparsed. */
  readers = 0;
  extras: StreamExtras | undefined = undefined;

  constructor(
    readonly name: string,
    readonly rules: KindRules,
  ) {}

  get size(): number {
    const subs = this.subs;
    if (subs === undefined) return 0;
    return subs instanceof SubscriberList ? subs.size : 1;
  }

  /** The subscribers in subscription order (a fresh array for a lone one: not for the per-event path). */
  get members(): readonly Member[] {
    const subs = this.subs;
    if (subs === undefined) return NO_MEMBERS;
    return subs instanceof SubscriberList ? subs.members : [subs];
  }

  /** `extras`, made now when the stream has none yet. */
  madeExtras(): StreamExtras {
    if (this.extras === undefined) this.extras = new StreamExtras();
    return this.extras;
  }

  get idleSince(): number | undefined {
    return this.extras?.idleSince;
  }

  get refill(): StreamRefill | undefined {
    return this.extras?.refill;
  }

  /** Whether `member` is subscribed now. */
  has(member: Member): boolean {
    const subs = this.subs;
    return subs instanceof SubscriberList ? subs.members.includes(member) : subs === member;
  }

  add(member: Member): void {
    const subs = this.subs;
    if (subs === undefined) this.subs = member;
    else if (subs instanceof SubscriberList) subs.add(member);
    else {
      const list = new SubscriberList<Member>();
      list.add(subs);
      list.add(member);
      this.subs = list;
    }
  }

  /** Removes `member`; false when it was not subscribed (removed already, or the stream released). */
  remove(member: Member): boolean {
    const subs = this.subs;
    if (subs === member) {
      this.subs = undefined;
      return true;
    }
    if (!(subs instanceof SubscriberList) || !subs.remove(member)) return false;
    // A list is not made single again: a delivery loop running over it asks it who is still subscribed,
    // so it must see every later removal. Emptied, it is dropped (such a loop finds nobody left in it).
    if (subs.size === 0) this.subs = undefined;
    return true;
  }

  /** Drops every subscriber; a delivery loop running meanwhile skips them. */
  clear(): void {
    const subs = this.subs;
    if (subs instanceof SubscriberList) subs.clear();
    this.subs = undefined;
  }
}

const entrySubscribers = (e: StreamEntry): number => e.size;
/** Where the stream is subscribed upstream now (acknowledged on its connection's socket), for listings. */
const connectionOf = (e: StreamEntry): string | undefined =>
  e.carrier?.socket?.subscribed.has(e.name) ? e.carrier.id : undefined;
const entryName = (e: StreamEntry): string => e.name;

export interface RegistryHooks {
  /** The first subscriber arrived: subscribe upstream; returns the connection that carries it. */
  onCreate(stream: string): UpstreamConnection;
  /** The stream is released: unsubscribe upstream from `carrier`, the connection `onCreate` gave. */
  onRelease(stream: string, reason: CleanupReason, carrier: UpstreamConnection): void;
  /** Fetches a gap's events from the exchange history (`RefillContext.fetch`). */
  refill?: RefillContext['fetch'];
  /** Fetches what a lost connection took (`RefillContext.resume`). */
  resume?: RefillContext['resume'];
}

export class StreamRegistry {
  private readonly entries = new Map<string, StreamEntry>();
  /**
   * Streams of resumable kinds: the last event delivered, where a refill after a lost connection starts
   * (kept here, not in every entry, so the streams of other kinds cost nothing more).
   */
  private readonly lastSeen = new Map<StreamEntry, unknown>();
  private readonly kinds = new Map<string, KindRules>();
  private subscriberCount = 0;
  /** The last `busiest` ranking; dropped by every change of the streams or their subscribers. */
  private ranking: { limit: number; top: StreamEntry[] } | undefined;
  private idleCount = 0;
  private readonly refillContext: RefillContext;
  /** Lines that can repeat per event or per stream: one line per interval each (see LogDigest). */
  private readonly handlerThrewLog: LogDigest;
  private readonly sequenceResetLog: LogDigest;
  /** The exchange's functions the hot path calls, held here so a call is one field read away. */
  private readonly sequenceRange: SequencePolicy['range'];
  private readonly sequenceRangeIn: SequencePolicy['rangeIn'];
  private readonly frames: FrameCodec;
  /** Coarse wall clock for `lastMessageAt`, refreshed by the manager's housekeeping (a clock read per event costs more than routing it). */
  coarseNow: number;

  constructor(
    private readonly metrics: ManagerMetrics,
    logger: Logger,
    private readonly idleGraceMs: number,
    private readonly now: () => number,
    private readonly exchange: Exchange,
    private readonly hooks: RegistryHooks,
    private readonly defaultBackfill = false,
  ) {
    this.coarseNow = now();
    this.sequenceRange = exchange.sequence.range;
    this.sequenceRangeIn = exchange.sequence.rangeIn;
    this.frames = exchange.frames;
    this.refillContext = {
      metrics,
      history: exchange.history,
      logs: {
        refilled: new LogDigest(logger, 'info', 'WSManager gap refilled from the exchange history'),
        refillFailed: new LogDigest(logger, 'warn', 'WSManager gap could not be refilled; reported'),
        refillTooSlow: new LogDigest(logger, 'warn', 'WSManager refill too slow; gap reported'),
      },
      fetch: (stream, from, to) => hooks.refill?.(stream, from, to),
      resume: (stream, lastSeen, firstLive) => hooks.resume?.(stream, lastSeen, firstLive),
    };
    this.handlerThrewLog = new LogDigest(
      logger,
      'warn',
      'WSManager subscriber handler threw; other subscribers unaffected',
    );
    this.sequenceResetLog = new LogDigest(
      logger,
      'info',
      'WSManager sequence ids went back after a reconnect; tracking restarted',
    );
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

  /**
   * Adds a subscriber (the stream name is already validated); returns the function that removes it.
   * A plain function (the caller subscribed one) is held and called as is.
   */
  add(stream: string, listener: StreamListener | StreamListener['next']): () => void {
    let entry = this.entries.get(stream);
    let created = false;
    if (entry === undefined) {
      entry = new StreamEntry(stream, this.rulesOf(this.exchange.streams.parse(stream)!.kind));
      this.entries.set(stream, entry);
      created = true;
    } else if (entry.idleSince !== undefined) {
      this.leaveIdle(entry);
    }
    let member: Member;
    if (typeof listener === 'function') {
      // The same function subscribed twice is two subscriptions, each removed by its own unsubscribe.
      member = entry.has(listener) ? new Subscription({ next: listener }, this.defaultBackfill) : listener;
    } else {
      const backfill =
        listener.recovery === undefined ? this.defaultBackfill : listener.recovery === 'backfill';
      member = new Subscription(listener, backfill);
    }
    entry.add(member);
    if (this.readsPayload(member)) entry.readers++;
    this.subscriberCount++;
    this.updateGauges();
    if (created) {
      this.metrics.created();
      entry.carrier = this.hooks.onCreate(stream);
    }
    const owner = entry;
    return () => this.removeSubscription(owner, member);
  }

  private readsPayload(member: Member): boolean {
    return typeof member === 'function' || readsPayload(member.listener);
  }

  private backfillOf(member: Member): boolean {
    return typeof member === 'function' ? this.defaultBackfill : member.backfill;
  }

  /** Whether some subscriber of `entry` has gaps refilled. */
  private someBackfill(entry: StreamEntry): boolean {
    const subs = entry.subs;
    if (subs === undefined) return false;
    if (!(subs instanceof SubscriberList)) return this.backfillOf(subs);
    return subs.members.some((m) => this.backfillOf(m));
  }

  private rulesOf(kind: string): KindRules {
    let rules = this.kinds.get(kind);
    if (rules === undefined) {
      rules = {
        kind,
        contiguous: this.exchange.sequence.ruleOf(kind) === 'contiguous',
        sequenced: this.exchange.sequence.ruleOf(kind) !== undefined,
        candles: this.exchange.history.refillBy(kind) === 'candles',
        resumes: this.exchange.history.resume?.kinds.has(kind) === true,
      };
      this.kinds.set(kind, rules);
    }
    return rules;
  }

  private removeSubscription(entry: StreamEntry, member: Member): void {
    if (!entry.remove(member)) return;
    if (this.readsPayload(member)) entry.readers--;
    this.subscriberCount--;
    if (entry.size === 0 && this.entries.get(entry.name) === entry) this.enterIdle(entry);
    this.updateGauges();
  }

  private enterIdle(entry: StreamEntry): void {
    const extras = entry.madeExtras();
    extras.idleSince = this.now();
    this.idleCount++;
    extras.idleTimer = setTimeout(() => {
      extras.idleTimer = undefined;
      this.release(entry, 'idle');
    }, this.idleGraceMs);
  }

  private leaveIdle(entry: StreamEntry): void {
    const extras = entry.extras!;
    if (extras.idleTimer !== undefined) clearTimeout(extras.idleTimer);
    extras.idleTimer = undefined;
    extras.idleSince = undefined;
    this.idleCount--;
    // Kept only while it holds something: a stream that went idle once costs nothing more.
    if (extras.refill === undefined) entry.extras = undefined;
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
    const ended = entry.members;
    this.release(entry, reason);
    for (const s of ended) {
      if (typeof s === 'function') continue;
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
    this.subscriberCount -= entry.size;
    entry.clear();
    entry.readers = 0;
    entry.refill?.end();
    this.lastSeen.delete(entry);
    this.entries.delete(entry.name);
    this.metrics.cleanedUp(reason);
    this.updateGauges();
    this.hooks.onRelease(entry.name, reason, entry.carrier!);
  }

  /**
   * Whether the stream's events must be parsed: some subscriber reads the payload, its candles are
   * watched for refills, or a refill holds events back. Otherwise they may come to `dispatchUnparsed`.
   */
  readsData(stream: string): boolean {
    const entry = this.entries.get(stream);
    if (entry === undefined) return false;
    return (
      entry.readers > 0 ||
      entry.rules.candles ||
      entry.refill?.holding === true ||
      (entry.rules.resumes && this.someBackfill(entry))
    );
  }

  /** Routes one event to the stream's subscribers: the hot path. */
  dispatch(socket: ConnectionSocket, stream: string, data: unknown, frame: Buffer): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    let range: SequenceRange | undefined;
    if (entry.rules.sequenced && typeof data === 'object' && data !== null) {
      range = this.sequenceRange(entry.rules.kind, data as Record<string, unknown>);
    }
    this.route(entry, socket, range, data, frame);
  }

  /**
   * Routes one event whose payload `frame[start..end)` was left unparsed, as `readsData` allowed: its
   * sequence ids are read from the bytes, and subscribers (frame listeners only) get no payload.
   */
  dispatchUnparsed(
    socket: ConnectionSocket,
    stream: string,
    frame: Buffer,
    start: number,
    end: number,
  ): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    const range = entry.rules.sequenced
      ? this.sequenceRangeIn(entry.rules.kind, frame, start, end)
      : undefined;
    this.route(entry, socket, range, undefined, frame, start, end);
  }

  private route(
    entry: StreamEntry,
    socket: ConnectionSocket,
    range: SequenceRange | undefined,
    data: unknown,
    frame: Buffer,
    /** Where the payload lies in `frame`, when the reader found it (an unparsed event); else -1. */
    payloadStart = -1,
    payloadEnd = -1,
  ): void {
    const stream = entry.name;
    this.metrics.message();
    if (entry.source !== socket) {
      // The stream's socket ended before this one delivered (not a rotation): events may be lost.
      const lost = entry.rules.resumes && this.sourceLost(entry, socket);
      if (!this.takeFrom(entry, socket, range)) return;
      if (lost) this.resumeAfterLoss(entry, data, frame, payloadStart);
    }
    if (range !== undefined) {
      const verdict = sequenceVerdict(entry.lastId, range, entry.rules.contiguous);
      if (verdict.kind === 'duplicate') return;
      entry.lastId = range.last;
      if (verdict.kind === 'gap') this.gapFound(entry, verdict.expected, verdict.received, verdict.missed);
    }
    if (entry.rules.candles) this.refillOf(entry).candleEvent(data);
    if (entry.rules.resumes && data !== undefined) this.lastSeen.set(entry, data);
    entry.messages++;
    entry.lastMessageAt = this.coarseNow;
    if (entry.subs === undefined) return;
    const refill = entry.refill;
    if (refill === undefined || !refill.holding) {
      this.deliver(entry, data, this.message(stream, data, frame, payloadStart, payloadEnd), undefined);
      return;
    }
    this.deliver(entry, data, this.message(stream, data, frame, payloadStart, payloadEnd), false);
    // A held event may reach a subscriber of the payload that arrives before the refill ends.
    refill.hold(data === undefined ? this.payloadData(frame, stream) : data, frame);
  }

  private message(stream: string, data: unknown, frame: Buffer, start: number, end: number): FrameMessage {
    const message = new FrameMessage(stream, data, frame, this.frames);
    // The reader found the payload already: no second scan of the envelope when it is asked for.
    if (start >= 0) message.payloadAt(start, end);
    return message;
  }

  /** The payload of an event routed unparsed, parsed now; undefined when it is not JSON. */
  private payloadData(frame: Buffer, stream: string): unknown {
    const payload = this.frames.payloadOf(frame, stream);
    if (payload === undefined) return undefined;
    try {
      return JSON.parse(payload.toString());
    } catch {
      return undefined;
    }
  }

  /** Calls `next` of the stream's subscribers: all, or only those whose `backfill` equals `backfill`. */
  private deliver(
    entry: StreamEntry,
    data: unknown,
    message: FrameMessage,
    backfill: boolean | undefined,
  ): void {
    const subs = entry.subs;
    // The common case first: one subscriber that subscribed a plain function.
    if (typeof subs === 'function') {
      if (backfill === undefined || backfill === this.defaultBackfill) this.call(entry, subs, data, message);
      return;
    }
    if (subs === undefined) return;
    if (!(subs instanceof SubscriberList)) {
      this.deliverTo(entry, subs, data, message, backfill);
      return;
    }
    const members = subs.members;
    for (let i = 0; i < members.length; i++) {
      const s = members[i]!;
      // A handler may unsubscribe another subscriber of this stream while the loop runs.
      if (subs.holds(members, s)) this.deliverTo(entry, s, data, message, backfill);
    }
  }

  private deliverTo(
    entry: StreamEntry,
    member: Member,
    data: unknown,
    message: FrameMessage,
    backfill: boolean | undefined,
  ): void {
    if (typeof member === 'function') {
      if (backfill === undefined || this.defaultBackfill === backfill)
        this.call(entry, member, data, message);
      return;
    }
    if (backfill !== undefined && member.backfill !== backfill) return;
    try {
      member.listener.next(data, message);
    } catch (err) {
      this.handlerThrew(entry.name, err);
    }
  }

  private call(entry: StreamEntry, next: StreamListener['next'], data: unknown, message: FrameMessage): void {
    try {
      next(data, message);
    } catch (err) {
      this.handlerThrew(entry.name, err);
    }
  }

  /**
   * A gap: reported to subscribers that asked for reports, refilled from the exchange history for
   * those that asked for a backfill (their live events are held back meanwhile, so they get the
   * missing events first, then the live ones, in order, once each).
   */
  private gapFound(entry: StreamEntry, expected: number, received: number, missed: number): void {
    this.metrics.gap(missed);
    const gap: GapEvent = { stream: entry.name, expected, received, missed };
    if (!this.someBackfill(entry)) {
      this.notifyGap(entry, gap, undefined);
      return;
    }
    this.notifyGap(entry, gap, false);
    this.refillOf(entry).gap(expected, received);
  }

  private refillOf(entry: StreamEntry): StreamRefill {
    // Parsed again here rather than kept per stream: few streams ever need a refill.
    const extras = entry.madeExtras();
    extras.refill ??= new StreamRefill(this.exchange.streams.parse(entry.name)!, this.refillContext, {
      present: () => this.someBackfill(entry),
      // Refilled frames are built in the combined form, whatever the exchange's own envelope.
      deliver: (data, frame) =>
        this.deliver(entry, data, new FrameMessage(entry.name, data, frame, COMBINED), true),
      report: (gap) => this.notifyGap(entry, gap, true),
    });
    return extras.refill;
  }

  /**
   * Decides whether an event from `socket`, which is not the stream's current source, is delivered.
   * A socket takes over at once when the source is gone (closed, or a socket of another connection:
   * the stream moved, and sockets only pass on streams they still carry). During a rotation (two
   * sockets of one connection) the newer one takes over as soon as its events line up with what was
   * already delivered (same or next sequence id), so nothing is lost or doubled.
   */
  private takeFrom(entry: StreamEntry, socket: ConnectionSocket, range: SequenceRange | undefined): boolean {
    const source = entry.source;
    const last = entry.lastId;
    if (source === undefined || source.state !== 'open' || source.connection !== socket.connection) {
      entry.source = socket;
      // No overlap with the previous socket: an id at or before the last one delivered is not a
      // duplicate but a restarted upstream sequence.
      if (range !== undefined && last !== undefined && range.last <= last)
        this.sequenceReset(entry, last, range);
      return true;
    }
    if (socket.serial < source.serial) return false;
    if (range !== undefined && last !== undefined) {
      if (range.last <= last) {
        // The new socket caught up: later events come from it; this one was already delivered.
        this.switchTo(entry, socket);
        return false;
      }
      // Ahead of the old socket: it still delivers the events in between, so wait for them.
      if (entry.rules.contiguous && range.first > last + 1) return false;
    }
    this.switchTo(entry, socket);
    return true;
  }

  /** Whether `socket` takes over `entry` because its socket ended, rather than first or in a rotation. */
  private sourceLost(entry: StreamEntry, socket: ConnectionSocket): boolean {
    const source = entry.source;
    return source !== undefined && (source.state !== 'open' || source.connection !== socket.connection);
  }

  /** Backfill subscribers of a resumable stream get what the history holds since the last event seen. */
  private resumeAfterLoss(entry: StreamEntry, data: unknown, frame: Buffer, payloadStart: number): void {
    const lastSeen = this.lastSeen.get(entry);
    if (lastSeen === undefined || !this.someBackfill(entry)) return;
    const firstLive = data ?? (payloadStart >= 0 ? this.payloadData(frame, entry.name) : undefined);
    this.refillOf(entry).resume(lastSeen, firstLive);
  }

  private switchTo(entry: StreamEntry, socket: ConnectionSocket): void {
    entry.source = socket;
    entry.carrier?.streamSwitched(entry.name, socket);
  }

  /** The upstream connection that carries `stream`, while it is held. */
  carrierOf(stream: string): UpstreamConnection | undefined {
    return this.entries.get(stream)?.carrier;
  }

  /**
   * The upstream sequence went back (the exchange restarted its feed): tracking starts again from
   * `range`, and gap listeners of gap-tracked streams get a `GapEvent` with `received < expected`
   * and a negative `missed` (how much was lost in between is unknown).
   */
  private sequenceReset(entry: StreamEntry, last: number, range: SequenceRange): void {
    entry.lastId = undefined;
    this.metrics.sequenceReset();
    this.sequenceResetLog.add({ stream: entry.name, lastId: last, receivedId: range.first });
    const [expected, received] = [last + 1, range.first];
    if (entry.rules.contiguous)
      this.notifyGap(entry, { stream: entry.name, expected, received, missed: received - expected });
  }

  /** Calls `gap` of the stream's subscribers: all, or only those whose `backfill` equals `backfill`. */
  private notifyGap(entry: StreamEntry, gap: GapEvent, backfill?: boolean): void {
    for (const s of entry.members) {
      if (typeof s === 'function') continue;
      if (s.listener.gap === undefined || (backfill !== undefined && s.backfill !== backfill)) continue;
      try {
        s.listener.gap(gap);
      } catch (err) {
        this.handlerThrew(entry.name, err);
      }
    }
  }

  private handlerThrew(stream: string, err: unknown): void {
    this.metrics.error('handler_threw');
    this.handlerThrewLog.add({ stream, err });
  }

  list(): StreamInfo[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => this.info(e, now));
  }

  /**
   * The first `limit` streams in `busiest` order. The ranking depends only on the streams and their
   * subscriber counts, so it is kept until one of them changes: a metrics scrape of a steady manager
   * then ranks nothing, and the rows are built fresh from the kept entries.
   */
  busiest(limit: number): StreamInfo[] {
    let ranking = this.ranking;
    if (ranking === undefined || ranking.limit !== limit) {
      const top = busiest(this.entries.values(), limit, entrySubscribers, entryName);
      ranking = { limit, top };
      this.ranking = ranking;
    }
    const now = this.now();
    return ranking.top.map((e) => this.info(e, now));
  }

  /**
   * Epoch ms of the newest event per upstream connection id, taken from the socket each stream's events
   * last came from: one pass over the entries with no lookup per stream, for the status page's rows.
   */
  lastMessageByConnection(): Map<string, number> {
    const last = new Map<string, number>();
    for (const e of this.entries.values()) {
      const at = e.lastMessageAt;
      const connection = e.source?.connection;
      if (at === undefined || connection === undefined) continue;
      const seen = last.get(connection);
      if (seen === undefined || at > seen) last.set(connection, at);
    }
    return last;
  }

  private info(e: StreamEntry, now: number): StreamInfo {
    return {
      stream: e.name,
      subscribers: e.size,
      connection: connectionOf(e),
      lastMessageAt: e.lastMessageAt,
      idleMs: e.idleSince === undefined ? undefined : now - e.idleSince,
      messages: e.messages,
    };
  }

  /** Releases every stream (manager destroyed): subscribers get `error`, cleanups counted as 'destroyed'. */
  destroyAll(makeError: (stream: string) => StreamError): void {
    for (const name of [...this.entries.keys()]) this.fail(name, makeError(name), 'destroyed');
    for (const log of [
      this.handlerThrewLog,
      this.sequenceResetLog,
      ...Object.values(this.refillContext.logs),
    ])
      log.flush();
  }

  /** Called by every change of the streams or their subscribers. */
  private updateGauges(): void {
    this.ranking = undefined;
    this.metrics.streams(this.entries.size, this.idleCount, this.subscriberCount);
  }
}
