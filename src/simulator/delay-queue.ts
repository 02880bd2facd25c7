/**
 * Holds outgoing frames back for the injected latency, keeping their order: a frame never leaves before
 * one queued earlier, even when the latency is lowered in between. One timer per connection at most.
 */
interface Delayed {
  readonly due: number;
  readonly bytes: number;
  readonly send: () => void;
}

export class DelayQueue {
  private items: Delayed[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private queuedBytes = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Runs `send` after `delayMs`, or after everything queued before it. */
  push(delayMs: number, bytes: number, send: () => void): void {
    const last = this.items[this.items.length - 1];
    const due = Math.max(this.clock() + delayMs, this.size > 0 && last ? last.due : 0);
    this.items.push({ due, bytes, send });
    this.queuedBytes += bytes;
    if (this.timer === undefined) this.arm();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private arm(): void {
    const next = this.items[this.head];
    if (next === undefined) return;
    this.timer = setTimeout(this.release, Math.max(0, next.due - this.clock()));
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const now = this.clock();
    while (this.head < this.items.length && this.items[this.head]!.due <= now) {
      const item = this.items[this.head++]!;
      this.queuedBytes -= item.bytes;
      item.send();
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.arm();
  };
}
