/**
 * Issue 9 item 5 at a small scale: clients subscribing and unsubscribing in a loop under the legacy
 * baseline (one socket per subscriber) stay within the exchange's connection-attempt budget, and the
 * source turns unhealthy when a stream it serves cannot be connected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { LegacyStreamSource } from '../../src/legacy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { recordUpgradeAttempts } from '../support/upgrade-attempts.js';
import { waitFor } from '../support/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(text: string, name: string): number {
  const match = new RegExp(`^${name}\\{venue="binance"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${name} exported`);
  return Number(match[1]);
}

test('subscribe/unsubscribe churn stays within the attempt budget; a stream that cannot connect makes it unhealthy', async () => {
  // The exchange's 300 attempts per 5 minutes, scaled down to 8 per 5 s on both sides.
  const sim = await startSimulator({ rate: 20, limits: { maxConnectionAttempts: 8, attemptWindowMs: 5000 } });
  const registry = new Registry();
  const source = new LegacyStreamSource({
    url: sim.url,
    registry,
    reconnectDelayMs: 50,
    healthGraceMs: 500,
    connectionAttempts: { limit: 8, windowMs: 5000 },
  });
  try {
    let existing = 0;
    source.subscribe('btcusdt@trade', () => existing++);
    await waitFor('the existing subscriber served', () => existing > 0);
    // Five clients, each cycling through streams as fast as a client may.
    const stopAt = Date.now() + 2500;
    const clients = ['eth', 'bnb', 'sol', 'xrp', 'ada'].map(async (symbol) => {
      for (let i = 0; Date.now() < stopAt; i++) {
        const off = source.subscribe(`${symbol}usdt@${i % 2 ? 'trade' : 'aggTrade'}`, () => {});
        await sleep(100);
        off();
      }
    });
    await Promise.all(clients);
    const stats = sim.stats();
    assert.equal(stats.limitBreaches.connectionAttempts, 0, 'no attempt refused with 429');
    assert.ok(stats.connectionAttempts <= 8, `${stats.connectionAttempts} attempts, budget 8`);
    const text = await registry.metrics();
    assert.equal(sample(text, 'ws_manager_upstream_connect_attempts_total'), stats.connectionAttempts);
    assert.equal(sample(text, 'ws_manager_upstream_connect_budget_ratio'), 1);
    const before = existing;
    await waitFor('the existing subscriber still served', () => existing > before + 3);

    // The budget is spent: a new stream waits (it does not fail) and health says so after the grace.
    let fresh = 0;
    const errors: unknown[] = [];
    source.subscribe('dogeusdt@trade', { next: () => fresh++, error: (e) => errors.push(e) });
    await waitFor('unhealthy while the stream cannot connect', () => !source.health().healthy, 2000);
    assert.match(source.health().reason!, /upstream down for more than \d+ s \(dogeusdt@trade\)/);
    assert.equal(fresh, 0);
    await waitFor('connected once the window let it', () => fresh > 0, 10_000);
    assert.deepEqual(errors, []);
    assert.equal(source.health().healthy, true);
    assert.equal(sim.stats().limitBreaches.connectionAttempts, 0);
  } finally {
    await source.destroy();
    await sim.close();
  }
});

test('legacy honours Retry-After: no attempt before it passes, unhealthy meanwhile, then serves again', async () => {
  const sim = await startSimulator({ rate: 20 });
  const registry = new Registry();
  const source = new LegacyStreamSource({ url: sim.url, registry, reconnectDelayMs: 50 });
  const recorder = recordUpgradeAttempts(sim);
  try {
    let n = 0;
    source.subscribe('btcusdt@trade', () => n++);
    source.subscribe('btcusdt@trade', () => {});
    await waitFor('both sockets open', () => n > 0 && source.getMetrics().activeConnections === 2);
    const before = recorder.attempts.length;
    sim.refuseConnections(300, 429, 2);
    sim.dropConnections({ abrupt: true });
    await waitFor('the pause in the health verdict', () => /HTTP 429/.test(source.health().reason ?? ''));
    await waitFor('the refused attempt recorded', () => recorder.attempts.length > before);
    assert.ok(sample(await registry.metrics(), 'ws_manager_upstream_retry_after_seconds') > 0);
    const first = recorder.attempts[before]!;
    const count = n;
    await waitFor('served again', () => n > count + 3, 10_000);
    // Both sockets may have been refused (they reconnect together, within 100 ms); nothing else
    // before the 2 s.
    const early = recorder.attempts
      .slice(before + 1)
      .filter((a) => a.after > first.seenBy + 100 && a.seenBy < first.after + 2000);
    assert.deepEqual(early, [], 'no attempt during the Retry-After pause');
    assert.equal(source.health().healthy, true);
  } finally {
    recorder.stop();
    await source.destroy();
    await sim.close();
  }
});

test('legacy connectionAttempts options are checked with a message naming them', () => {
  assert.throws(() => new LegacyStreamSource({ url: 'ws://127.0.0.1:1', connectionAttempts: { limit: 0 } }), {
    code: 'WS_ERR_INVALID_OPTION',
    message: 'option connectionAttempts.limit must be a positive integer, received 0',
  });
  assert.throws(
    () => new LegacyStreamSource({ url: 'ws://127.0.0.1:1', connectionAttempts: { windowMs: 1.5 } }),
    { message: 'option connectionAttempts.windowMs must be a positive integer, received 1.5' },
  );
});
