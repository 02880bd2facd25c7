/** Checks a lifecycle's table through the StateMachine that enforces it: each pair of states once. */
import assert from 'node:assert/strict';
import { IllegalTransitionError, StateMachine, type TransitionTable } from '../../src/core/state-machine.js';

/** Every move the table lists is made; every other move between two different states throws. */
export function assertTable<S extends string>(table: TransitionTable<S>): void {
  const states = Object.keys(table) as S[];
  for (const from of states) {
    for (const to of states) {
      if (to === from) continue;
      const machine = new StateMachine<S>({ owner: 'table test', table, initial: from });
      if (table[from].includes(to)) {
        assert.equal(machine.transition(to, 'test'), true, `${from} -> ${to}`);
        assert.equal(machine.state, to);
      } else {
        assert.throws(() => machine.transition(to, 'test'), IllegalTransitionError, `${from} -> ${to}`);
        assert.equal(machine.state, from);
      }
    }
  }
}
