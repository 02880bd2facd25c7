/**
 * A legacy subscription's lifecycle: its moves over a real socket to the simulator, and its table, whose
 * other moves throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ErrorCodes, type StreamError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import type { StateMachine } from '../../src/core/state-machine.js';
import { binance } from '../../src/exchange/binance/index.js';
import {
  LEGACY_TRANSITIONS,
  type LegacyMove,
  LegacySubscription,
  type LegacySubscriptionState,
} from '../../src/legacy/legacy-subscription.js';
import { UpstreamAdmission } from '../../src/limits/upstream-admission.js';
import { ManagerMetrics } from '../../src/metrics/manager-metrics.js';
import { startSimulator } from '../../src/simulator/index.js';
import { assertTable } from '../core/transition-table.js';
import { waitFor } from '../support/wait-for.js';

function subscription(url: string, errors: StreamError[]): LegacySubscription {
  const logger = silentLogger();
  const metrics = new ManagerMetrics(new Registry(), 'Legacy');
  const admission = new UpstreamAdmission({
    limit: 300,
    windowMs: 300_000,
    name: 'Legacy',
    logger,
    now: Date.now,
    meter: metrics,
  });
  return new LegacySubscription(
    'legacy-1',
    'btcusdt@trade',
    { next: () => {}, error: (e) => errors.push(e) },
    {
      url,
      exchange: binance,
      reconnectDelayMs: 50,
      admission,
      metrics,
      logger,
      now: Date.now,
      onConnectionChange: () => {},
    },
  );
}

describe('LegacySubscription states', () => {
  it('connects, reconnects through waiting after a drop, and closes for good', async () => {
    const sim = await startSimulator({ rate: 20 });
    const errors: StreamError[] = [];
    const sub = subscription(sim.url, errors);
    try {
      assert.equal(sub.state, 'connecting');
      await waitFor('open', () => sub.state === 'open');
      sim.dropConnections();
      await waitFor('waiting', () => sub.state === 'waiting');
      await waitFor('open again', () => sub.state === 'open');
      assert.equal(sub.retries, 0);
      sub.close();
      assert.equal(sub.state, 'closed');
      const lifecycle = Reflect.get(sub, 'lifecycle') as StateMachine<LegacySubscriptionState, LegacyMove>;
      assert.throws(
        () => lifecycle.transition('open', 'socket_open'),
        /Legacy subscription legacy-1: illegal state change closed -> open \(socket_open\)/,
      );
      assert.equal(sub.state, 'closed');
      sub.fail('destroyed');
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, ErrorCodes.DESTROYED);
      assert.equal(errors[0]!.message, 'LegacyStreamSource was destroyed');
    } finally {
      sub.close();
      await sim.close();
    }
  });

  it('the table: every other move throws, and closed is final', () => {
    assertTable(LEGACY_TRANSITIONS);
    assert.deepEqual(LEGACY_TRANSITIONS.closed, []);
  });
});
