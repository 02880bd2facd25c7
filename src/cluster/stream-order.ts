/**
 * The per-stream ordering rule of a gateway: given the last delivered (epoch, seq), what to do with
 * the next event. Pure, so the rule is tested on its own.
 */
export type OrderVerdict =
  | { readonly kind: 'deliver' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'gap'; readonly from: number; readonly to: number }
  /** Sequence or epochs restarted (the history or the lease bucket was lost): track afresh from here. */
  | { readonly kind: 'reset' };

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
  if (seq <= state.lastSeq)
    return epoch > state.epoch && seq === 1 ? { kind: 'reset' } : { kind: 'duplicate' };
  return { kind: 'gap', from: state.lastSeq + 1, to: seq - 1 };
}
