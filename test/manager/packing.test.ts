import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, type StreamError } from '../../src/core/errors.js';
import { KLINE_INTERVALS } from '../../src/exchange/binance/streams.js';
import { WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';
import { sleep } from './helpers.js';

/** `count` distinct valid stream names over synthetic symbols (the simulator serves any well-formed symbol). */
function streamNames(count: number): string[] {
  const kinds = [
    'trade',
    'aggTrade',
    'bookTicker',
    'miniTicker',
    'ticker',
    ...KLINE_INTERVALS.map((i) => `kline_${i}`),
  ];
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    for (const kind of kinds) {
      if (names.length === count) break;
      names.push(`sym${i}usdt@${kind}`);
    }
  }
  return names;
}

test('2,000 streams are packed onto 2 upstream sockets; a 5,000-call burst never trips the rate limit', async () => {
  // A slow feed keeps 2,000 streams cheap on a shared 2-core machine; packing does not depend on rate.
  const sim = await startSimulator({ rate: 1 });
  const manager = new WSManager({ url: sim.url });
  const closes: number[] = [];
  try {
    const names = streamNames(2000);
    const unsubscribes: Array<() => void> = [];
    // 5,000 subscribe calls in one synchronous burst: 2,000 streams, some with several subscribers.
    for (let i = 0; i < 5000; i++) {
      unsubscribes.push(
        manager.subscribe(names[i % names.length]!, {
          next: () => {},
          error: (e) => closes.push(e.code.length),
        }),
      );
    }
    await waitFor(
      'every stream subscribed upstream',
      () => sim.stats().connections.reduce((n, c) => n + c.streams.length, 0) === 2000,
      30_000,
    );
    const stats = sim.stats();
    assert.equal(stats.openConnections, 2, 'ceil(2000 / 1024) sockets');
    assert.deepEqual(
      stats.connections.map((c) => c.streams.length).sort((a, b) => a - b),
      [976, 1024],
    );
    assert.equal(stats.limitBreaches.messageRate, 0, 'no 1008 Too many messages');
    assert.equal(stats.limitBreaches.streams, 0);
    assert.ok(
      stats.controlMessagesReceived <= 4,
      `batched SUBSCRIBE (${stats.controlMessagesReceived} messages)`,
    );
    const m = manager.getMetrics();
    assert.equal(m.activeConnections, 2);
    assert.equal(m.streamCreations, 2000);
    assert.equal(m.subscribers, 5000);
    assert.equal(m.retryCount, 0, 'zero reconnects on the happy path');

    // Unsubscribe everything in a burst too: paced UNSUBSCRIBE, then every connection closes once empty.
    for (const u of unsubscribes) u();
    assert.equal(manager.forceCleanupIdleStreams(), 2000);
    await waitFor('empty connections closing', () => sim.stats().openConnections === 0, 10_000);
    const end = manager.getMetrics();
    assert.equal(end.streamCleanups, end.streamCreations);
    assert.equal(end.activeStreams, 0);
    assert.equal(end.activeConnections, 0);
    assert.equal(sim.stats().limitBreaches.messageRate, 0);
    assert.deepEqual(closes, [], 'no subscriber was errored');
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('subscribe churn on one connection stays within 4 frames per second', async () => {
  const sim = await startSimulator({ rate: 5 });
  const manager = new WSManager({ url: sim.url, idleGraceMs: 0 });
  try {
    const names = streamNames(60);
    manager.subscribe('btcusdt@trade', () => {});
    await waitFor('open', () => manager.getMetrics().activeConnections === 1);
    // Each subscribe/unsubscribe in its own macrotask, so they cannot share a message.
    for (const name of names) {
      const un = manager.subscribe(name, () => {});
      await new Promise((r) => setImmediate(r));
      un();
      await new Promise((r) => setImmediate(r));
    }
    await waitFor('the churn to drain', () => sim.stats().connections[0]?.streams.length === 1, 30_000);
    const stats = sim.stats();
    assert.equal(stats.limitBreaches.messageRate, 0);
    assert.equal(stats.openConnections, 1);
    assert.equal(manager.getMetrics().retryCount, 0);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a rejected SUBSCRIBE errors exactly the affected subscribers', async () => {
  // The simulator allows 3 streams per connection while the manager packs 5: the exchange rejects the
  // batch; the manager splits it until only the 2 streams beyond the limit are refused.
  const sim = await startSimulator({ rate: 5, limits: { maxStreamsPerConnection: 3 } });
  const manager = new WSManager({ url: sim.url, maxStreamsPerConnection: 5 });
  try {
    const names = ['btcusdt@trade', 'ethusdt@trade', 'bnbusdt@trade', 'solusdt@trade', 'xrpusdt@trade'];
    const errors = new Map<string, StreamError>();
    const received = new Set<string>();
    for (const name of names) {
      manager.subscribe(name, { next: () => received.add(name), error: (e) => errors.set(name, e) });
    }
    await waitFor('two rejections', () => errors.size === 2, 15_000);
    await waitFor('the other three delivering', () => received.size >= 3, 10_000);
    for (const [stream, error] of errors) {
      assert.equal(error.code, ErrorCodes.SUBSCRIBE_REJECTED);
      assert.equal(error.stream, stream);
      assert.ok(!received.has(stream), `rejected ${stream} delivered no event`);
    }
    const delivering = names.filter((n) => !errors.has(n));
    assert.deepEqual(
      [...received].sort(),
      delivering.sort(),
      'every stream that was not rejected delivers, and none of its subscribers got an error',
    );
    assert.deepEqual(sim.stats().connections[0]!.streams.sort(), delivering.sort());
    const m = manager.getMetrics();
    assert.equal(m.activeStreams, 3);
    assert.equal(m.streamCleanups, 2, 'rejected streams are released');
    assert.equal(sim.stats().limitBreaches.messageRate, 0);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a stream unsubscribed while its rejected batch was in flight is not subscribed again by the split', async () => {
  // The exchange allows 2 streams per connection, the manager packs 3: SUBSCRIBE [btc, eth] is rejected
  // and split. btc was released before the rejection arrived (the simulator answers 200 ms late), so
  // only eth may be re-sent; eth then fits.
  const sim = await startSimulator({ rate: 5, limits: { maxStreamsPerConnection: 2 } });
  const clock = aheadClock();
  const manager = new WSManager({
    url: sim.url,
    maxStreamsPerConnection: 3,
    idleGraceMs: 600_000,
    now: clock.now,
  });
  try {
    const errors: StreamError[] = [];
    const listener = { next: () => {}, error: (e: StreamError) => errors.push(e) };
    manager.subscribe('xrpusdt@trade', listener);
    await waitFor('xrp subscribed upstream', () => sim.stats().connections[0]?.streams.length === 1);
    // Move past the pacing window, so the next three messages go out at once.
    clock.advance(1100);
    sim.setLatency(200);
    const unBtc = manager.subscribe('btcusdt@trade', listener);
    manager.subscribe('ethusdt@trade', listener);
    await new Promise((resolve) => setImmediate(resolve));
    unBtc();
    assert.equal(manager.forceCleanupIdleStreams(), 1);
    await waitFor(
      'eth subscribed upstream or rejected',
      () => errors.length > 0 || (sim.stats().connections[0]?.streams.includes('ethusdt@trade') ?? false),
    );
    // Any re-sent SUBSCRIBE would arrive within the latency; give it three times that.
    await sleep(600);
    assert.deepEqual(errors, [], 'eth fits once btc is gone: nobody is errored');
    assert.deepEqual(sim.stats().connections[0]!.streams.sort(), ['ethusdt@trade', 'xrpusdt@trade']);
    assert.deepEqual(
      manager
        .listStreams()
        .map((s) => s.stream)
        .sort(),
      ['ethusdt@trade', 'xrpusdt@trade'],
    );
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a stream released on one connection and subscribed again on another delivers from the new one', async () => {
  // One control frame per second per connection (shortened through options) keeps the old connection's
  // UNSUBSCRIBE queued while the stream is already subscribed again on the other connection, so both
  // deliver it for a while.
  const sim = await startSimulator({ rate: 50 });
  const clock = aheadClock();
  const manager = new WSManager({
    url: sim.url,
    maxStreamsPerConnection: 3,
    idleGraceMs: 600_000,
    pacing: { messages: 1, windowMs: 1000 },
    now: clock.now,
  });
  try {
    const noop = () => {};
    const unFirst = manager.subscribe('btcusdt@trade', noop);
    manager.subscribe('btcusdt@aggTrade', noop);
    manager.subscribe('btcusdt@bookTicker', noop);
    const unTrade = manager.subscribe('ethusdt@trade', noop);
    const unAgg = manager.subscribe('ethusdt@aggTrade', noop);
    manager.subscribe('ethusdt@bookTicker', noop);
    const upstream = () => sim.stats().connections.map((c) => c.streams);
    await waitFor('3 streams on each of 2 connections', () => {
      const c = upstream();
      return c.length === 2 && c.every((s) => s.length === 3);
    });
    unFirst();
    manager.forceCleanupIdleStreams();
    await waitFor('room on the first connection', () => upstream().some((s) => s.length === 2));
    // Move past both pacing windows.
    clock.advance(1100);
    unTrade();
    manager.forceCleanupIdleStreams();
    await new Promise((resolve) => setImmediate(resolve));
    // The second connection just spent its window on the UNSUBSCRIBE above: this one waits about 1 s.
    unAgg();
    manager.forceCleanupIdleStreams();
    let n = 0;
    manager.subscribe('ethusdt@aggTrade', () => n++);
    await waitFor('the old connection unsubscribed', () => {
      const c = sim.stats().connections;
      return c.filter((x) => x.streams.includes('ethusdt@aggTrade')).length === 1 && n > 0;
    });
    const count = n;
    await waitFor('events from the new connection', () => n >= count + 20, 5000);
    const [row] = manager.listStreams().filter((s) => s.stream === 'ethusdt@aggTrade');
    assert.equal(row?.connection, 'c1', 'carried by the connection that had room');
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('a SUBSCRIBE acknowledged after its UNSUBSCRIBE went out does not mark the stream subscribed', async () => {
  // The simulator answers 200 ms late, so the UNSUBSCRIBE leaves before the SUBSCRIBE's acknowledgement.
  const sim = await startSimulator({ rate: 5 });
  const manager = new WSManager({ url: sim.url, idleGraceMs: 600_000 });
  try {
    manager.subscribe('xrpusdt@trade', () => {});
    await waitFor('xrp subscribed upstream', () => sim.stats().connections[0]?.streams.length === 1);
    sim.setLatency(200);
    const un = manager.subscribe('btcusdt@trade', () => {});
    await new Promise((resolve) => setImmediate(resolve));
    un();
    assert.equal(manager.forceCleanupIdleStreams(), 1);
    // Both acknowledgements arrive within the latency; give them three times that.
    await sleep(600);
    manager.subscribe('btcusdt@trade', () => {});
    const listed = () => manager.listStreams().find((s) => s.stream === 'btcusdt@trade')?.connection;
    assert.equal(listed(), undefined, 'not subscribed upstream until the new SUBSCRIBE is acknowledged');
    await waitFor('the new SUBSCRIBE acknowledged', () => listed() === 'c1');
  } finally {
    await manager.destroy();
    await sim.close();
  }
});
