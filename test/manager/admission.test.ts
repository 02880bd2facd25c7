/**
 * WSManager and the upstream's refusals: a 429/418 (or a 503 with Retry-After) stops every attempt of
 * the whole manager until the time named, visibly (gauge, health, one log line), then it recovers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { recordUpgradeAttempts } from '../support/upgrade-attempts.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogger } from './helpers.js';

const fastRetry = { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: Number.POSITIVE_INFINITY };

function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name}\\{venue="binance"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${name} exported`);
  return Number(match[1]);
}

test('a 429 with Retry-After stops every connection attempt of the manager until it has passed', async () => {
  const sim = await startSimulator({ rate: 20 });
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  // One stream per connection, so a subscription made during the pause needs a connection of its own.
  const manager = new WSManager({
    url: sim.url,
    registry,
    logger,
    maxStreamsPerConnection: 1,
    retry: fastRetry,
  });
  const recorder = recordUpgradeAttempts(sim);
  try {
    let btc = 0;
    manager.subscribe('btcusdt@trade', () => btc++);
    await waitFor('events', () => btc > 0);
    assert.equal(gauge(await registry.metrics(), 'ws_manager_upstream_retry_after_seconds'), 0);
    const before = recorder.attempts.length;
    // Refusals for 300 ms, each naming Retry-After: 2; the drop makes the manager reconnect into them.
    sim.refuseConnections(300, 429, 2);
    sim.dropConnections({ abrupt: true });
    await waitFor('the refusal', () => manager.health().healthy === false);
    await waitFor('the refused attempt recorded', () => recorder.attempts.length > before);
    const refused = recorder.attempts[before]!;
    assert.ok(refused, 'the reconnect reached the simulator and was refused');
    const verdict = manager.health();
    assert.match(verdict.reason!, /refused with HTTP 429: no connection attempt for 2 s \(Retry-After\)/);
    const waiting = gauge(await registry.metrics(), 'ws_manager_upstream_retry_after_seconds');
    assert.ok(waiting > 0 && waiting <= 2, `retry-after gauge ${waiting}`);
    assert.equal(manager.getMetrics().isHealthy, false);
    // A new connection is wanted during the pause: it waits too.
    let eth = 0;
    manager.subscribe('ethusdt@trade', () => eth++);
    await waitFor('both streams delivering again', () => btc > 5 && eth > 0, 10_000);
    const later = recorder.attempts.slice(before + 1);
    assert.ok(later.length >= 2, 'the reconnect and the new connection');
    for (const attempt of later) {
      assert.ok(
        attempt.seenBy >= refused.after + 2000,
        `attempt at most ${attempt.seenBy - refused.after} ms after the refusal; Retry-After was 2 s`,
      );
    }
    assert.equal(manager.health().healthy, true);
    assert.equal(gauge(await registry.metrics(), 'ws_manager_upstream_retry_after_seconds'), 0);
    const pauses = lines.filter((l) => /pausing every connection attempt/.test(l.msg));
    assert.equal(pauses.length, 1, 'one log line when the pause starts');
    assert.equal(pauses[0]!['status'], 429);
    assert.equal(pauses[0]!['retryAfter'], '2');
    assert.equal(gauge(await registry.metrics(), 'ws_manager_upstream_connect_attempts_total'), 1 + 1 + 2);
  } finally {
    recorder.stop();
    await manager.destroy();
    await sim.close();
  }
});

test('a 418 ban stops attempts for its Retry-After; a 503 without one only backs off', async () => {
  const sim = await startSimulator({ rate: 20 });
  const manager = new WSManager({ url: sim.url, retry: fastRetry });
  const recorder = recordUpgradeAttempts(sim);
  try {
    let n = 0;
    manager.subscribe('bnbusdt@trade', () => n++);
    await waitFor('events', () => n > 0);
    let before = recorder.attempts.length;
    sim.refuseConnections(200, 418, 1);
    sim.dropConnections({ abrupt: true });
    await waitFor('the ban reported', () => /banned \(HTTP 418\)/.test(manager.health().reason ?? ''));
    await waitFor('the refused attempt recorded', () => recorder.attempts.length > before);
    const banned = recorder.attempts[before]!;
    let count = n;
    await waitFor('delivering after the ban', () => n > count + 3, 10_000);
    for (const attempt of recorder.attempts.slice(before + 1))
      assert.ok(attempt.seenBy >= banned.after + 1000, 'no attempt during the ban');

    before = recorder.attempts.length;
    sim.refuseConnections(400, 503, null);
    sim.dropConnections({ abrupt: true });
    count = n;
    await waitFor('delivering after the 503s', () => n > count + 3, 10_000);
    assert.ok(recorder.attempts.length - before >= 2, 'a 503 without Retry-After is retried on backoff');
    assert.equal(manager.getMetrics().upstreamRetryAfterSeconds, 0);
  } finally {
    recorder.stop();
    await manager.destroy();
    await sim.close();
  }
});
