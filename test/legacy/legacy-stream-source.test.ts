/** The legacy baseline: one socket per subscriber, fixed-delay reconnect, the shared metrics. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import type { StreamError } from '../../src/core/errors.js';
import { ErrorCodes } from '../../src/core/errors.js';
import type { StreamMessage } from '../../src/core/stream-source.js';
import { LegacyStreamSource } from '../../src/legacy/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

describe('LegacyStreamSource', () => {
  let simulator: Simulator;
  before(async () => {
    simulator = await startSimulator({ rate: 20 });
  });
  after(async () => {
    await simulator.close();
  });

  it('rejects bad options and stream names with stable codes', () => {
    assert.throws(() => new LegacyStreamSource({ url: 'http://x' }), {
      name: 'InvalidArgumentError',
      code: ErrorCodes.INVALID_OPTION,
      message: 'option url must be a ws:// or wss:// URL, received "http://x"',
    });
    assert.throws(() => new LegacyStreamSource({ url: simulator.url, reconnectDelayMs: -1 }), {
      code: ErrorCodes.INVALID_OPTION,
      message: /reconnectDelayMs must be a positive integer, received -1/,
    });
    const source = new LegacyStreamSource({ url: simulator.url });
    assert.throws(() => source.subscribe('BTCUSDT@trade', () => {}), { code: ErrorCodes.INVALID_STREAM });
  });

  it('opens one raw socket per subscriber, never sharing', async () => {
    const registry = new Registry();
    const source = new LegacyStreamSource({ url: simulator.url, registry });
    let a = 0;
    let b = 0;
    const offA = source.subscribe('btcusdt@trade', () => a++);
    const offB = source.subscribe('btcusdt@trade', () => b++);
    try {
      await waitFor('events on both subscribers', () => a > 0 && b > 0);
      const carrying = simulator.stats().connections.filter((c) => c.streams.includes('btcusdt@trade'));
      assert.equal(carrying.length, 2);
      assert.equal(source.getMetrics().activeConnections, 2);
      assert.equal(source.getMetrics().streamCreations, 2);
      assert.deepEqual(
        source.listStreams().map((s) => [s.stream, s.subscribers]),
        [['btcusdt@trade', 2]],
      );
      const text = await registry.metrics();
      assert.match(text, /^ws_manager_active_connections\{venue="binance"\} 2$/m);
      assert.match(text, /^ws_manager_info\{implementation="Legacy"\} 1$/m);
    } finally {
      offA();
      offB();
    }
    assert.equal(source.getMetrics().activeConnections, 0);
    assert.equal(source.getMetrics().streamCleanups, 2);
    assert.equal(source.forceCleanupIdleStreams(), 0, 'nothing is ever idle');
    await source.destroy();
  });

  it('reconnects after a fixed delay, without jitter', async () => {
    // 1.5 s instead of the default 5 s keeps the test short while leaving room to see the wait.
    const source = new LegacyStreamSource({ url: simulator.url, reconnectDelayMs: 1500 });
    let received = 0;
    const off = source.subscribe('ethusdt@trade', () => received++);
    try {
      await waitFor('connected', () => received > 0 && source.getMetrics().activeConnections === 1);
      const attempts = simulator.stats().connectionAttempts;
      const droppedAt = Date.now();
      assert.equal(simulator.dropConnections({ abrupt: true }), 1);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(simulator.stats().connectionAttempts, attempts, 'no attempt before the delay');
      await waitFor('reconnect attempt', () => simulator.stats().connectionAttempts > attempts);
      assert.ok(Date.now() - droppedAt >= 1400, 'waited the fixed delay');
      assert.equal(source.getMetrics().retryCount, 1);
    } finally {
      off();
      await source.destroy();
    }
  });

  it('turns unhealthy when a socket stays down longer than the grace period', async () => {
    let now = 1_000_000;
    const source = new LegacyStreamSource({
      url: 'ws://127.0.0.1:1',
      healthGraceMs: 5000,
      reconnectDelayMs: 60_000,
      now: () => now,
    });
    assert.deepEqual(source.health(), { healthy: true, reason: undefined }, 'idle is healthy');
    const errors: StreamError[] = [];
    source.subscribe('btcusdt@trade', { next: () => {}, error: (e) => errors.push(e) });
    now += 4000;
    assert.equal(source.health().healthy, true);
    now += 2000;
    assert.equal(source.health().healthy, false);
    assert.match(source.health().reason ?? '', /upstream down for more than 5 s/);
    await source.destroy();
    assert.equal(errors[0]?.code, ErrorCodes.DESTROYED);
  });

  it('builds the combined frame the exchange would send for the same event', async () => {
    // The reference is independent of the code under test: the simulator's own combined frame for the
    // same trade, received on a separate /stream connection and matched by trade id.
    const reference = new Map<number, Buffer>();
    const combined = new WebSocket(`${simulator.url}/stream?streams=btcusdt@trade`, {
      perMessageDeflate: false,
    });
    combined.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { data: { t: number } };
      reference.set(frame.data.t, data);
    });
    await new Promise((resolve) => combined.once('open', resolve));
    const source = new LegacyStreamSource({ url: simulator.url });
    const seen: StreamMessage[] = [];
    const off = source.subscribe('btcusdt@trade', (_data, message) => seen.push(message));
    try {
      const matched = () => seen.filter((m) => reference.has((m.data as { t: number }).t));
      await waitFor('the same trades on both connections', () => matched().length >= 3);
      for (const message of matched()) {
        const expected = reference.get((message.data as { t: number }).t)!;
        assert.equal(message.frameBytes().toString(), expected.toString());
        assert.ok(message.frameBytes().equals(expected), 'byte for byte');
        assert.equal(message.frameBytes(), message.frameBytes(), 'built once');
      }
    } finally {
      off();
      combined.terminate();
      await source.destroy();
    }
  });
});
