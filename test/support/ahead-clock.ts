/**
 * A clock for the `now` and `clock` options of the manager and the simulator that keeps real time but
 * can be moved ahead: a test passes an age, a window or a refusal the code reads from it without
 * waiting for it, while sockets and timers keep running in real time.
 */
export interface AheadClock {
  /** Epoch milliseconds: the real time plus every advance so far. */
  readonly now: () => number;
  advance(ms: number): void;
}

export function aheadClock(): AheadClock {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    advance: (ms) => {
      ahead += ms;
    },
  };
}
