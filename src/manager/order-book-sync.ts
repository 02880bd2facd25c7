/**
 * Keeps one local order book in step with the exchange, following Binance's documented procedure
 * ("How to manage a local order book correctly"): buffer the `<symbol>@depth@100ms` diffs, fetch a
 * `/api/v3/depth` snapshot, drop the diffs with `u` ≤ its `lastUpdateId`, apply the first one that
 * straddles it, then each diff only when its `U` is the previous `u` + 1. Any gap (a reconnect that
 * lost diffs, an upstream whose ids went back) starts the procedure again by itself. Shared by every
 * subscriber of the same symbol and depth.
 */
import type { StreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { StreamListener, Unsubscribe } from '../core/stream-source.js';
import { depthWeight } from '../exchange/binance/rest-limits.js';
import { type BookLevel, LocalOrderBook, type OrderBookView } from './order-book.js';
import type { RestClient } from './rest-client.js';

/** Why and where a book was (re)built from a snapshot. */
export interface ResyncNotice {
  readonly symbol: string;
  readonly lastUpdateId: number;
  /** `'initial'`, or what broke the chain (a gap, a sequence reset, a diff that did not follow). */
  readonly reason: string;
}

/** What an order-book subscriber gets. */
export interface OrderBookListener {
  /** The book after each applied diff (and once on joining a book already in step). Read-only, shared. */
  next(book: OrderBookView): void;
  /** The book was (re)built from a snapshot; `next` follows with it. */
  resynced?(notice: ResyncNotice): void;
  /** The diff stream ended for good (retries exhausted, manager destroyed). Nothing follows. */
  error?(error: StreamError): void;
}

interface Diff {
  readonly U: number;
  readonly u: number;
  readonly b: readonly BookLevel[];
  readonly a: readonly BookLevel[];
}

/** Diffs buffered while a snapshot is on its way; beyond, the oldest are useless and the procedure restarts. */
const MAX_BUFFERED = 10_000;
/** A failed snapshot is retried after this, doubling up to the cap (the REST budget or Retry-After may be why). */
const SNAPSHOT_RETRY_MS = 1000;
const SNAPSHOT_RETRY_MAX_MS = 30_000;

export interface OrderBookDeps {
  subscribe(stream: string, listener: StreamListener): Unsubscribe;
  readonly rest: RestClient;
  readonly logger: Logger;
}

export class SyncedOrderBook {
  private readonly book: LocalOrderBook;
  private readonly listeners = new Set<OrderBookListener>();
  private readonly unsubscribe: Unsubscribe;
  private synced = false;
  private buffer: Diff[] = [];
  private reason = 'initial';
  private fetching = false;
  private refetch = false;
  private retryMs = SNAPSHOT_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly symbol: string,
    readonly depth: number,
    private readonly deps: OrderBookDeps,
  ) {
    this.book = new LocalOrderBook(symbol, depth);
    // Subscribe before fetching the snapshot, so no diff between the two is missed.
    this.unsubscribe = deps.subscribe(`${symbol}@depth@100ms`, {
      next: (data) => this.onDiff(data),
      gap: (g) => this.resync(`gap in the diff stream: expected ${g.expected}, received ${g.received}`),
      error: (e) => this.fail(e),
      recovery: 'report',
    });
    this.fetchSnapshot();
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
    const diff = readDiff(data);
    if (diff === undefined) return;
    if (!this.synced) {
      this.buffer.push(diff);
      if (this.buffer.length > MAX_BUFFERED)
        this.resync('too many diffs buffered while waiting for a snapshot');
      return;
    }
    if (this.applyNext(diff)) this.notify();
  }

  /** Applies `diff` if it continues the book; starts a resync if it leaves a hole. */
  private applyNext(diff: Diff): boolean {
    const last = this.book.lastUpdateId;
    if (diff.u <= last) return false;
    if (diff.U > last + 1) {
      this.resync(`diff ${diff.U}-${diff.u} does not follow ${last}`);
      this.buffer.push(diff);
      return false;
    }
    this.book.apply(diff.u, diff.b, diff.a);
    return true;
  }

  private resync(reason: string): void {
    if (this.closed) return;
    this.deps.logger.info({ symbol: this.symbol, reason }, 'WSManager order book resynchronising');
    this.synced = false;
    this.buffer = [];
    this.reason = reason;
    this.fetchSnapshot();
  }

  private fetchSnapshot(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    if (this.fetching) {
      // The snapshot on its way was asked for before this resync: fetch another once it is in.
      this.refetch = true;
      return;
    }
    this.fetching = true;
    const query = { symbol: this.symbol.toUpperCase(), limit: this.depth };
    this.deps.rest.get('/api/v3/depth', query, depthWeight(this.depth)).then(
      (answer) => this.snapshotIn(answer.ok ? answer.body : undefined),
      () => this.snapshotIn(undefined),
    );
  }

  private snapshotIn(body: unknown): void {
    this.fetching = false;
    if (this.closed) return;
    if (this.refetch) {
      this.refetch = false;
      this.fetchSnapshot();
      return;
    }
    const snapshot = readSnapshot(body);
    if (snapshot === undefined) {
      this.retryLater();
      return;
    }
    // Binance, step 4: diffs at or below the snapshot are already in it.
    const pending = this.buffer.filter((d) => d.u > snapshot.lastUpdateId);
    // Step 3: a snapshot older than the first buffered diff cannot be continued; fetch a newer one.
    if (pending[0] !== undefined && pending[0].U > snapshot.lastUpdateId + 1) {
      this.retryLater(100);
      return;
    }
    this.book.reset(snapshot.lastUpdateId, snapshot.bids, snapshot.asks);
    this.buffer = [];
    this.synced = true;
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

function readDiff(data: unknown): Diff | undefined {
  const d = data as Record<string, unknown> | null;
  if (d === null || typeof d !== 'object') return undefined;
  const { U, u, b, a } = d;
  if (typeof U !== 'number' || typeof u !== 'number' || !Array.isArray(b) || !Array.isArray(a))
    return undefined;
  return { U, u, b: b as BookLevel[], a: a as BookLevel[] };
}

function readSnapshot(
  body: unknown,
): { lastUpdateId: number; bids: BookLevel[]; asks: BookLevel[] } | undefined {
  const s = body as Record<string, unknown> | null | undefined;
  if (s === null || typeof s !== 'object') return undefined;
  const { lastUpdateId, bids, asks } = s;
  if (typeof lastUpdateId !== 'number' || !Array.isArray(bids) || !Array.isArray(asks)) return undefined;
  return { lastUpdateId, bids: bids as BookLevel[], asks: asks as BookLevel[] };
}
