/**
 * OKX through the clustered mode: one ingest node carrying Binance and OKX, one carrying Binance alone
 * (it shares Binance's shards, not OKX's), two clustered gateways serving OKX's own protocol at
 * /okx/ws/v5/public and /okx/ws/v5/business, and raw OKX clients on both paths of both gateways. Every
 * client gets its channel's pushes, trades with contiguous `tradeId`s and the same ones on both
 * gateways, from one upstream subscription per channel, published on the `okx` feed's subjects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BINANCE_FEED, feedIdOf, feedNames, HISTORY_SUBJECTS } from '../../src/cluster/subjects.js';
import type { TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startBinanceOnlyBeside, startVenueCluster } from './venue-cluster.js';

const SHARDS = 4;
/** The channels asked for, by the path that serves them. */
const CHANNELS = {
  public: [
    { channel: 'trades', instId: 'BTC-USDT' },
    { channel: 'trades', instId: 'ETH-USDT' },
  ],
  business: [{ channel: 'candle1m', instId: 'BTC-USDT' }],
} as const;
type Route = keyof typeof CHANNELS;

/** The pushes of `channel:instId` a client received, parsed, in order. */
function pushes(client: TestClient, channel: string, instId: string): { data: unknown[] }[] {
  const prefix = `{"arg":{"channel":"${channel}","instId":"${instId}"}`;
  return client.messages.filter((m) => m.startsWith(prefix)).map((m) => JSON.parse(m) as { data: unknown[] });
}

/** The `tradeId` of every trade of `instId` a client received, in order. */
function tradeIds(client: TestClient, instId: string): number[] {
  return pushes(client, 'trades', instId).flatMap((p) =>
    (p.data as { tradeId: string }[]).map((t) => Number(t.tradeId)),
  );
}

test('OKX is one feed, `okx`, for both its paths, with names of its own', () => {
  assert.equal(feedIdOf('okx', 'public'), 'okx');
  assert.equal(feedIdOf('bybit', 'spot'), 'bybit.spot');
  const okx = feedNames(feedIdOf('okx', 'public'));
  assert.equal(okx.subjectOf('trades:BTC-USDT'), 'md.okx.trades:BTC-USDT');
  assert.equal(okx.subjectOf('candle1m:BTC-USDT-SWAP'), 'md.okx.candle1m:BTC-USDT-SWAP');
  assert.equal(okx.streamOfSubject('md.okx.books:BTC-USDT'), 'books:BTC-USDT');
  assert.equal(okx.leaseKey(3), 'shard.okx.3');
  const key = okx.demandKey('bbo-tbt:BTC-USDT', 'gw-1-ab12');
  assert.equal(key, 'okx.bbo-tbt=3aBTC-USDT.gw-1-ab12');
  assert.deepEqual(okx.demandOf(key), { stream: 'bbo-tbt:BTC-USDT', owner: 'gw-1-ab12' });
  assert.equal(BINANCE_FEED.demandOf(key), undefined);
  assert.equal(feedNames('bybit.spot').demandOf(key), undefined);
  assert.equal(okx.demandOf(BINANCE_FEED.demandKey('btcusdt@trade', 'gw-1-ab12')), undefined);
  assert.ok(HISTORY_SUBJECTS.includes('md.okx.>'));
});

test('OKX clients of two clustered gateways share one upstream subscription per channel, on both paths', async (t) => {
  // A 3 s lease keeps the first lease tick (a third of it) short.
  const cluster = await startVenueCluster(t, {
    venue: 'okx',
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
    ['binance', 'okx'],
  );
  // A node carrying Binance alone takes part in Binance's shards only: OKX's stay with the first.
  const binanceOnly = await startBinanceOnlyBeside(cluster, ingest);
  assert.equal(binanceOnly.feeds.length, 1);
  assert.equal(ingest.feeds[1]!.leases.ownedShards().length, SHARDS);

  // OKX's leases, where they live: `shard.okx.<n>` in the one lease bucket.
  const holders = await (await cluster.leaseHolders('okx'))();
  assert.deepEqual(holders, Array(SHARDS).fill('ingest'));

  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);

  // What the ingest node publishes for OKX, seen from NATS.
  const subjects = new Set<string>();
  (await cluster.observer()).subscribe('md.okx.>', {
    callback: (_, msg) => {
      subjects.add(msg.subject);
    },
  });

  const clients: { client: TestClient; route: Route }[] = [];
  for (const gateway of gateways) {
    for (const route of ['public', 'business'] as const) {
      const client = await cluster.openSubscribed(`${gateway.wsUrl}/okx/ws/v5/${route}`, {
        id: `sub-${route}`,
        op: 'subscribe',
        args: CHANNELS[route],
      });
      clients.push({ client, route });
    }
  }
  const binance = await cluster.openClient(`${gateways[0]!.wsUrl}/ws/btcusdt@trade`);

  const publicClients = clients.filter((c) => c.route === 'public');
  const businessClients = clients.filter((c) => c.route === 'business');
  await waitFor(
    'every public client receiving 20 trades of each instrument',
    () =>
      publicClients.every(({ client }) =>
        CHANNELS.public.every(({ instId }) => tradeIds(client, instId).length >= 20),
      ),
    15_000,
  );
  await waitFor(
    'every business client receiving 3 candle pushes',
    () => businessClients.every(({ client }) => pushes(client, 'candle1m', 'BTC-USDT').length >= 3),
    10_000,
  );
  await waitFor('the Binance client receiving', () => binance.messages.length >= 5, 5000);

  for (const { client, route } of clients) {
    // One acknowledgement per arg, with the request's id.
    const acks = client.messages
      .filter((m) => m.includes('"event":"subscribe"'))
      .map((m) => JSON.parse(m) as { id: string; arg: { channel: string; instId: string } });
    assert.deepEqual(
      acks.map((a) => [a.id, a.arg.channel, a.arg.instId]),
      CHANNELS[route].map((c) => [`sub-${route}`, c.channel, c.instId]),
    );
    assert.ok(!client.messages.some((m) => m.includes('"event":"error"')), route);
  }
  for (const { client } of publicClients) {
    for (const { instId } of CHANNELS.public) {
      // Trades in the exchange's order (`tradeId` grows by one per fill), none twice.
      const ids = tradeIds(client, instId);
      for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1, instId);
    }
  }
  for (const { client } of businessClients) {
    // Candles `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`, open times never going back.
    const candles = pushes(client, 'candle1m', 'BTC-USDT').map((p) => p.data[0] as string[]);
    for (const c of candles) assert.equal(c.length, 9);
    for (let i = 1; i < candles.length; i++) assert.ok(Number(candles[i]![0]) >= Number(candles[i - 1]![0]));
  }
  // Both gateways deliver the same trades: where their records overlap, they are equal.
  for (const { instId } of CHANNELS.public) {
    const [a, b] = publicClients.map((c) => tradeIds(c.client, instId));
    const from = Math.max(a![0]!, b![0]!);
    const to = Math.min(a!.at(-1)!, b!.at(-1)!);
    assert.ok(to - from >= 10, `${instId}: overlapping trades`);
    assert.deepEqual(
      a!.filter((id) => id >= from && id <= to),
      b!.filter((id) => id >= from && id <= to),
    );
  }
  // One upstream subscription per channel, on the path OKX serves it at, whatever the number of
  // gateways and clients.
  for (const route of ['public', 'business'] as const) {
    for (const { channel, instId } of CHANNELS[route]) {
      const holders = simulator.okxStats().filter((s) => s.channels.includes(`${channel}:${instId}`));
      assert.deepEqual(
        holders.map((s) => s.route),
        [route],
        `${channel}:${instId}`,
      );
    }
  }
  assert.deepEqual([...subjects].sort(), [
    'md.okx.candle1m:BTC-USDT',
    'md.okx.trades:BTC-USDT',
    'md.okx.trades:ETH-USDT',
  ]);
});
