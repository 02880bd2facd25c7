import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { ErrorCodes, type StreamError } from '../../src/core/errors.js';
import { type GapEvent, WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogger, sleep } from './helpers.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

// Retry delays are shortened through options so the suite stays fast.
const fastRetry = { baseDelayMs: 50, maxDelayMs: 200 };

for (const fault of [
  { name: 'an abrupt reset', drop: { abrupt: true } },
  { name: 'a clean 1000 close from the server', drop: { code: 1000 } },
  { name: 'a 1001 going-away close', drop: { code: 1001 } },
]) {
  test(`${fault.name} is reconnected, resubscribed and the missed events reported as a gap`, async () => {
    const { logger, lines } = captureLogger();
    // A fixed jitter of ~49 ms outlasts two events at 50/s, so the outage always leaves a gap.
    const manager = new WSManager({ url: sim.url, logger, retry: fastRetry, random: () => 0.99 });
    try {
      const trades: number[] = [];
      const gaps: GapEvent[] = [];
      const errors: StreamError[] = [];
      let depth = 0;
      manager.subscribe('btcusdt@trade', {
        next: (d) => trades.push((d as { t: number }).t),
        gap: (g) => gaps.push(g),
        error: (e) => errors.push(e),
      });
      manager.subscribe('ethusdt@depth@100ms', () => depth++);
      await waitFor('first events', () => trades.length >= 3 && depth >= 1);
      // The simulator is shared: wait for an earlier test's sockets to be gone rather than assert at once.
      await waitFor('only this manager connected', () => sim.stats().openConnections === 1);
      assert.equal(sim.dropConnections(fault.drop), 1);
      const count = trades.length;
      const depthCount = depth;
      await waitFor('events after the reconnect', () => trades.length >= count + 3 && depth > depthCount);
      assert.deepEqual(errors, [], 'a server close never ends the subscription');
      await waitFor('the dropped socket gone', () => sim.stats().openConnections === 1);
      assert.deepEqual(sim.stats().connections[0]!.streams.sort(), ['btcusdt@trade', 'ethusdt@depth@100ms']);
      // The feed kept advancing during the outage: the jump is reported, and ids stay increasing.
      assert.ok(gaps.length >= 1, 'gap reported');
      const g = gaps[0]!;
      assert.equal(g.stream, 'btcusdt@trade');
      assert.equal(g.missed, g.received - g.expected);
      for (let i = 1; i < trades.length; i++)
        assert.ok(trades[i]! > trades[i - 1]!, 'no duplicate, no reordering');
      const m = manager.getMetrics();
      assert.equal(m.retryCount, 1);
      assert.ok(m.messageGaps >= 1);
      const retries = lines.filter((l) => /WSManager/.test(l.msg) && /retry/.test(l.msg));
      assert.equal(retries.length, 1, 'one retry line per retry');
      assert.equal(retries[0]!['attempt'], 1);
      assert.equal(typeof retries[0]!['delayMs'], 'number');
      assert.equal(typeof retries[0]!['cause'], 'string');
      const states = lines.filter((l) => l.msg === 'WSManager connection state changed');
      assert.deepEqual(
        states.map((l) => `${l['from']}->${l['to']}`),
        ['connecting->open', 'open->waiting', 'waiting->connecting', 'connecting->open'],
      );
      for (const s of states)
        assert.ok(typeof s['reason'] === 'string' && (s['reason'] as string).length > 0);
    } finally {
      await manager.destroy();
    }
  });
}

test('the attempt counter resets only after a connection stayed up resetAfterMs', async () => {
  for (const [resetAfterMs, expected] of [
    [60_000, [1, 2, 3]],
    [0, [1, 1, 1]],
  ] as const) {
    const { logger, lines } = captureLogger();
    const manager = new WSManager({ url: sim.url, logger, retry: { ...fastRetry, resetAfterMs } });
    try {
      let n = 0;
      manager.subscribe('bnbusdt@trade', () => n++);
      for (let i = 0; i < 3; i++) {
        await waitFor('open', () => manager.getMetrics().activeConnections === 1 && n > 0);
        n = 0;
        const retries = manager.getMetrics().retryCount;
        sim.dropConnections({ abrupt: true });
        // The retry may reconnect within a poll interval, so wait on the retry count, not on "closed".
        await waitFor('the retry', () => manager.getMetrics().retryCount === retries + 1);
      }
      await waitFor('open again', () => manager.getMetrics().activeConnections === 1);
      const attempts = lines.filter((l) => l.msg === 'WSManager retry scheduled').map((l) => l['attempt']);
      assert.deepEqual(attempts, [...expected], `resetAfterMs ${resetAfterMs}`);
    } finally {
      await manager.destroy();
    }
  }
});

test('retries exhausted: subscribers get WS_ERR_RETRIES_EXHAUSTED and health turns unhealthy', async () => {
  const local = await startSimulator({ rate: 20 });
  const registry = new Registry();
  const manager = new WSManager({ url: local.url, registry, retry: { ...fastRetry, maxAttempts: 3 } });
  try {
    const errors: StreamError[] = [];
    manager.subscribe('btcusdt@trade', { next: () => {}, error: (e) => errors.push(e) });
    manager.subscribe('btcusdt@trade', { next: () => {}, error: (e) => errors.push(e) });
    await waitFor('open', () => manager.getMetrics().activeConnections === 1);
    assert.equal(manager.health().healthy, true);
    // A 503 without Retry-After: the ordinary backoff applies (with one, the attempts would pause).
    local.refuseConnections(60_000, 503, null);
    local.dropConnections({ abrupt: true });
    await waitFor('both subscribers errored', () => errors.length === 2, 10_000);
    for (const e of errors) {
      assert.equal(e.code, ErrorCodes.RETRIES_EXHAUSTED);
      assert.equal(e.stream, 'btcusdt@trade');
    }
    const verdict = manager.health();
    assert.equal(verdict.healthy, false);
    assert.match(verdict.reason!, /retries exhausted/);
    const m = manager.getMetrics();
    assert.equal(m.isHealthy, false);
    assert.equal(m.retryCount, 3);
    assert.equal(m.activeStreams, 0);
    assert.equal(m.streamCleanups, m.streamCreations);
    const text = await registry.metrics();
    assert.match(text, /ws_manager_healthy\{venue="binance"\} 0/);
    assert.match(text, /ws_manager_stream_cleanups_by_reason_total\{venue="binance",reason="failed"\} 1/);
    assert.match(text, /ws_manager_errors_total\{venue="binance",reason="retries_exhausted"\} 1/);
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('upstream down longer than healthGraceMs is unhealthy, healthy again once it is back', async () => {
  const local = await startSimulator({ rate: 20 });
  // The health verdict reads the injected clock: the test moves it past the grace instead of sleeping.
  let skewMs = 0;
  const manager = new WSManager({
    url: local.url,
    healthGraceMs: 2000,
    now: () => Date.now() + skewMs,
    retry: { ...fastRetry, maxAttempts: Number.POSITIVE_INFINITY },
  });
  try {
    assert.deepEqual(
      manager.health(),
      { healthy: true, reason: undefined },
      'idle with no streams is healthy',
    );
    let n = 0;
    manager.subscribe('ethusdt@trade', () => n++);
    await waitFor('events', () => n > 0);
    local.refuseConnections(1500, 503, null);
    local.dropConnections({ abrupt: true });
    await waitFor('the connection down', () => manager.getMetrics().activeConnections === 0);
    assert.equal(manager.health().healthy, true, 'within the grace');
    skewMs = 2500;
    assert.equal(manager.health().healthy, false, 'down longer than the grace');
    assert.match(manager.health().reason!, /down for \d+ ms \(grace 2000 ms\)/);
    const count = n;
    await waitFor('recovery', () => manager.health().healthy && n > count, 10_000);
    assert.equal(manager.getMetrics().activeStreams, 1, 'the stream survived the outage');
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('the connection-attempt budget is shared by all connections and never exceeded', async () => {
  const local = await startSimulator({ rate: 5 });
  const { logger, lines } = captureLogger();
  const manager = new WSManager({
    url: local.url,
    logger,
    maxStreamsPerConnection: 1,
    connectionAttempts: { limit: 6, windowMs: 60_000 },
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: Number.POSITIVE_INFINITY },
  });
  try {
    for (const s of ['btcusdt@trade', 'ethusdt@trade', 'bnbusdt@trade']) manager.subscribe(s, () => {});
    await waitFor('three connections', () => local.stats().openConnections === 3);
    local.refuseConnections(60_000, 503, null);
    local.dropConnections({ abrupt: true });
    await waitFor('the budget exhausted', () => lines.some((l) => /budget exhausted/.test(l.msg)));
    await sleep(300);
    assert.equal(local.stats().connectionAttempts, 6, 'three initial + three retries, then waiting');
    const waits = lines.filter((l) => /budget exhausted/.test(l.msg));
    assert.ok(
      waits.every((l) => (l['waitMs'] as number) > 50_000),
      'waits for the window, not a busy loop',
    );
    assert.ok(waits.length <= 3, `one wait per connection (${waits.length})`);
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('malformed frames are counted and skipped without disturbing the streams', async () => {
  const registry = new Registry();
  const manager = new WSManager({ url: sim.url, registry });
  try {
    let n = 0;
    manager.subscribe('solusdt@trade', () => n++);
    await waitFor('events', () => n > 0);
    await waitFor('only this manager connected', () => sim.stats().openConnections === 1);
    assert.equal(sim.sendMalformed({ count: 4 }), 1);
    const count = n;
    await waitFor('events continuing', () => n > count + 5);
    assert.match(
      await registry.metrics(),
      /ws_manager_errors_total\{venue="binance",reason="malformed_frame"\} 4/,
    );
    assert.equal(manager.getMetrics().retryCount, 0);
    assert.equal(manager.getMetrics().activeConnections, 1, 'the same connection kept going');
  } finally {
    await manager.destroy();
  }
});

test('a failing rotation never ends a healthy connection, even after earlier failures', async () => {
  const local = await startSimulator({ rate: 20 });
  const manager = new WSManager({
    url: local.url,
    // Shortened through options: 2 attempts, counter reset after 500 ms up.
    retry: { baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 2, resetAfterMs: 500 },
  });
  try {
    let events = 0;
    const errors: StreamError[] = [];
    manager.subscribe('btcusdt@trade', { next: () => events++, error: (e) => errors.push(e) });
    await waitFor('events', () => events > 0);
    local.dropConnections({ abrupt: true });
    await waitFor(
      'reconnected',
      () => manager.getMetrics().retryCount === 1 && local.stats().openConnections === 1,
    );
    const upAt = Date.now();
    await waitFor('up longer than resetAfterMs', () => Date.now() - upAt > 1000);
    const oldId = local.stats().connections[0]!.id;
    // The rotation socket is refused a few times; the current one keeps serving meanwhile.
    local.refuseConnections(1500, 503);
    assert.equal(local.announceShutdown({ closeAfterMs: 10_000 }), 1);
    await waitFor('rotated once the refusals ended', () => {
      const c = local.stats().connections;
      return c.length === 1 && c[0]!.id !== oldId;
    });
    const count = events;
    await waitFor('events on the new socket', () => events > count + 5);
    assert.deepEqual(errors, [], 'no subscriber was errored');
    assert.equal(manager.health().healthy, true);
    assert.ok(manager.getMetrics().retryCount >= 2, 'the refused rotations were retried');
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('an upstream restart (sequence ids going back) restarts tracking and is reported as a reset', async () => {
  let local = await startSimulator({ rate: 50 });
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const manager = new WSManager({ url: local.url, registry, logger, retry: fastRetry });
  try {
    const trades: number[] = [];
    const gaps: GapEvent[] = [];
    manager.subscribe('btcusdt@trade', {
      next: (d) => trades.push((d as { t: number }).t),
      gap: (g) => gaps.push(g),
    });
    // Far enough ahead that a restarted feed starts below it.
    await waitFor('events', () => trades.length >= 20);
    const port = local.port;
    await local.close();
    const lastBefore = trades.at(-1)!;
    local = await startSimulator({ rate: 50, port });
    await waitFor('events from the restarted upstream', () => trades.at(-1)! < lastBefore);
    const count = trades.length;
    await waitFor('more events after the reset', () => trades.length >= count + 10);
    assert.equal(gaps.length, 1, 'one report');
    const reset = gaps[0]!;
    assert.equal(reset.expected, lastBefore + 1);
    assert.ok(reset.received <= lastBefore, 'the new first id is behind');
    assert.equal(reset.missed, reset.received - reset.expected, 'negative: a reset, not a gap');
    const after = trades.slice(trades.lastIndexOf(reset.received));
    for (let i = 1; i < after.length; i++) assert.equal(after[i], after[i - 1]! + 1, 'contiguous again');
    const text = await registry.metrics();
    assert.match(text, /^ws_manager_sequence_resets_total\{venue="binance"\} 1$/m);
    assert.match(
      text,
      /^ws_manager_message_gaps_total\{venue="binance"\} 0$/m,
      'a reset is not counted as a gap',
    );
    assert.ok(lines.some((l) => /sequence/.test(l.msg) && l['stream'] === 'btcusdt@trade'));
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('a healthy connection reconnects at once after an abrupt drop; a second drop soon after backs off', async () => {
  const local = await startSimulator({ rate: 50 });
  const { logger, lines } = captureLogger();
  // A long backoff (random fixed at 0.99: 4950 ms) that the first reconnect of a healthy socket skips.
  const retry = { baseDelayMs: 5000, maxDelayMs: 5000, healthyAfterMs: 300, firstRetryJitterMs: 50 };
  const clock = aheadClock();
  const manager = new WSManager({ url: local.url, logger, retry, random: () => 0.99, now: clock.now });
  try {
    let n = 0;
    manager.subscribe('btcusdt@aggTrade', () => n++);
    await waitFor('open and delivering', () => n > 0);
    clock.advance(400); // served longer than healthyAfterMs
    const before = n;
    const dropped = Date.now();
    local.dropConnections({ abrupt: true });
    await waitFor('the retry', () => manager.getMetrics().retryCount === 1);
    await waitFor('delivering again', () => manager.getMetrics().activeConnections === 1 && n > before + 2);
    assert.ok(
      Date.now() - dropped < 2000,
      `recovered after ${Date.now() - dropped} ms, not after the backoff`,
    );
    const scheduled = () => lines.filter((l) => l.msg === 'WSManager retry scheduled');
    assert.equal(scheduled()[0]!['delayMs'], 49, 'the first reconnect waits only the jitter');
    // Dropped again right after the reconnect (not healthy yet): the backoff applies.
    local.dropConnections({ abrupt: true });
    await waitFor('the second retry', () => scheduled().length === 2);
    assert.equal(scheduled()[1]!['attempt'], 2);
    assert.equal(scheduled()[1]!['delayMs'], 4950);
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test("the immediate reconnect of a healthy connection still honours the exchange's Retry-After", async () => {
  const local = await startSimulator({ rate: 50 });
  const retry = { baseDelayMs: 50, maxDelayMs: 200, healthyAfterMs: 300 };
  const clock = aheadClock();
  const manager = new WSManager({ url: local.url, retry, random: () => 0.5, now: clock.now });
  try {
    let n = 0;
    manager.subscribe('btcusdt@aggTrade', () => n++);
    await waitFor('open and delivering', () => n > 0);
    clock.advance(400); // served longer than healthyAfterMs
    local.refuseConnections(60_000, 429, 2);
    const attempts = local.stats().connectionAttempts;
    const refusedAt = Date.now();
    local.dropConnections({ abrupt: true });
    await waitFor('the immediate attempt, refused', () => local.stats().connectionAttempts === attempts + 1);
    local.refuseConnections(0);
    await waitFor('the next attempt', () => local.stats().connectionAttempts === attempts + 2, 10_000);
    assert.ok(
      Date.now() - refusedAt >= 1900,
      `next attempt after ${Date.now() - refusedAt} ms, Retry-After 2 s`,
    );
    await waitFor('delivering again', () => manager.getMetrics().activeConnections === 1);
  } finally {
    await manager.destroy();
    await local.close();
  }
});
