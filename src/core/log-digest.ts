/**
 * One log line per interval for a line that can repeat once per stream or per event: a refill refused
 * for a thousand gaps, a subscriber handler that throws on every event. The first occurrence in an
 * interval is logged at once, with its own fields, so an operator sees the problem when it starts; the
 * next ones are counted and logged together when the interval ends, as one line with the count, the
 * count by reason and a few of the streams concerned. Nothing is logged for an interval without any.
 */
import type { Logger } from './log.js';

/** Distinct streams named in a summary line. */
const SAMPLE_STREAMS = 5;

export interface DigestFields {
  readonly stream?: string;
  readonly reason?: string;
  readonly [field: string]: unknown;
}

export class LogDigest {
  private windowStart = Number.NEGATIVE_INFINITY;
  private count = 0;
  private byReason: Record<string, number> = {};
  private streams = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly level: 'info' | 'warn',
    private readonly message: string,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(fields: DigestFields): void {
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs && this.count === 0) {
      this.windowStart = now;
      this.logger[this.level](fields, this.message);
      return;
    }
    this.count++;
    if (fields.reason !== undefined) this.byReason[fields.reason] = (this.byReason[fields.reason] ?? 0) + 1;
    if (fields.stream !== undefined && this.streams.size < SAMPLE_STREAMS) this.streams.add(fields.stream);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.intervalMs - now));
      this.timer.unref();
    }
  }

  /** Logs the summary of what was counted and not logged yet (at the interval's end, or on close). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const summary: Record<string, unknown> = { repeated: this.count, streams: [...this.streams] };
    if (Object.keys(this.byReason).length > 0) summary['byReason'] = this.byReason;
    this.logger[this.level](summary, `${this.message} (repeated)`);
    this.windowStart = this.now();
    this.count = 0;
    this.byReason = {};
    this.streams = new Set();
  }
}
