/**
 * One client's subscription to a venue's order-book topic that starts with a snapshot of its own (Bybit
 * `orderbook.{depth}.{symbol}`, OKX `books`, see `SeededBooks`). The upstream subscription is shared, so
 * a client joining a topic others already hold would get deltas without the snapshot they continue.
 * Until the client's book is in step, its frames are held back: either the venue's own snapshot comes
 * (the client was first, or the venue re-sent the topic) and passes, or a snapshot built from the
 * source's kept book is sent, after which only updates past it pass. Then every frame passes unread, so
 * the cost is a few parsed frames per join.
 *
 * The client gets one snapshot, not two: when the kept book is not in step as the client joins (its
 * subscription is new, so the venue's snapshot for it is on its way), the kept snapshot waits for the
 * client's first frame. A venue snapshot then passes alone; an update instead (a venue that pushes no
 * snapshot on subscribe, or a topic already held) releases the kept snapshot, which it continues.
 */
import type { BookCapability, OrderBookView } from '../core/capabilities.js';
import type { Unsubscribe } from '../core/stream-source.js';
import type { SeededBooks } from '../exchange/dialect.js';

export class BookJoin {
  /** True once frames pass unread. */
  private live = false;
  /** The update id of the snapshot sent from the kept book, or undefined before one. */
  private sentAt: number | undefined;
  /** The kept book, once in step, while its snapshot waits for the client's first frame. */
  private held: OrderBookView | undefined;
  /** Whether the kept snapshot waits for the client's first frame (the venue's snapshot may be due). */
  private waiting = false;
  private release: Unsubscribe | undefined;

  /**
   * @param send writes a text frame to the client
   */
  constructor(
    private readonly stream: string,
    private readonly books: SeededBooks,
    source: BookCapability,
    private readonly send: (text: string) => void,
    private readonly now: () => number,
  ) {
    const book = books.bookOf(stream);
    if (book === undefined) {
      this.live = true;
      return;
    }
    try {
      // Held while the client holds the stream: the kept book then stays in step for the next client to
      // join, without the venue having to send the topic afresh.
      this.release = source.orderBook(book.symbol, book.depth, {
        next: (view) => {
          if (this.live || this.sentAt !== undefined) return;
          if (this.waiting) this.held = view;
          else this.sendKept(view);
        },
        // Without a kept book the frames pass as they come: the venue's next snapshot puts the client in step.
        error: () => {
          this.live = true;
        },
      });
    } catch {
      this.live = true;
      return;
    }
    // A kept book in step at once (reported from inside `orderBook`) has sent its snapshot already.
    if (!this.live && this.sentAt === undefined) this.waiting = true;
  }

  /** Whether the frame `payload` goes to the client. */
  admits(payload: Buffer): boolean {
    if (this.live) return true;
    const frame = this.books.readFrame(payload);
    if (frame === undefined) return false;
    if (frame.snapshot) {
      this.live = true;
      this.held = undefined;
      // The venue's snapshot of the very update just sent from the kept book adds nothing.
      return frame.updateId !== this.sentAt;
    }
    if (this.waiting) {
      // An update came first: no venue snapshot is on its way, so the kept book puts the client in step.
      this.waiting = false;
      const held = this.held;
      this.held = undefined;
      if (held !== undefined) this.sendKept(held);
    }
    if (this.sentAt !== undefined && frame.updateId > this.sentAt) {
      this.live = true;
      return true;
    }
    return false;
  }

  /** Stops following the kept book (the client let go of the stream). */
  close(): void {
    this.live = true;
    this.held = undefined;
    const release = this.release;
    this.release = undefined;
    // Not from inside a listener call of the source: its subscriber lists may be being walked.
    if (release !== undefined) queueMicrotask(release);
  }

  private sendKept(view: OrderBookView): void {
    this.sentAt = view.lastUpdateId;
    this.send(this.books.snapshotFrame(this.stream, view, this.now()));
  }
}
