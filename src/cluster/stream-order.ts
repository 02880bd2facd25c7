/**
 * The per-stream ordering rule of a gateway: given the last delivered (epoch, seq), what to do with
 * the next event. Pure, so the rule is tested on its own.
 */
export type OrderVerdict =
  | { readonly kind: 'deliver' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'gap'; readonly from: number; readonly to: number }
  /** The sequence restarted under a newer owner (the history had nothing to continue from). */
  | { readonly kind: 'reset' };

export interface OrderState {
  readonly lastSeq: number | undefined;
  readonly epoch: number;
}

export function judge(state: OrderState, seq: number, epoch: number): OrderVerdict {
  // A lower epoch comes from an owner that lost its lease and has not noticed yet.
  if (epoch < state.epoch) return { kind: 'duplicate' };
  if (state.lastSeq === undefined) return { kind: 'deliver' };
  if (seq === state.lastSeq + 1) return { kind: 'deliver' };
  if (seq <= state.lastSeq)
    return epoch > state.epoch && seq === 1 ? { kind: 'reset' } : { kind: 'duplicate' };
  return { kind: 'gap', from: state.lastSeq + 1, to: seq - 1 };
}
