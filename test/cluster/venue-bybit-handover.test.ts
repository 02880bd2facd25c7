/**
 * A planned handover of Bybit shards under load: two ingest nodes (child processes) carrying Binance
 * and Bybit hold the Bybit spot shards between them; SIGTERM of one hands its shards to the other, and
 * the Bybit clients of two clustered gateways see every trade once, in order, across the handover.
 * Bybit trades carry no contiguous id (the adapter's sequence rule defines none); the simulator numbers
 * its trades `i` one by one, which is what this test counts by.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bybitTradeIds,
  eachCountGrows,
  idGaps,
  type KeyedClient,
  startHandoverCluster,
} from './venue-cluster.js';

const SYMBOLS = Array.from({ length: 6 }, (_, i) => `bhov${i}usdt`);
const TOPICS = SYMBOLS.map((s) => `publicTrade.${s.toUpperCase()}`);

test('SIGTERM of an ingest node owning Bybit shards: 12 Bybit clients over 2 gateways miss and repeat no trade', async (t) => {
  const started = await startHandoverCluster(t, { venue: 'bybit', symbols: SYMBOLS, rate: 100 }, (c) =>
    c.spawnIngest('node-b'),
  );
  if (started === undefined) return t.skip('nats-server is not installed');
  const { cluster, nodeA, holders } = started;

  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);
  const clients: KeyedClient[] = [];
  for (const gateway of gateways) {
    for (const topic of TOPICS) {
      const client = await cluster.openSubscribed(`${gateway.wsUrl}/bybit/v5/public/spot`, {
        op: 'subscribe',
        req_id: topic,
        args: [topic],
      });
      clients.push({ client, key: topic });
    }
  }
  const receivesMore = (events: number) =>
    eachCountGrows(clients, ({ client, key }) => bybitTradeIds(client, key).length, events, 10_000, 'trades');
  await receivesMore(10);

  const exit = new Promise<number | null>((resolve) => nodeA.child.once('exit', resolve));
  await nodeA.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  await receivesMore(30);

  const { faulty, events } = idGaps(clients, bybitTradeIds);
  assert.deepEqual(faulty, [], 'every client saw each trade once, in order');
  const output = nodeA.output();
  assert.match(output, /"feed":"bybit.spot".*Handing shard over/, 'node-a handed Bybit spot shards over');
  assert.doesNotMatch(output, /Handover ended by the lease running out/, 'every handover completed');
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every Bybit spot shard');
  t.diagnostic(`${events} trades over ${clients.length} Bybit clients`);
});
