/**
 * The per-stream ordering rule of a gateway: given the last delivered (epoch, seq), what to do with
 * the next event. Pure, so the rule is tested on its own.
 */
export type OrderVerdict =
  | { readonly kind: 'deliver' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'gap'; readonly from: number; readonly to: number }
  /** Sequence or epochs restarted (the history or the lease bucket was lost): track afresh from here. */
  | { readonly kind: 'reset' }
  /**
   * A higher epoch numbering from at or below the last sequence: a successor that started while the
   * previous owner still published (a planned handover). Its numbering replaces the current one; the
   * events both published are told apart by the exchange's own ids.
   */
  | { readonly kind: 'switch' };

export interface OrderState {
  readonly lastSeq: number | undefined;
  readonly epoch: number;
}

/**
 * @param ownerSilent true when the current owner has sent nothing for a whole lease TTL: a lower epoch
 *   then cannot come from a stale owner (those stop within the TTL), so epochs restarted (the lease
 *   bucket was recreated after NATS lost it).
 */
export function judge(state: OrderState, seq: number, epoch: number, ownerSilent = false): OrderVerdict {
  // A lower epoch comes from an owner that lost its lease and has not noticed yet.
  if (epoch < state.epoch) return ownerSilent ? { kind: 'reset' } : { kind: 'duplicate' };
  if (state.lastSeq === undefined) return { kind: 'deliver' };
  if (seq === state.lastSeq + 1) return { kind: 'deliver' };
  if (seq <= state.lastSeq) {
    if (epoch <= state.epoch) return { kind: 'duplicate' };
    return seq === 1 ? { kind: 'reset' } : { kind: 'switch' };
  }
  return { kind: 'gap', from: state.lastSeq + 1, to: seq - 1 };
}

/** An event that would move a stream to another line (owner epoch or sequence), not adopted yet. */
export interface Pending {
  readonly seq: number;
  readonly epoch: number;
  /** Local time it arrived. */
  readonly at: number;
  readonly payload: Buffer;
  readonly data: object;
}

/**
 * True when a verdict (after any replay) would start a line or leave the current one: the first event
 * of a stream, a higher epoch, a sequence jump nothing filled, or a restart. Such an event is adopted
 * only once `confirms` holds for the next one.
 */
export function changesLine(state: OrderState, verdict: OrderVerdict, epoch: number): boolean {
  if (verdict.kind === 'gap' || verdict.kind === 'reset' || verdict.kind === 'switch') return true;
  return verdict.kind === 'deliver' && (state.lastSeq === undefined || epoch > state.epoch);
}

/** The next event of the pending line: same epoch, the following sequence number. */
export function confirms(pending: Pick<Pending, 'seq' | 'epoch'>, seq: number, epoch: number): boolean {
  return epoch === pending.epoch && seq === pending.seq + 1;
}

/**
 * Whether a pending line survives an event of the current line being delivered. During a handover both
 * owners publish, so events of the old owner come between the successor's first and second events: a
 * pending line of a higher epoch waits through them, for at most `boundMs` (the old owner stops within
 * a lease TTL). Any other pending line is dropped as soon as the current line goes on, so one stray
 * message still cannot hold a stream.
 */
export function outlives(
  pending: Pick<Pending, 'epoch' | 'at'>,
  state: OrderState,
  now: number,
  boundMs: number,
): boolean {
  return pending.epoch > state.epoch && now - pending.at <= boundMs;
}

/**
 * How long the previous owner's line may stay silent and still count as publishing: the gap between
 * two of its events while both owners read the same stream is far shorter.
 */
export const OLD_LINE_QUIET_MS = 250;

/**
 * Whether a gateway waits for the previous owner's line before switching to a confirmed successor: the
 * successor's first exchange id `first` lies beyond the next one due (`lastId + 1`), the previous line
 * delivered within `OLD_LINE_QUIET_MS`, and the switch has waited less than `boundMs`. The two owners
 * read the exchange on different sockets, so the old line can lag; switching at once would drop the
 * ids it has yet to deliver (as a superseded owner's) and report them lost.
 */
export function awaitsOldLine(
  lastId: number,
  first: number | undefined,
  oldLineQuietMs: number,
  waitedMs: number,
  boundMs: number,
): boolean {
  return (
    first !== undefined && first > lastId + 1 && oldLineQuietMs < OLD_LINE_QUIET_MS && waitedMs < boundMs
  );
}

/**
 * Whether a candle update opening at `open` may follow the last one delivered (opening at `lastOpen`,
 * closing it when `lastClosed`): a later candle, or the same one while it is still open. An earlier
 * candle, or any update of a candle already closed, was delivered by the other owner of an overlap.
 * (Two updates of a still open candle cannot be told apart without ids: one may come twice.)
 */
export function candleFollows(lastOpen: number, lastClosed: boolean, open: number): boolean {
  return open > lastOpen || (open === lastOpen && !lastClosed);
}

/**
 * Whether a gateway waits for the previous owner's line of an order-book stream (a venue's book ids:
 * OKX `seqId`, Bybit `u`) before switching to a confirmed successor: the successor's first book id
 * `first` lies past the last one delivered `lastId`, the old line delivered within `OLD_LINE_QUIET_MS`
 * and the switch has waited less than `boundMs`. Book ids are not contiguous (OKX skips), so unlike
 * `awaitsOldLine` any id past the last one counts as ahead.
 */
export function bookAwaitsOldLine(
  lastId: number,
  first: number | undefined,
  oldLineQuietMs: number,
  waitedMs: number,
  boundMs: number,
): boolean {
  return first !== undefined && first > lastId && oldLineQuietMs < OLD_LINE_QUIET_MS && waitedMs < boundMs;
}

/**
 * Whether a successor's push with book id `last`, after a switch of an order-book stream, was delivered
 * by the old line already (drop it): the old line delivered up to book id `upTo`, and `seen` is the
 * successor's last book id dropped so far (-Infinity before any). Dropped: at or below `upTo` and not
 * below `seen`. The successor's own ids only grow, so one going back is the venue's book restarting (a
 * new snapshot with lower ids), which passes, as does the first push past `upTo`; either ends the overlap.
 */
export function bookOverlapDrops(upTo: number, seen: number, last: number): boolean {
  return last <= upTo && last >= seen;
}
