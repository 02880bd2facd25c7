/** What WSManager gives the status page: the busiest streams, and each connection's last event. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { busiest } from '../../src/core/busiest-streams.js';
import type { StreamInfo } from '../../src/core/stream-source.js';
import { WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

const names = (rows: readonly StreamInfo[]) => rows.map((s) => [s.stream, s.subscribers]);
/** The ranking from the full listing, which busiestStreams must match. */
const ranked = (manager: WSManager, limit: number) =>
  names(
    busiest(
      manager.listStreams(),
      limit,
      (s) => s.subscribers,
      (s) => s.stream,
    ),
  );

test('busiestStreams follows every subscribe, unsubscribe and release', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const offA = manager.subscribe('adausdt@trade', () => {});
    manager.subscribe('bnbusdt@trade', () => {});
    manager.subscribe('ethusdt@trade', () => {});
    assert.deepEqual(names(manager.busiestStreams(2)), [
      ['adausdt@trade', 1],
      ['bnbusdt@trade', 1],
    ]);
    // Asked again with nothing changed: the same rows.
    assert.deepEqual(names(manager.busiestStreams(2)), ranked(manager, 2));
    const offE1 = manager.subscribe('ethusdt@trade', () => {});
    const offE2 = manager.subscribe('ethusdt@trade', () => {});
    assert.deepEqual(names(manager.busiestStreams(2)), [
      ['ethusdt@trade', 3],
      ['adausdt@trade', 1],
    ]);
    assert.deepEqual(names(manager.busiestStreams(3)), ranked(manager, 3));
    offE1();
    offE2();
    offA();
    // adausdt stays known, idle with no subscriber, until released.
    assert.deepEqual(names(manager.busiestStreams(3)), [
      ['bnbusdt@trade', 1],
      ['ethusdt@trade', 1],
      ['adausdt@trade', 0],
    ]);
    assert.equal(manager.forceCleanupIdleStreams(), 1);
    assert.deepEqual(names(manager.busiestStreams(3)), [
      ['bnbusdt@trade', 1],
      ['ethusdt@trade', 1],
    ]);
    assert.deepEqual(manager.busiestStreams(0), []);
  } finally {
    await manager.destroy();
  }
});

test("a connection row's last event is the newest of the streams it delivered", async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    manager.subscribe('btcusdt@trade', () => {});
    manager.subscribe('ethusdt@trade', () => {});
    const [fresh] = manager.connections();
    assert.equal(fresh?.lastMessageAt, undefined, 'no event yet');
    await waitFor('events on both streams', () =>
      manager.listStreams().every((s) => s.lastMessageAt !== undefined),
    );
    const rows = manager.connections();
    const streams = manager.listStreams();
    assert.equal(rows.length, 1);
    assert.equal(
      rows[0]!.lastMessageAt,
      Math.max(...streams.map((s) => s.lastMessageAt!)),
      'the newest of its streams',
    );
    assert.equal(streams[0]!.connection, rows[0]!.id);
  } finally {
    await manager.destroy();
  }
});
