import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { type GapEvent, WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogger, sleep } from './helpers.js';

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
    assert.match(await registry.metrics(), /ws_manager_errors_total\{venue="binance",reason="stalled"\} 1/);
    assert.equal(manager.getMetrics().retryCount, 1);
    assert.equal(sim.stats().connections.filter((c) => !c.stalled).length, 1);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a busy connection that falls silent is probed with a ping and replaced within seconds, not the stall timeout', async () => {
  const sim = await startSimulator({ rate: 50 });
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  // The default 50 s stall timeout: only the probe path can recover within the 10 s below.
  const manager = new WSManager({ url: sim.url, registry, logger, retry: { baseDelayMs: 200 } });
  try {
    let n = 0;
    manager.subscribe('btcusdt@trade', () => n++);
    // Two seconds of traffic teach the connection its usual gap between events.
    await sleep(2000);
    assert.ok(n > 20, `busy stream (${n} events)`);
    assert.equal(sim.stall(), 1);
    const stalledAt = Date.now();
    await sleep(100);
    const count = n;
    await waitFor('delivering again', () => n > count + 3, 10_000);
    const recoveredMs = Date.now() - stalledAt;
    assert.ok(recoveredMs < 10_000, `recovered after ${recoveredMs} ms`);
    const ended = lines.find((l) => l.msg === 'WSManager upstream socket ended unexpectedly');
    assert.equal(ended?.['reason'], 'stalled');
    assert.match(
      String(ended?.['cause']),
      /^no pong within 2000 ms to a probe ping after \d+ ms without events/,
    );
    assert.match(await registry.metrics(), /ws_manager_errors_total\{venue="binance",reason="stalled"\} 1/);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a busy connection that goes quiet but answers the probe ping is kept', async () => {
  // The simulator has no "quiet but alive" fault (its streams all tick at one rate), so a minimal
  // upstream stands in: it acknowledges SUBSCRIBE, sends events for 1.5 s, then only answers pings.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  let connections = 0;
  let pings = 0;
  server.on('connection', (ws) => {
    connections++;
    ws.on('ping', () => pings++);
    ws.on('message', (raw) => {
      const { id, params } = JSON.parse(raw.toString()) as { id: number; params: string[] };
      ws.send(JSON.stringify({ result: null, id }));
      let t = 0;
      const timer = setInterval(() => {
        if (++t > 75 || ws.readyState !== ws.OPEN) return clearInterval(timer);
        ws.send(JSON.stringify({ stream: params[0], data: { e: 'trade', t } }));
      }, 20);
    });
  });
  const { port } = server.address() as AddressInfo;
  const manager = new WSManager({ url: `ws://127.0.0.1:${port}` });
  try {
    let n = 0;
    manager.subscribe('ethusdt@trade', () => n++);
    await waitFor('the busy phase over', () => n >= 75, 5000);
    await sleep(4000);
    assert.ok(pings >= 1, 'the silence was probed');
    assert.equal(connections, 1, 'the same connection: its pongs answered the probes');
    assert.equal(manager.getMetrics().retryCount, 0);
    assert.ok(pings <= 3, `answered probes back off (${pings} pings in 4 s)`);
  } finally {
    await manager.destroy();
    for (const ws of server.clients) ws.terminate();
    server.close();
  }
});

test('a stalled connection counts as down since it fell silent: unhealthy at once when that exceeds the grace', async () => {
  const sim = await startSimulator({ rate: 50 });
  const manager = new WSManager({
    url: sim.url,
    healthGraceMs: 2000,
    retry: { baseDelayMs: 20, maxAttempts: Number.POSITIVE_INFINITY },
  });
  try {
    let n = 0;
    manager.subscribe('bnbusdt@trade', () => n++);
    await sleep(1500);
    // Stalled, then unable to reconnect (503 without Retry-After: plain backoff).
    sim.refuseConnections(60_000, 503, null);
    assert.equal(sim.stall(), 1);
    await waitFor('the stall detected', () => manager.getMetrics().activeConnections === 0, 10_000);
    const verdict = manager.health();
    assert.equal(verdict.healthy, false, 'silent for about 3 s, more than the 2 s grace');
    assert.match(verdict.reason!, /down for \d+ ms \(grace 2000 ms\)/);
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
