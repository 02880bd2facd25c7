/**
 * A planned handover of OKX shards under load: two ingest nodes carrying Binance and OKX hold the `okx` feed's shards between them; SIGTERM of one hands its shards to the other, and the
 * OKX clients of two clustered gateways see every trade once, in order, across the handover. OKX's
 * `tradeId` grows by one per fill, so the gateways drop the two owners' overlap by it, and this test
 * counts by it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  eachCountGrows,
  idGaps,
  type KeyedClient,
  okxTradeIds,
  startHandoverCluster,
} from './venue-cluster.js';

const SYMBOLS = Array.from({ length: 6 }, (_, i) => `ohov${i}usdt`);
const INSTRUMENTS = SYMBOLS.map((s) => `${s.slice(0, -4).toUpperCase()}-USDT`);

test('SIGTERM of an ingest node owning OKX shards: 12 OKX clients over 2 gateways miss and repeat no tradeId', async (t) => {
  // node-a is a process of its own, stopped by SIGTERM as a rolling deploy stops it; node-b, the
  // successor, runs in this process (one process start less keeps the file within its time budget).
  const started = await startHandoverCluster(t, { venue: 'okx', symbols: SYMBOLS, rate: 100 }, (c) =>
    c.startIngest('node-b'),
  );
  if (started === undefined) return t.skip('nats-server is not installed');
  const { cluster, nodeA, holders } = started;

  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);
  const clients: KeyedClient[] = [];
  for (const gateway of gateways) {
    for (const instId of INSTRUMENTS) {
      const client = await cluster.openSubscribed(`${gateway.wsUrl}/okx/ws/v5/public`, {
        id: instId,
        op: 'subscribe',
        args: [{ channel: 'trades', instId }],
      });
      clients.push({ client, key: instId });
    }
  }
  const receivesMore = (events: number) =>
    eachCountGrows(clients, ({ client, key }) => okxTradeIds(client, key).length, events, 10_000, 'trades');
  await receivesMore(10);

  const exit = new Promise<number | null>((resolve) => nodeA.child.once('exit', resolve));
  await nodeA.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  await receivesMore(30);

  const { faulty, events } = idGaps(clients, okxTradeIds);
  assert.deepEqual(faulty, [], 'every client saw each tradeId once, in order');
  const output = nodeA.output();
  assert.match(output, /"feed":"okx".*Handing shard over/, 'node-a handed OKX shards over');
  assert.doesNotMatch(output, /Handover ended by the lease running out/, 'every handover completed');
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every OKX shard');
  t.diagnostic(`${events} trades over ${clients.length} OKX clients`);
});
