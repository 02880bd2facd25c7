/**
 * The gateway's StreamSource in clustered mode: streams come from NATS instead of upstream sockets.
 * Per stream: one core NATS subscription, a demand entry while clients want it, and ordering by the
 * owner's per-stream sequence. A jump in the sequence (this gateway's NATS link dropped, the owner
 * changed) is filled from the JetStream history before later live events, which wait meanwhile;
 * duplicates and events of a superseded owner are dropped. What the history no longer holds is
 * counted and logged, and the exchange-id gap check reports it to subscribers as in single-process mode.
 */
import { DeliverPolicy, type JetStreamClient, type JsMsg, jetstream } from '@nats-io/jetstream';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { BookCapability, RestCapability } from '../core/capabilities.js';
import type { Logger } from '../core/log.js';
import { PayloadMessage } from '../core/payload-message.js';
import type {
  ConnectionInfo,
  HealthVerdict,
  Listener,
  SourceMetrics,
  StreamInfo,
  StreamListener,
  StreamSource,
  Unsubscribe,
} from '../core/stream-source.js';
import { subscriberOf } from '../core/subscriber.js';
import { SubscriberList } from '../core/subscriber-list.js';
import type { Exchange, SequencePolicy } from '../exchange/exchange.js';
import { DEFAULT_EXCHANGE } from '../manager/default-exchange.js';
import { GapDetector } from '../manager/gap-detector.js';
import type { Broker } from './broker.js';
import type { ClusterMetrics, RejectReason } from './cluster-metrics.js';
import { DemandDeclarer } from './demand.js';
import { finishHash } from './shards.js';
import {
  awaitsOldLine,
  bookAwaitsOldLine,
  bookOverlapDrops,
  candleFollows,
  changesLine,
  confirms,
  judge,
  OLD_LINE_QUIET_MS,
  outlives,
  type Pending,
} from './stream-order.js';
import { BINANCE_FEED, type FeedNames, HEADERS, HISTORY_STREAM } from './subjects.js';

/** How far before the last delivered event a replay starts reading, for clock and transit slack. */
const REPLAY_LOOKBACK_MS = 5000;
/** A replay that has not reached its end by then gives up; the rest is reported missed. */
const REPLAY_TIMEOUT_MS = 3000;
/** Payload hashes a stream without ids remembers to tell a handover's overlap: seconds of a busy stream. */
const RECENT_PAYLOADS = 512;

type Incoming = { readonly data: Msg['data']; readonly headers?: Msg['headers'] | undefined };

interface Entry {
  readonly stream: string;
  readonly kind: string;
  readonly listeners: SubscriberList<StreamListener>;
  readonly sub: Subscription;
  readonly ids: GapDetector | undefined;
  /** A candle stream (no ids): the last delivered candle's open time and whether it was closed. */
  readonly candles: boolean;
  candleOpen: number;
  candleClosed: boolean;
  /**
   * An order-book stream without sequence ids (OKX `books`, `books5`, `bbo-tbt`; Bybit `orderbook`):
   * its pushes carry the book's own ids, which the venue's book procedure reads (`readDiff`), and a
   * handover's overlap is told by them. The ids are read only around a switch: `lastData` is the last
   * delivered push, kept by reference.
   */
  readonly book: boolean;
  lastData: object | undefined;
  /**
   * After a switch of such a stream: the last book id the old line delivered, and the successor's last
   * book id dropped since (see `bookOverlapDrops`).
   */
  bookUpTo: number | undefined;
  bookSeen: number;
  /**
   * A stream with neither ids, candles nor book ids (Bybit's trades, tickers): a ring of the hashes of
   * the payloads it delivered last (0: empty). Both owners of a handover publish the venue's frames byte for byte, so
   * these tell the overlap, without holding the payloads.
   */
  readonly recent: Uint32Array | undefined;
  recentNext: number;
  /** After a switch of such a stream: the old line's last payload hashes, which the new line skips. */
  overlap: Uint32Array | undefined;
  lastSeq: number | undefined;
  epoch: number;
  /** Local time the last delivered event arrived: where a replay starts looking. */
  lastAt: number;
  /** Live events held while a replay runs. */
  held: Incoming[] | undefined;
  /** An event that would move the stream to another line, waiting for the next event of that line. */
  pending: Pending | undefined;
  /**
   * A confirmed successor's events, from the one that confirmed `pending` on, held while the previous
   * owner's line has yet to reach the successor's first exchange id (its socket lags the successor's).
   */
  successor: Incoming[] | undefined;
  messages: number;
  lastMessageAt: number | undefined;
}

export interface NatsStreamSourceOptions {
  readonly broker: Broker;
  readonly gatewayId: string;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger;
  /** The broker unreachable for longer than this makes the gateway unhealthy. */
  readonly healthGraceMs: number;
  /** LEASE_TTL_SECONDS in ms: how long a stale owner can still publish after losing its lease. */
  readonly leaseTtlMs: number;
  /** The venue the ingest nodes read: stream grammar and sequence ids. @default binance */
  readonly exchange?: Exchange;
  /** The feed's names (subjects, demand keys) over NATS. @default Binance's */
  readonly feed?: FeedNames;
  /** REST calls and order books through the ingest tier (gateway-source.ts). */
  readonly rest?: RestCapability;
  readonly books?: BookCapability;
}

export class NatsStreamSource implements StreamSource {
  // The ingest tier runs WSManager and the gateway serves its streams with the same semantics; the
  // label stays 'WSManager' so the dashboards and alerts selecting on it keep covering clustered
  // gateways (docs/scale-out.md). Its metrics say what it does not have by leaving it out.
  readonly implementation = 'WSManager' as const;
  readonly sharesUpstream = true;
  readonly exchange: Exchange;
  readonly rest: RestCapability | undefined;
  readonly books: BookCapability | undefined;
  /** Held for the per-message path. */
  private readonly sequenceRange: SequencePolicy['range'];
  private readonly entries = new Map<string, Entry>();
  private readonly demand: DemandDeclarer;
  private readonly feed: FeedNames;
  private readonly js: JetStreamClient;
  private readonly openedAt = Date.now();
  private downSince: number | undefined;
  private readonly healthTimer: NodeJS.Timeout;
  private destroyed = false;
  private counts = { consumed: 0, gaps: 0, seqGaps: 0, errors: 0, creations: 0, cleanups: 0 };

  constructor(private readonly o: NatsStreamSourceOptions) {
    this.exchange = o.exchange ?? DEFAULT_EXCHANGE;
    this.rest = o.rest;
    this.books = o.books;
    this.sequenceRange = this.exchange.sequence.range;
    this.feed = o.feed ?? BINANCE_FEED;
    this.demand = new DemandDeclarer(o.broker.demand, o.gatewayId, o.logger, this.feed);
    o.broker.onReconnect(() => this.demand.redeclare());
    this.js = jetstream(o.broker.nc);
    this.healthTimer = setInterval(() => {
      if (o.broker.connected()) this.downSince = undefined;
      else this.downSince ??= Date.now();
    }, 250);
  }

  subscribe(stream: string, listener: Listener): Unsubscribe {
    const normalised = subscriberOf(
      'NatsStreamSource',
      this.destroyed,
      this.exchange.streams,
      stream,
      listener,
    );
    let entry = this.entries.get(stream);
    // subscriberOf accepted the name, so it parses.
    if (entry === undefined) entry = this.open(stream, this.exchange.streams.parse(stream)!.kind);
    const remove = entry.listeners.add(normalised);
    const target = entry;
    return () => {
      if (!remove() || target.listeners.size > 0) return;
      if (this.entries.get(stream) === target) this.release(target);
    };
  }

  listStreams(): StreamInfo[] {
    return [...this.entries.values()].map((e) => ({
      stream: e.stream,
      subscribers: e.listeners.size,
      connection: 'nats',
      lastMessageAt: e.lastMessageAt,
      idleMs: undefined,
      messages: e.messages,
    }));
  }

  connections(): ConnectionInfo[] {
    const up = this.o.broker.connected();
    let last: number | undefined;
    for (const e of this.entries.values()) if ((e.lastMessageAt ?? 0) > (last ?? 0)) last = e.lastMessageAt;
    return [
      {
        id: 'nats',
        state: up ? 'open' : 'reconnecting',
        streams: this.entries.size,
        openedAt: up ? this.openedAt : undefined,
        lastMessageAt: last,
        retries: 0,
      },
    ];
  }

  /** Streams are released as soon as their last subscriber leaves (the ingest tier keeps the idle grace). */
  forceCleanupIdleStreams(): number {
    return 0;
  }

  /**
   * The common fields only: the exchange's sockets, their retries and attempt budget, and the idle
   * grace are the ingest nodes' (their own metrics), so those fields are absent here. `activeConnections`
   * is the NATS connection (0 or 1); `idleStreams` is 0 as streams are released with their last subscriber.
   */
  getMetrics(): SourceMetrics {
    const verdict = this.health();
    let subscribers = 0;
    for (const e of this.entries.values()) subscribers += e.listeners.size;
    return {
      implementation: this.implementation,
      activeConnections: this.o.broker.connected() ? 1 : 0,
      streamCreations: this.counts.creations,
      streamCleanups: this.counts.cleanups,
      activeStreams: this.entries.size,
      idleStreams: 0,
      subscribers,
      messagesReceived: this.counts.consumed,
      messageGaps: this.counts.gaps,
      errors: this.counts.errors,
      isHealthy: verdict.healthy,
      healthReason: verdict.reason,
    };
  }

  health(): HealthVerdict {
    if (this.destroyed) return { healthy: false, reason: 'stopped' };
    if (this.downSince !== undefined && Date.now() - this.downSince > this.o.healthGraceMs) {
      return { healthy: false, reason: 'NATS unreachable for longer than the health grace' };
    }
    if (!this.demand.declared) {
      return { healthy: false, reason: 'demand not yet declared again since NATS returned' };
    }
    return { healthy: true, reason: undefined };
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.healthTimer);
    for (const entry of [...this.entries.values()]) entry.sub.unsubscribe();
    this.entries.clear();
    this.o.metrics.demandStreams.set(0);
    await this.demand.close();
    await this.o.broker.close();
  }

  private open(stream: string, kind: string): Entry {
    const ids = this.exchange.sequence.ruleOf(kind) === 'contiguous' ? new GapDetector(true) : undefined;
    const candles = this.exchange.history.refillBy(kind) === 'candles';
    const book = ids === undefined && !candles && this.isBookStream(stream, kind);
    const entry: Entry = {
      stream,
      kind,
      listeners: new SubscriberList(),
      sub: this.o.broker.nc.subscribe(this.feed.subjectOf(stream), {
        callback: (error, msg) => {
          if (error === null) this.onLive(entry, msg);
        },
      }),
      ids,
      candles,
      candleOpen: Number.NEGATIVE_INFINITY,
      candleClosed: false,
      book,
      lastData: undefined,
      bookUpTo: undefined,
      bookSeen: Number.NEGATIVE_INFINITY,
      recent: ids === undefined && !candles && !book ? new Uint32Array(RECENT_PAYLOADS) : undefined,
      recentNext: 0,
      overlap: undefined,
      lastSeq: undefined,
      epoch: 0,
      lastAt: Date.now(),
      held: undefined,
      pending: undefined,
      successor: undefined,
      messages: 0,
      lastMessageAt: undefined,
    };
    this.entries.set(stream, entry);
    this.counts.creations++;
    this.demand.add(stream);
    this.o.metrics.demandStreams.set(this.demand.size);
    return entry;
  }

  /**
   * Whether `stream` is one of the venue's order-book diff streams (`book.diffStream` of its symbol at
   * some depth): its pushes then carry the book's ids. Once per stream, when it opens.
   */
  private isBookStream(stream: string, kind: string): boolean {
    const symbol = this.exchange.streams.parse(stream)?.symbol;
    if (symbol === undefined) return false;
    const book = this.exchange.book;
    for (const depth of [1, 5, 50, 200, book.maxDepth]) {
      if (this.exchange.streams.parse(book.diffStream(symbol, depth))?.kind === kind) return true;
    }
    return false;
  }

  /** The book id of a push of an order-book stream (the last it covers), or undefined when it has none. */
  private bookIdOf(data: object | undefined): number | undefined {
    if (data === undefined) return undefined;
    const diff = this.exchange.book.readDiff(data);
    return diff === undefined || !Number.isFinite(diff.last) ? undefined : diff.last;
  }

  private release(entry: Entry): void {
    this.entries.delete(entry.stream);
    entry.sub.unsubscribe();
    this.counts.cleanups++;
    this.demand.remove(entry.stream);
    this.o.metrics.demandStreams.set(this.demand.size);
  }

  private onLive(entry: Entry, msg: Incoming): void {
    this.counts.consumed++;
    this.o.metrics.tally.consumed++;
    if (entry.held !== undefined) {
      entry.held.push(msg);
      return;
    }
    this.accept(entry, msg, true);
  }

  /**
   * Applies the ordering rule to one event; `mayReplay` false reports a gap instead of filling it. An
   * event whose headers or body are not well formed is dropped before it can take a sequence number.
   */
  private accept(entry: Entry, msg: Incoming, mayReplay: boolean): boolean {
    const seq = Number(msg.headers?.get(HEADERS.seq));
    const epoch = Number(msg.headers?.get(HEADERS.epoch));
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(epoch)) return this.reject('headers');
    const payload = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    const data = jsonObjectOf(payload);
    if (data === undefined) return this.reject('body');
    const now = Date.now();
    if (entry.successor !== undefined) {
      if (epoch === entry.pending?.epoch) {
        entry.successor.push(msg);
        this.trySwitch(entry, now);
        return false;
      }
      // A third line: the successor's is no longer worth waiting for.
      if (epoch > entry.epoch) this.switchNow(entry);
    }
    const pending = entry.pending;
    if (pending !== undefined && confirms(pending, seq, epoch)) {
      if (this.defersSwitch(entry, pending, now)) {
        entry.successor = [msg];
        return false;
      }
      entry.pending = undefined;
      this.adopt(entry, pending);
    }
    const verdict = judge(entry, seq, epoch, now - entry.lastAt > this.o.leaseTtlMs);
    if (verdict.kind === 'duplicate') {
      this.o.metrics.duplicatesDropped.inc();
      return false;
    }
    if (verdict.kind === 'gap' && mayReplay) {
      entry.held = [msg];
      void this.replay(entry, verdict.from, verdict.to);
      return false;
    }
    if (changesLine(entry, verdict, epoch)) {
      // Adopted only once the next event of the same line follows it: one stray message (a forged
      // or corrupt Ws-Seq or Ws-Epoch) cannot move the stream away from its owner's sequence.
      if (entry.pending !== undefined) this.reject('unconfirmed');
      entry.pending = { seq, epoch, at: now, payload, data };
      return false;
    }
    if (
      entry.pending !== undefined &&
      entry.successor === undefined &&
      !outlives(entry.pending, entry, now, this.o.leaseTtlMs)
    ) {
      // The current line went on: what waited was not the owner's sequence, nor a successor's line
      // (a successor's second event follows its first within the handover).
      entry.pending = undefined;
      this.reject('unconfirmed');
    }
    this.advance(entry, seq, epoch, payload, data);
    if (entry.successor !== undefined) this.trySwitch(entry, now);
    return true;
  }

  /**
   * Whether to keep delivering the previous owner's line before switching to a confirmed successor:
   * while the exchange ids it delivered have not reached the successor's first one, it still publishes
   * (delivered within `OLD_LINE_QUIET_MS`), and the handover's bound has not passed.
   */
  private defersSwitch(entry: Entry, pending: Pending, now: number): boolean {
    if (entry.recent !== undefined && pending.epoch > entry.epoch) {
      // Without ids: until the old line delivered the successor's first payload itself.
      return (
        !entry.recent.includes(payloadHash(pending.payload)) &&
        now - entry.lastAt < OLD_LINE_QUIET_MS &&
        now - pending.at < this.o.leaseTtlMs
      );
    }
    if (entry.book && pending.epoch > entry.epoch) {
      // Until the old line delivered the book id of the successor's first push.
      const lastId = this.bookIdOf(entry.lastData);
      if (lastId === undefined) return false;
      const first = this.bookIdOf(pending.data);
      return bookAwaitsOldLine(lastId, first, now - entry.lastAt, now - pending.at, this.o.leaseTtlMs);
    }
    const lastId = entry.ids?.lastId;
    if (lastId === undefined || pending.epoch <= entry.epoch) return false;
    const first = this.sequenceRange(entry.kind, pending.data as Record<string, unknown>)?.first;
    return awaitsOldLine(lastId, first, now - entry.lastAt, now - pending.at, this.o.leaseTtlMs);
  }

  private trySwitch(entry: Entry, now: number): void {
    const pending = entry.pending;
    if (pending === undefined || !this.defersSwitch(entry, pending, now)) this.switchNow(entry);
  }

  /** Adopts the confirmed successor's line and applies the events of it held meanwhile. */
  private switchNow(entry: Entry): void {
    const queue = entry.successor ?? [];
    const pending = entry.pending;
    entry.successor = undefined;
    entry.pending = undefined;
    if (pending !== undefined) this.adopt(entry, pending);
    for (const msg of queue) this.accept(entry, msg, true);
  }

  /** Moves the stream to a confirmed line, reporting what it skipped. */
  private adopt(entry: Entry, line: Pending): void {
    if (entry.lastSeq !== undefined && line.epoch >= entry.epoch && line.seq > entry.lastSeq + 1) {
      this.reportMissed(entry, entry.lastSeq + 1, line.seq - 1);
    } else if (
      entry.lastSeq !== undefined &&
      (line.epoch < entry.epoch ||
        (line.seq <= entry.lastSeq && (line.epoch === entry.epoch || line.seq === 1)))
    ) {
      // The exchange's own ids still show what was lost in between.
      this.o.logger.warn(
        { stream: entry.stream, epoch: line.epoch, seq: line.seq },
        'Stream sequence or epochs restarted',
      );
    }
    // A successor's line of a stream without ids skips what the old line delivered already.
    if (entry.recent !== undefined && line.epoch > entry.epoch) entry.overlap = entry.recent.slice();
    // A successor's line of an order-book stream skips the book ids the old line delivered already, when
    // the old line published moments ago (a handover). After a dead owner, silent for most of a lease
    // TTL, the successor's first push is past its ids, unless the venue's book restarted meanwhile:
    // that push must then pass, not wait for the new ids to pass the old ones.
    if (entry.book && line.epoch > entry.epoch) {
      const handover = Date.now() - entry.lastAt < this.o.leaseTtlMs / 2;
      entry.bookUpTo = handover ? this.bookIdOf(entry.lastData) : undefined;
      entry.bookSeen = Number.NEGATIVE_INFINITY;
    }
    entry.epoch = line.epoch;
    this.advance(entry, line.seq, line.epoch, line.payload, line.data);
  }

  private advance(entry: Entry, seq: number, epoch: number, payload: Buffer, data: object): void {
    entry.lastSeq = seq;
    entry.epoch = Math.max(entry.epoch, epoch);
    entry.lastAt = Date.now();
    this.deliver(entry, payload, data);
  }

  private reject(reason: RejectReason): false {
    this.counts.errors++;
    this.o.metrics.rejected.inc({ reason });
    return false;
  }

  private async replay(entry: Entry, from: number, to: number): Promise<void> {
    this.o.metrics.replays.inc();
    const seqGapsBefore = this.counts.seqGaps;
    const startAt = new Date(entry.lastAt - REPLAY_LOOKBACK_MS).toISOString();
    try {
      const consumer = await this.js.consumers.get(HISTORY_STREAM, {
        // One filter subject: NATS 2.9 has no multi-filter consumers.
        filter_subjects: this.feed.subjectOf(entry.stream),
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: startAt,
      });
      const messages = await consumer.consume({ max_messages: 1000 });
      const timer = setTimeout(() => void messages.close(), REPLAY_TIMEOUT_MS);
      try {
        for await (const m of messages) {
          if (this.entries.get(entry.stream) !== entry) break;
          const seq = Number(m.headers?.get(HEADERS.seq));
          if (seq >= from && seq <= to && this.accept(entry, asIncoming(m), false)) {
            this.o.metrics.replayed.inc();
          }
          if (seq >= to || m.info.pending === 0) break;
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
    } catch (error) {
      this.o.logger.warn(
        { stream: entry.stream, from, to, err: String(error) },
        'Replay from history failed',
      );
    }
    const held = entry.held ?? [];
    entry.held = undefined;
    if (this.entries.get(entry.stream) !== entry) return;
    // Whatever the history did not hold shows up as a gap while the held live events are applied.
    for (const msg of held) this.accept(entry, msg, false);
    if (this.counts.seqGaps > seqGapsBefore) this.o.metrics.replayFailures.inc();
  }

  private reportMissed(entry: Entry, from: number, to: number): void {
    const missed = to - from + 1;
    this.counts.gaps++;
    this.counts.seqGaps++;
    this.o.metrics.missedMessages.inc(missed);
    this.o.logger.warn(
      { stream: entry.stream, from, to, missed },
      'Events missing from the history: reported as a gap',
    );
  }

  /**
   * Whether a candle event comes after the last one delivered (records it if so): candle streams carry
   * no ids, so the overlap of two owners is told by the candle's open time and closing update.
   */
  private candleAhead(entry: Entry, data: object): boolean {
    const history = this.exchange.history;
    const open = history.candleOpenTime(data);
    if (open === undefined) return true;
    const closed = history.candleClosed(data);
    if (!candleFollows(entry.candleOpen, entry.candleClosed, open)) return false;
    entry.candleOpen = open;
    entry.candleClosed = closed;
    return true;
  }

  private deliver(entry: Entry, payload: Buffer, data: object): void {
    const now = Date.now();
    entry.messages++;
    entry.lastMessageAt = now;
    const record = data as Record<string, unknown>;
    if (typeof record['E'] === 'number')
      this.o.metrics.endToEndLag.observe(Math.max(0, now - record['E']) / 1000);
    const range = entry.ids ? this.sequenceRange(entry.kind, record) : undefined;
    const verdict = range ? entry.ids?.check(range) : undefined;
    if (verdict?.kind === 'duplicate') {
      // Already delivered by the previous owner's line (the overlap of a handover).
      this.o.metrics.overlapDropped.inc();
      return;
    }
    if (entry.candles && !this.candleAhead(entry, record)) {
      this.o.metrics.overlapDropped.inc();
      return;
    }
    if (entry.bookUpTo !== undefined) {
      const id = this.bookIdOf(record);
      if (id !== undefined && bookOverlapDrops(entry.bookUpTo, entry.bookSeen, id)) {
        entry.bookSeen = id;
        this.o.metrics.overlapDropped.inc();
        return;
      }
      // The first push the old line did not deliver (or the venue's book restarting): on from here.
      if (id !== undefined) entry.bookUpTo = undefined;
    }
    if (entry.book) entry.lastData = record;
    if (entry.recent !== undefined) {
      const hash = payloadHash(payload);
      if (entry.overlap !== undefined) {
        if (entry.overlap.includes(hash)) {
          this.o.metrics.overlapDropped.inc();
          return;
        }
        // The first event the old line did not deliver: the new line goes on from here.
        entry.overlap = undefined;
      }
      entry.recent[entry.recentNext] = hash;
      entry.recentNext = (entry.recentNext + 1) % RECENT_PAYLOADS;
    }
    if (verdict?.kind === 'gap') {
      this.counts.gaps++;
      if (verdict.missed > 0) this.o.metrics.upstreamMissed.inc(verdict.missed);
      this.o.logger.warn(
        {
          stream: entry.stream,
          expected: verdict.expected,
          received: verdict.received,
          missed: verdict.missed,
        },
        'Exchange ids skipped (events lost upstream, e.g. while a shard changed owner)',
      );
    }
    const message = new PayloadMessage(entry.stream, payload, data);
    const list = entry.listeners;
    const listeners = list.members;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      // A handler may unsubscribe another subscriber of this stream while the loop runs.
      if (!list.holds(listeners, listener)) continue;
      try {
        if (verdict?.kind === 'gap') {
          listener.gap?.({
            stream: entry.stream,
            expected: verdict.expected,
            received: verdict.received,
            missed: verdict.missed,
          });
        }
        listener.next(data, message);
      } catch (error) {
        this.counts.errors++;
        this.o.logger.warn({ stream: entry.stream, err: String(error) }, 'Subscriber threw');
      }
    }
  }
}

function asIncoming(m: JsMsg): Incoming {
  return { data: m.data, headers: m.headers };
}

/** The body as a JSON object (every Binance stream event is one), or undefined. */
function jsonObjectOf(payload: Buffer): object | undefined {
  try {
    const data: unknown = JSON.parse(payload.toString('utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A payload's 32-bit FNV-1a hash with murmur3's finish, never 0 (an empty slot of the ring). Two
 * different payloads of one stream within the ring's reach share a hash with odds of about 1 in 10^7.
 */
function payloadHash(payload: Buffer): number {
  let h = 0x811c9dc5 ^ payload.length;
  for (let i = 0; i < payload.length; i++) {
    h ^= payload[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return finishHash(h) || 1;
}
