/**
 * Bybit through the clustered mode: one ingest node carrying Binance and both Bybit markets, one
 * carrying Binance alone (it shares Binance's shards, not Bybit's), two clustered gateways serving Bybit's own protocol at /bybit/v5/public/<category>, and raw Bybit
 * clients on both. Every client gets its topic's trades, in the same order on both gateways, from one
 * upstream subscription per topic, published on the market's own subjects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startBinanceOnlyBeside, startVenueCluster, bybitTradeIds as tradeIds } from './venue-cluster.js';

const SHARDS = 4;
const TOPICS = {
  spot: ['publicTrade.BTCUSDT', 'publicTrade.ETHUSDT'],
  linear: ['publicTrade.BTCUSDT'],
} as const;

test('Bybit clients of two clustered gateways share one upstream subscription per topic', async (t) => {
  // A 3 s lease keeps the first lease tick (a third of it) short.
  const cluster = await startVenueCluster(t, {
    venue: 'bybit',
    symbols: ['btcusdt', 'ethusdt'],
    rate: 20,
    shardCount: SHARDS,
    leaseTtlSeconds: 3,
  });
  if (cluster === undefined) return t.skip('nats-server is not installed');
  const { simulator } = cluster;
  const ingest = await cluster.startIngest('ingest');
  assert.deepEqual(
    ingest.feeds.map((f) => f.names.id),
    ['binance', 'bybit.spot', 'bybit.linear'],
  );
  // A node carrying Binance alone takes part in Binance's shards only: Bybit's stay with the first.
  const binanceOnly = await startBinanceOnlyBeside(cluster, ingest);
  assert.equal(binanceOnly.feeds.length, 1);
  assert.deepEqual(
    ingest.feeds.slice(1).map((f) => f.leases.ownedShards().length),
    [SHARDS, SHARDS],
  );
  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);

  // What the ingest node publishes for Bybit, seen from NATS.
  const observer = await cluster.observer();
  const subjects = new Set<string>();
  observer.subscribe('md.bybit.>', {
    callback: (_, msg) => {
      subjects.add(msg.subject);
    },
  });

  const clients: { client: TestClient; category: keyof typeof TOPICS; topic: string }[] = [];
  for (const gateway of gateways) {
    for (const category of ['spot', 'linear'] as const) {
      for (const topic of TOPICS[category]) {
        const client = await cluster.openSubscribed(`${gateway.wsUrl}/bybit/v5/public/${category}`, {
          op: 'subscribe',
          req_id: topic,
          args: [topic],
        });
        clients.push({ client, category, topic });
      }
    }
  }
  const binance = await cluster.openClient(`${gateways[0]!.wsUrl}/ws/btcusdt@trade`);

  await waitFor(
    'every Bybit client receiving 20 trades',
    () => clients.every(({ client, topic }) => tradeIds(client, topic).length >= 20),
    15_000,
  );
  await waitFor('the Binance client receiving', () => binance.messages.length >= 5, 5000);

  for (const { client, category, topic } of clients) {
    const subscribed = client.messages.find((m) => m.includes(`"req_id":"${topic}"`));
    assert.ok(subscribed !== undefined && (JSON.parse(subscribed) as { success: boolean }).success, topic);
    // Trades in the simulator's order (its ids grow by one per trade), none twice.
    const ids = tradeIds(client, topic);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1, `${category} ${topic}`);
  }
  // Both gateways deliver the same trades: where their records overlap, they are equal.
  for (const category of ['spot', 'linear'] as const) {
    for (const topic of TOPICS[category]) {
      const [a, b] = clients
        .filter((c) => c.category === category && c.topic === topic)
        .map((c) => tradeIds(c.client, topic));
      const from = Math.max(a![0]!, b![0]!);
      const to = Math.min(a!.at(-1)!, b!.at(-1)!);
      assert.ok(to - from >= 10, `${category} ${topic}: overlapping trades`);
      assert.deepEqual(
        a!.filter((id) => id >= from && id <= to),
        b!.filter((id) => id >= from && id <= to),
      );
    }
  }
  // One upstream subscription per topic and category, whatever the number of gateways and clients.
  for (const category of ['spot', 'linear'] as const) {
    for (const topic of TOPICS[category]) {
      const holders = simulator
        .bybitStats()
        .filter((s) => s.category === category && s.topics.includes(topic));
      assert.equal(holders.length, 1, `${category} ${topic}`);
    }
  }
  // Bybit's REST calls are answered through the ingest tier (venue-bybit-rest.test.ts compares them).
  const rest = await fetch(`${gateways[0]!.url}/bybit/v5/market/recent-trade?category=spot&symbol=BTCUSDT`);
  assert.equal(rest.status, 200);
  assert.equal(((await rest.json()) as { retCode: number }).retCode, 0);
  assert.deepEqual([...subjects].sort(), [
    'md.bybit.linear.publicTrade.BTCUSDT',
    'md.bybit.spot.publicTrade.BTCUSDT',
    'md.bybit.spot.publicTrade.ETHUSDT',
  ]);
});
