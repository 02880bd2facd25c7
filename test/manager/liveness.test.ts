import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { type GapEvent, WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { captureLogger, sleep, waitFor } from './helpers.js';

// Timers (ping interval, pong deadline, stall timeout, lifetime) are shortened through options.

test('server pings are answered with their payload, pongs paced with the control messages', async () => {
  // ~6.7 pings per second: answering each would breach 5 frames/s, so pongs must share the 4/s budget.
  const sim = await startSimulator({ rate: 10, limits: { pingIntervalMs: 150, pongTimeoutMs: 1000 } });
  const manager = new WSManager({ url: sim.url, idleGraceMs: 0 });
  try {
    let n = 0;
    manager.subscribe('btcusdt@trade', () => n++);
    await waitFor('open', () => n > 0);
    const id = sim.stats().connections[0]!.id;
    for (let i = 0; i < 20; i++) {
      const un = manager.subscribe(`sym${i}usdt@trade`, () => {});
      await sleep(50);
      un();
    }
    await sleep(1500);
    const stats = sim.stats();
    assert.equal(stats.limitBreaches.messageRate, 0, 'no 1008');
    assert.equal(stats.openConnections, 1);
    assert.equal(stats.connections[0]!.id, id, 'the same connection survived: pong deadline met');
    assert.equal(manager.getMetrics().retryCount, 0);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a stalled connection is detected, terminated and replaced', async () => {
  const sim = await startSimulator({ rate: 20 });
  const registry = new Registry();
  const manager = new WSManager({ url: sim.url, registry, stallTimeoutMs: 400, retry: { baseDelayMs: 20 } });
  try {
    let n = 0;
    manager.subscribe('ethusdt@aggTrade', () => n++);
    await waitFor('events', () => n > 0);
    assert.equal(sim.stall(), 1);
    const count = n;
    await waitFor('a fresh connection delivering', () => n > count + 3, 10_000);
    assert.match(await registry.metrics(), /ws_manager_errors_total\{reason="stalled"\} 1/);
    assert.equal(manager.getMetrics().retryCount, 1);
    assert.equal(sim.stats().connections.filter((c) => !c.stalled).length, 1);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

interface Recorder {
  trades: number[];
  depth: Array<[number, number]>;
  tickers: number;
  gaps: GapEvent[];
}

function record(manager: WSManager): Recorder {
  const r: Recorder = { trades: [], depth: [], tickers: 0, gaps: [] };
  manager.subscribe('btcusdt@trade', {
    next: (d) => r.trades.push((d as { t: number }).t),
    gap: (g) => r.gaps.push(g),
  });
  manager.subscribe('ethusdt@depth@100ms', {
    next: (d) => r.depth.push([(d as { U: number }).U, (d as { u: number }).u]),
    gap: (g) => r.gaps.push(g),
  });
  manager.subscribe('bnbusdt@ticker', () => r.tickers++);
  return r;
}

function assertContiguous(r: Recorder): void {
  assert.deepEqual(r.gaps, [], 'no event lost');
  for (let i = 1; i < r.trades.length; i++)
    assert.equal(r.trades[i], r.trades[i - 1]! + 1, `trade ids at ${i}`);
  for (let i = 1; i < r.depth.length; i++)
    assert.equal(r.depth[i]![0], r.depth[i - 1]![1] + 1, `depth ranges at ${i}`);
}

test('serverShutdown: make-before-break rotation, no event lost or delivered twice', async () => {
  const sim = await startSimulator({ rate: 50 });
  const { logger, lines } = captureLogger();
  const manager = new WSManager({ url: sim.url, logger });
  try {
    const r = record(manager);
    await waitFor('events', () => r.trades.length > 5 && r.depth.length > 2 && r.tickers > 0);
    const oldId = sim.stats().connections[0]!.id;
    assert.equal(sim.announceShutdown({ closeAfterMs: 3000 }), 1);
    await waitFor('the old connection closed by the client before the server', () => {
      const c = sim.stats().connections;
      return c.length === 1 && c[0]!.id !== oldId;
    });
    const tickers = r.tickers;
    const trades = r.trades.length;
    await waitFor('events on the new connection', () => r.trades.length > trades + 10 && r.tickers > tickers);
    assertContiguous(r);
    assert.equal(manager.getMetrics().retryCount, 0, 'a rotation is not a retry');
    assert.equal(manager.getMetrics().activeConnectionsHwm, 2, 'both sockets were open during the switch');
    assert.ok(
      lines.some((l) => l['to'] === 'rotating' && /shutdown/.test(String(l['reason']))),
      'the rotation is logged with its reason',
    );
    assert.equal(sim.stats().limitBreaches.messageRate, 0);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('connection age: rotated before the lifetime limit, repeatedly, without loss or duplicates', async () => {
  const sim = await startSimulator({ rate: 50 });
  const manager = new WSManager({ url: sim.url, rotateAfterMs: 400 });
  try {
    const r = record(manager);
    await waitFor('events', () => r.trades.length > 5);
    const ids = new Set<string>();
    await waitFor(
      'three rotations',
      () => {
        for (const c of sim.stats().connections) ids.add(c.id);
        return ids.size >= 4;
      },
      10_000,
    );
    assertContiguous(r);
    assert.ok(r.trades.length > 20);
    assert.equal(manager.getMetrics().retryCount, 0);
    assert.ok(sim.stats().openConnections <= 2, 'old sockets close after each switch');
    assert.ok(manager.getMetrics().activeConnectionsHwm <= 2);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});
