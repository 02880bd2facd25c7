import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';
import { sleep } from './helpers.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 20 });
});
after(() => sim.close());

function upstreamStreams(): string[] {
  return sim.stats().connections.flatMap((c) => c.streams);
}

test('idle grace: released after the grace, reused within it, empty connection closes', async () => {
  const registry = new Registry();
  // The idle grace is shortened through options, yet stays far above the 100 ms re-subscribe below so a
  // loaded machine cannot let it pass first.
  const idleGraceMs = 2000;
  const manager = new WSManager({ url: sim.url, registry, idleGraceMs });
  try {
    const un1 = manager.subscribe('btcusdt@trade', () => {});
    await waitFor('subscribed upstream', () => upstreamStreams().includes('btcusdt@trade'));
    un1();
    const idleAt = Date.now();
    assert.equal(manager.getMetrics().idleStreams, 1);
    assert.ok(manager.listStreams()[0]!.idleMs! >= 0);
    await sleep(100);
    const un2 = manager.subscribe('btcusdt@trade', () => {});
    assert.equal(manager.getMetrics().streamCreations, 1, 'reused within the grace');
    assert.equal(manager.getMetrics().idleStreams, 0);
    await waitFor('the first grace long over', () => Date.now() - idleAt > idleGraceMs + 300);
    assert.deepEqual(upstreamStreams(), ['btcusdt@trade'], 'a stream with subscribers is never cleaned');
    assert.equal(manager.forceCleanupIdleStreams(), 0, 'forced cleanup skips streams with subscribers');
    un2();
    await waitFor('released after the grace', () => manager.getMetrics().activeStreams === 0, 5000);
    await waitFor('the empty connection closing', () => sim.stats().openConnections === 0);
    const m = manager.getMetrics();
    assert.equal(m.streamCleanups, 1);
    assert.equal(m.activeConnections, 0);
    const text = await registry.metrics();
    assert.match(text, /ws_manager_stream_cleanups_by_reason_total\{venue="binance",reason="idle"\} 1/);
    assert.match(text, /ws_manager_overdue_idle_streams\{venue="binance"\} 0/);
  } finally {
    await manager.destroy();
  }
});

test('forceCleanupIdleStreams(idleMs) releases only streams idle at least that long', async () => {
  const registry = new Registry();
  const clock = aheadClock();
  const manager = new WSManager({ url: sim.url, registry, idleGraceMs: 60_000, now: clock.now });
  try {
    const a = manager.subscribe('ethusdt@trade', () => {});
    const b = manager.subscribe('ethusdt@bookTicker', () => {});
    manager.subscribe('ethusdt@ticker', () => {});
    a();
    clock.advance(250);
    b();
    assert.equal(manager.forceCleanupIdleStreams(200), 1);
    assert.deepEqual(
      manager
        .listStreams()
        .map((s) => s.stream)
        .sort(),
      ['ethusdt@bookTicker', 'ethusdt@ticker'],
    );
    assert.equal(manager.forceCleanupIdleStreams(), 1);
    assert.equal(manager.forceCleanupIdleStreams(), 0);
    assert.match(
      await registry.metrics(),
      /ws_manager_stream_cleanups_by_reason_total\{venue="binance",reason="forced"\} 2/,
    );
  } finally {
    await manager.destroy();
  }
});

test('counters stay consistent under churn; contract metrics have their names and types', async () => {
  const registry = new Registry();
  const manager = new WSManager({ url: sim.url, registry, idleGraceMs: 20 });
  try {
    const symbols = ['btcusdt', 'ethusdt', 'bnbusdt', 'solusdt', 'xrpusdt'];
    const kinds = ['trade', 'aggTrade', 'bookTicker', 'depth', 'miniTicker'];
    const live: Array<() => void> = [];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 10; i++) {
        const name = `${symbols[Math.floor(rnd() * 5)]}@${kinds[Math.floor(rnd() * 5)]}`;
        live.push(manager.subscribe(name, () => {}));
      }
      while (live.length > 15) live.splice(Math.floor(rnd() * live.length), 1)[0]!();
      await sleep(rnd() * 30);
    }
    for (const u of live) u();
    await waitFor('every stream released', () => manager.getMetrics().activeStreams === 0, 10_000);
    await waitFor('connections closed', () => sim.stats().openConnections === 0);
    const m = manager.getMetrics();
    assert.equal(m.subscribers, 0);
    assert.equal(m.idleStreams, 0);
    assert.equal(m.activeConnections, 0);
    assert.ok(m.streamCreations > 25);
    assert.equal(m.streamCleanups, m.streamCreations);
    assert.equal(sim.stats().limitBreaches.messageRate, 0);
    const text = await registry.metrics();
    for (const [name, type] of [
      ['ws_manager_active_connections', 'gauge'],
      ['ws_manager_active_connections_hwm', 'gauge'],
      ['ws_manager_retry_count_total', 'counter'],
      ['ws_manager_stream_creations_total', 'counter'],
      ['ws_manager_stream_cleanups_total', 'counter'],
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    }
    assert.match(
      text,
      new RegExp(`^ws_manager_stream_creations_total\\{venue="binance"\\} ${m.streamCreations}$`, 'm'),
    );
    assert.match(
      text,
      new RegExp(`^ws_manager_stream_cleanups_total\\{venue="binance"\\} ${m.streamCleanups}$`, 'm'),
    );
    assert.match(text, /^ws_manager_active_streams\{venue="binance"\} 0$/m);
    assert.match(text, /^ws_manager_info\{implementation="WSManager"\} 1$/m);
    assert.match(text, /^ws_manager_active_connections_hwm\{venue="binance"\} [1-9]/m);
  } finally {
    await manager.destroy();
  }
});

test('after destroy() the process exits on its own: no timer or socket left behind', async () => {
  const script = `
    import { WSManager } from ${JSON.stringify(fileURLToPath(new URL('../../src/manager/index.ts', import.meta.url)))};
    const manager = new WSManager({ url: ${JSON.stringify(sim.url)}, idleGraceMs: 600000, stallTimeoutMs: 600000 });
    let n = 0;
    manager.subscribe('btcusdt@trade', () => n++);
    const un = manager.subscribe('ethusdt@trade', () => {});
    un();
    const start = Date.now();
    while (n === 0 && Date.now() - start < 10000) await new Promise((r) => setTimeout(r, 20));
    if (n === 0) process.exit(3);
    await manager.destroy();
    console.log('destroyed');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(out.trim(), 'destroyed');
  assert.equal(code, 0, 'exited by itself after destroy()');
});

test('await destroy() returns only after every upstream socket has closed, including one closing already', async () => {
  const local = await startSimulator({ rate: 20 });
  // One stream per connection: releasing one stream closes its connection just before destroy().
  const manager = new WSManager({ url: local.url, maxStreamsPerConnection: 1 });
  try {
    manager.subscribe('btcusdt@trade', { next: () => {}, error: () => {} });
    const un = manager.subscribe('ethusdt@trade', () => {});
    await waitFor(
      'both subscribed upstream',
      () =>
        local.stats().connections.every((c) => c.streams.length === 1) && local.stats().openConnections === 2,
    );
    un();
    assert.equal(manager.forceCleanupIdleStreams(), 1);
    let settled = false;
    const closed = manager.destroy().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'not before the sockets closed');
    await closed;
    assert.equal(manager.getMetrics().activeConnections, 0);
    // The exchange's side learns of the close on its own socket, a moment after ours.
    await waitFor('the exchange seeing every socket closed', () => local.stats().openConnections === 0, 2000);
  } finally {
    await manager.destroy();
    await local.close();
  }
});
