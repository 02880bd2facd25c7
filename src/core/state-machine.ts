/**
 * A lifecycle's state and the only moves it may make. The owner declares its table once; every change
 * goes through `transition`, which refuses a move outside the table by throwing: such a move means the
 * code lost track of its sockets, timers or leases, a programming error rather than a runtime condition.
 */

/** For each state, the states it may move to; a state with no way out lists none. */
export type TransitionTable<S extends string> = { readonly [From in S]: readonly S[] };

/** Called after each move, with the state left, the state entered and why. */
export type TransitionListener<S extends string, R> = (from: S, to: S, reason: R) => void;

export class IllegalTransitionError extends Error {
  constructor(
    owner: string,
    readonly from: string,
    readonly to: string,
    reason: string,
  ) {
    super(`${owner}: illegal state change ${from} -> ${to} (${reason})`);
    this.name = 'IllegalTransitionError';
  }
}

export interface StateMachineOptions<S extends string, R> {
  /** Names the owner in the error of an illegal move, e.g. `WSManager connection c1`. */
  readonly owner: string;
  readonly table: TransitionTable<S>;
  readonly initial: S;
  readonly onChange?: TransitionListener<S, R> | undefined;
  /** The reason as the error of an illegal move shows it (default: `String(reason)`). */
  readonly describe?: (reason: R) => string;
}

/** @typeParam R why a move is made: a code, or a record carrying a code and its facts. */
export class StateMachine<S extends string, R = string> {
  private current: S;

  constructor(private readonly o: StateMachineOptions<S, R>) {
    this.current = o.initial;
  }

  get state(): S {
    return this.current;
  }

  /** True when the table allows moving from the current state to `to`. */
  can(to: S): boolean {
    return this.o.table[this.current].includes(to);
  }

  /**
   * Moves to `to`. Staying in the current state is no move: nothing is checked or reported, and it
   * returns false.
   * @throws IllegalTransitionError when the table has no such move; the state is left unchanged.
   */
  transition(to: S, reason: R): boolean {
    const from = this.current;
    if (from === to) return false;
    if (!this.can(to)) {
      const shown = this.o.describe === undefined ? String(reason) : this.o.describe(reason);
      throw new IllegalTransitionError(this.o.owner, from, to, shown);
    }
    this.current = to;
    this.o.onChange?.(from, to, reason);
    return true;
  }
}
