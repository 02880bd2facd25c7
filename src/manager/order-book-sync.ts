/**
 * Keeps one local order book in step with the exchange, following its documented procedure
 * (`Exchange.book`; Binance: "How to manage a local order book correctly"): buffer the diff stream,
 * fetch a REST snapshot, drop the diffs already in it, then apply each diff the continuity rule says
 * continues the book. Any gap (a reconnect that lost diffs, an upstream whose ids went back) starts the
 * procedure again by itself; a diff that replaces the whole book resets it. Shared by every subscriber
 * of the same symbol and depth.
 */

import type { OrderBookListener, ResyncNotice } from '../core/capabilities.js';
import type { StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { StreamListener, Unsubscribe } from '../core/stream-source.js';
import type { BookDiff, BookSnapshot, OrderBookProcedure } from '../exchange/exchange.js';
import { LocalOrderBook } from './order-book.js';

/** Diffs buffered while a snapshot is on its way; beyond, the oldest are useless and the procedure restarts. */
const MAX_BUFFERED = 10_000;
/** A failed snapshot is retried after this, doubling up to the cap (the REST budget or Retry-After may be why). */
const SNAPSHOT_RETRY_MS = 1000;
const SNAPSHOT_RETRY_MAX_MS = 30_000;
/**
 * How long a `push-or-rest` book waits for its stream's first push before fetching a REST snapshot
 * anyway: a quiet book may send nothing for a while, and its subscriber should not wait on it.
 */
const FIRST_PUSH_WAIT_MS = 3000;

export interface OrderBookDeps {
  subscribe(stream: string, listener: StreamListener): Unsubscribe;
  /** The exchange's diff stream and continuity rule. */
  readonly procedure: OrderBookProcedure;
  /**
   * A snapshot of `depth` levels per side, or undefined when none came: the procedure's REST call for
   * WSManager, the ingest tier's book for a clustered gateway.
   */
  snapshot(symbol: string, depth: number): Promise<BookSnapshot | undefined>;
  readonly logger: Logger;
  /**
   * Has the venue send `stream` afresh (unsubscribe, then subscribe again upstream): a stream-seeded
   * book out of step gets its next snapshot this way.
   */
  refresh?(stream: string): void;
}

export class SyncedOrderBook {
  private readonly book: LocalOrderBook;
  private readonly listeners = new Set<OrderBookListener>();
  private readonly unsubscribe: Unsubscribe;
  private readonly stream: string;
  private synced = false;
  private buffer: BookDiff[] = [];
  private reason = 'initial';
  private fetching = false;
  private refetch = false;
  private retryMs = SNAPSHOT_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A `push-or-rest` book that has seen no push yet: the first one decides where the seed comes from. */
  private awaitingFirstPush = false;

  constructor(
    readonly symbol: string,
    readonly depth: number,
    private readonly deps: OrderBookDeps,
  ) {
    this.book = new LocalOrderBook(symbol, depth);
    // Subscribe before fetching the snapshot, so no diff between the two is missed.
    this.stream = deps.procedure.diffStream(symbol, depth);
    this.unsubscribe = deps.subscribe(this.stream, {
      next: (data) => this.onDiff(data),
      gap: (g) => this.resync(`gap in the diff stream: expected ${g.expected}, received ${g.received}`),
      error: (e) => this.fail(e),
      recovery: 'report',
    });
    if (deps.procedure.seed === 'push-or-rest') this.awaitFirstPush();
    else this.fetchSnapshot();
  }

  /** True once the book ended (its stream failed, or its last subscriber left). */
  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a subscriber; it gets the book at once when the book is in step. */
  add(listener: OrderBookListener): void {
    this.listeners.add(listener);
    if (this.synced) this.call(() => listener.next(this.book));
  }

  remove(listener: OrderBookListener): void {
    this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.unsubscribe();
  }

  private onDiff(data: unknown): void {
    const diff = this.deps.procedure.readDiff(data);
    if (diff === undefined) return;
    if (this.awaitingFirstPush) this.firstPushIn(diff.resets);
    if (diff.resets) {
      this.replaceWith(diff.last, diff, this.synced ? 'the exchange sent a new snapshot' : this.reason);
      return;
    }
    if (!this.synced) {
      this.buffer.push(diff);
      if (this.buffer.length > MAX_BUFFERED)
        this.resync('too many diffs buffered while waiting for a snapshot');
      return;
    }
    if (this.applyNext(diff)) this.notify();
  }

  /** Applies `diff` if it continues the book; starts a resync if it leaves a hole. */
  private applyNext(diff: BookDiff): boolean {
    const last = this.book.lastUpdateId;
    const step = this.deps.procedure.step(diff, last);
    if (step === 'stale') return false;
    if (step === 'gap') {
      this.resync(`diff ${diff.first}-${diff.last} does not follow ${last}`);
      this.buffer.push(diff);
      return false;
    }
    this.book.apply(diff.last, diff.bids, diff.asks);
    return true;
  }

  /**
   * A `push-or-rest` book: the snapshot pushed on subscribe comes before any update, so it seeds the
   * book when it is the first push; a REST snapshot is fetched when the first push is an update, or
   * when nothing came within FIRST_PUSH_WAIT_MS.
   */
  private awaitFirstPush(): void {
    this.awaitingFirstPush = true;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.firstPushIn(false);
    }, FIRST_PUSH_WAIT_MS);
  }

  private firstPushIn(isSnapshot: boolean): void {
    this.awaitingFirstPush = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!isSnapshot) this.fetchSnapshot();
  }

  private resync(reason: string): void {
    if (this.closed) return;
    if (this.awaitingFirstPush) {
      // Out of step before any push: the wait for one is over.
      this.awaitingFirstPush = false;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.deps.logger.info({ symbol: this.symbol, reason }, 'WSManager order book resynchronising');
    this.synced = false;
    this.buffer = [];
    this.reason = reason;
    if (this.deps.procedure.seed === 'stream') this.awaitStreamSnapshot(true);
    else this.fetchSnapshot();
  }

  /**
   * A stream-seeded book (Bybit) waits for the snapshot its stream pushes on subscribe. Out of step, or
   * still without one after the retry delay (the stream was already subscribed, so no snapshot came),
   * it has the stream sent afresh, backing off like a failed REST snapshot.
   */
  private awaitStreamSnapshot(refreshNow: boolean): void {
    if (refreshNow) this.deps.refresh?.(this.stream);
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || this.synced) return;
      this.retryMs = Math.min(SNAPSHOT_RETRY_MAX_MS, this.retryMs * 2);
      this.awaitStreamSnapshot(true);
    }, this.retryMs);
  }

  private fetchSnapshot(): void {
    if (this.deps.procedure.seed === 'stream') {
      this.awaitStreamSnapshot(false);
      return;
    }
    if (this.closed || this.retryTimer !== undefined) return;
    if (this.fetching) {
      // The snapshot on its way was asked for before this resync: fetch another once it is in.
      this.refetch = true;
      return;
    }
    this.fetching = true;
    this.deps.snapshot(this.symbol, this.depth).then(
      (snapshot) => this.snapshotIn(snapshot),
      () => this.snapshotIn(undefined),
    );
  }

  private snapshotIn(snapshot: BookSnapshot | undefined): void {
    this.fetching = false;
    if (this.closed) return;
    if (this.refetch) {
      this.refetch = false;
      this.fetchSnapshot();
      return;
    }
    // A diff that replaced the whole book meanwhile already put it in step.
    if (this.synced) return;
    if (snapshot === undefined) {
      this.retryLater();
      return;
    }
    const { step } = this.deps.procedure;
    // Diffs at or below the snapshot are already in it (Binance, step 4).
    const pending = this.buffer.filter((d) => step(d, snapshot.lastUpdateId) !== 'stale');
    // A snapshot older than the first buffered diff cannot be continued; fetch a newer one (step 3).
    if (pending[0] !== undefined && step(pending[0], snapshot.lastUpdateId) === 'gap') {
      this.retryLater(100);
      return;
    }
    this.replaceWith(snapshot.lastUpdateId, snapshot, this.reason, pending);
  }

  /** Rebuilds the book from a snapshot (REST, or a diff that replaces the book), then applies `pending`. */
  private replaceWith(
    lastUpdateId: number,
    levels: Pick<BookSnapshot, 'bids' | 'asks'>,
    reason: string,
    pending: readonly BookDiff[] = [],
  ): void {
    this.book.reset(lastUpdateId, levels.bids, levels.asks);
    this.buffer = [];
    this.synced = true;
    this.reason = reason;
    this.retryMs = SNAPSHOT_RETRY_MS;
    for (const diff of pending) {
      this.applyNext(diff);
      if (!this.synced) return;
    }
    const notice: ResyncNotice = {
      symbol: this.symbol,
      lastUpdateId: this.book.lastUpdateId,
      reason: this.reason,
    };
    this.deps.logger.info(notice, 'WSManager order book in step');
    for (const l of [...this.listeners]) if (l.resynced !== undefined) this.call(() => l.resynced?.(notice));
    this.notify();
  }

  private retryLater(ms = this.retryMs): void {
    if (ms === this.retryMs) this.retryMs = Math.min(SNAPSHOT_RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.fetchSnapshot();
    }, ms);
  }

  private notify(): void {
    for (const l of this.listeners) this.call(() => l.next(this.book));
  }

  private fail(error: StreamError): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    this.close();
    for (const l of listeners) if (l.error !== undefined) this.call(() => l.error?.(error));
  }

  private call(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.deps.logger.warn({ symbol: this.symbol, err }, 'WSManager order-book subscriber threw');
    }
  }
}
