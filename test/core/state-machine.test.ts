import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IllegalTransitionError, StateMachine, type TransitionTable } from '../../src/core/state-machine.js';
import { assertTable } from './transition-table.js';

type Light = 'off' | 'on' | 'broken';
const LIGHT: TransitionTable<Light> = { off: ['on', 'broken'], on: ['off', 'broken'], broken: [] };

function light(onChange?: (from: Light, to: Light, reason: string) => void) {
  return new StateMachine<Light>({ owner: 'lamp 1', table: LIGHT, initial: 'off', onChange });
}

describe('StateMachine', () => {
  it('starts in its initial state and makes the moves its table lists', () => {
    const moves: string[] = [];
    const lamp = light((from, to, reason) => moves.push(`${from}->${to}:${reason}`));
    assert.equal(lamp.state, 'off');
    assert.equal(lamp.transition('on', 'switched'), true);
    assert.equal(lamp.transition('broken', 'bulb blew'), true);
    assert.equal(lamp.state, 'broken');
    assert.deepEqual(moves, ['off->on:switched', 'on->broken:bulb blew']);
  });

  it('throws on a move outside the table, names owner, states and reason, and stays put', () => {
    const moves: string[] = [];
    const lamp = light((from, to) => moves.push(`${from}->${to}`));
    lamp.transition('broken', 'dropped');
    assert.throws(
      () => lamp.transition('on', 'switched'),
      (error: unknown) =>
        error instanceof IllegalTransitionError &&
        error.message === 'lamp 1: illegal state change broken -> on (switched)' &&
        error.from === 'broken' &&
        error.to === 'on',
    );
    assert.equal(lamp.state, 'broken');
    assert.deepEqual(moves, ['off->broken'], 'the listener hears no refused move');
  });

  it('treats a move to the current state as no move: no check, no listener call', () => {
    let calls = 0;
    const lamp = light(() => calls++);
    lamp.transition('broken', 'dropped');
    assert.equal(lamp.transition('broken', 'dropped again'), false);
    assert.equal(calls, 1);
  });

  it('shows a structured reason through describe', () => {
    const lamp = new StateMachine<Light, { code: string }>({
      owner: 'lamp 2',
      table: LIGHT,
      initial: 'broken',
      describe: (r) => `code ${r.code}`,
    });
    assert.equal(lamp.can('on'), false);
    assert.throws(
      () => lamp.transition('on', { code: 'x' }),
      /lamp 2: illegal state change broken -> on \(code x\)/,
    );
  });

  it('assertTable walks every pair of states', () => {
    assertTable(LIGHT);
  });
});
