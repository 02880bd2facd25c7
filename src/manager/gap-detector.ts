/**
 * Sequence-id bookkeeping of one stream: detects gaps (events skipped, e.g. during an outage) and
 * duplicates (the same event received twice, e.g. on both connections during a rotation). Ids that
 * go back on a fresh socket after a reconnect are not duplicates but a restarted upstream: the owner
 * calls `restart()` then.
 *
 * Which ids an event carries and whether they grow by one per event is the exchange's to say
 * (`Exchange.sequence`; Binance: trade `t`, aggTrade `a`, depth `U`..`u` contiguous, bookTicker `u`
 * ordered only).
 */
import type { SequenceRange } from '../exchange/exchange.js';

/** What `check` decided for one event. */
export type SequenceVerdict =
  | { readonly kind: 'in-order' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number; readonly missed: number };

const IN_ORDER: SequenceVerdict = Object.freeze({ kind: 'in-order' });
const DUPLICATE: SequenceVerdict = Object.freeze({ kind: 'duplicate' });

/**
 * Judges an event whose ids are `range`, after `last` (the last id accepted; undefined before the
 * first): the check of one `GapDetector`, for an owner that keeps `last` itself.
 * @param contiguous true when ids grow by exactly one per event, so a jump is a gap.
 */
export function sequenceVerdict(
  last: number | undefined,
  range: SequenceRange,
  contiguous: boolean,
): SequenceVerdict {
  if (last === undefined) return IN_ORDER;
  if (range.last <= last) return DUPLICATE;
  if (contiguous && range.first > last + 1) {
    return { kind: 'gap', expected: last + 1, received: range.first, missed: range.first - last - 1 };
  }
  return IN_ORDER;
}

export class GapDetector {
  private last: number | undefined;

  /** @param contiguous true when ids grow by exactly one per event, so a jump is a gap. */
  constructor(private readonly contiguous: boolean) {}

  /** The last sequence id accepted, or undefined before the first event. */
  get lastId(): number | undefined {
    return this.last;
  }

  /** Judges the next event without recording it. */
  peek(range: SequenceRange): SequenceVerdict {
    return sequenceVerdict(this.last, range, this.contiguous);
  }

  /** Forgets the last id: the next event starts tracking afresh (the upstream sequence restarted). */
  restart(): void {
    this.last = undefined;
  }

  /** Judges the next event and records it unless it is a duplicate. */
  check(range: SequenceRange): SequenceVerdict {
    const verdict = this.peek(range);
    if (verdict.kind !== 'duplicate') this.last = range.last;
    return verdict;
  }
}
