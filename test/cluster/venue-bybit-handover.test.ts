/**
 * A planned handover of Bybit shards under load: two ingest nodes (child processes) carrying Binance
 * and Bybit hold the Bybit spot shards between them; SIGTERM of one hands its shards to the other, and
 * the Bybit clients of two clustered gateways see every trade once, in order, across the handover.
 * Bybit trades carry no contiguous id (the adapter's sequence rule defines none); the simulator numbers
 * its trades `i` one by one, which is what this test counts by.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { feedNames, LEASE_BUCKET } from '../../src/cluster/subjects.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';
import { spawnIngest } from './processes.js';

const SHARDS = 8;
// A short lease (ticks of 1 s) keeps the file within its wall-time budget: a handover takes about a tick.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 6 }, (_, i) => `bhov${i}usdt`);
const TOPICS = SYMBOLS.map((s) => `publicTrade.${s.toUpperCase()}`);

/** The simulator's trade ids (`i`) of every `publicTrade` frame of `topic` a client received, in order. */
function tradeIds(client: TestClient, topic: string): number[] {
  return client.messages
    .filter((m) => m.startsWith(`{"topic":"${topic}"`))
    .flatMap((m) => (JSON.parse(m) as { data: { i: string }[] }).data.map((t) => Number(t.i)));
}

test('SIGTERM of an ingest node owning Bybit shards: 12 Bybit clients over 2 gateways miss and repeat no trade', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return t.skip('nats-server is not installed');
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 100 });
  closers.push(() => simulator.close());
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    VENUES: 'binance,bybit',
    BYBIT_URL: `${simulator.url}/bybit`,
    SHARD_COUNT: String(SHARDS),
    LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
  };
  const ingests = await Promise.all([spawnIngest('node-a', env), spawnIngest('node-b', env)]);
  closers.push(() => Promise.all(ingests.map((i) => i.kill('SIGKILL'))));

  // The Bybit spot leases, read where they live: `shard.bybit.spot.<n>` in the lease bucket.
  const observer = await connect({ servers: nats.url });
  closers.push(() => observer.close());
  const leases = await new Kvm(observer).open(LEASE_BUCKET);
  const spot = feedNames('bybit.spot');
  const holders = async () =>
    Promise.all(
      Array.from({ length: SHARDS }, async (_, n) => (await leases.get(spot.leaseKey(n)))?.string()),
    );
  await waitFor(
    'Bybit spot shards spread over both nodes',
    async () => {
      const held = await holders();
      return held.every((h) => h === 'node-a' || h === 'node-b') && new Set(held).size === 2;
    },
    15_000,
  );

  const common = {
    natsUrl: nats.url,
    port: 0,
    shardCount: SHARDS,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
    venues: ['binance', 'bybit'] as const,
  };
  const gateways: RunningGateway[] = await Promise.all(
    ['gw-1', 'gw-2'].map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
  );
  closers.push(() => Promise.all(gateways.map((g) => g.close())));
  const clients: { client: TestClient; topic: string }[] = [];
  for (const gateway of gateways) {
    for (const topic of TOPICS) {
      const client = await openClient(`${gateway.wsUrl}/bybit/v5/public/spot`);
      closers.push(() => client.close());
      client.ws.send(JSON.stringify({ op: 'subscribe', req_id: topic, args: [topic] }));
      clients.push({ client, topic });
    }
  }
  const receivesMore = async (events: number) => {
    const from = clients.map(({ client, topic }) => tradeIds(client, topic).length);
    await waitFor(
      `every client receiving ${events} more trades`,
      () => clients.every(({ client, topic }, i) => tradeIds(client, topic).length >= from[i]! + events),
      10_000,
    );
  };
  await receivesMore(10);

  const exit = new Promise<number | null>((resolve) => ingests[0]!.child.once('exit', resolve));
  await ingests[0]!.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  await receivesMore(30);

  let events = 0;
  const faulty: string[] = [];
  for (const { client, topic } of clients) {
    const ids = tradeIds(client, topic);
    events += ids.length;
    for (let i = 1; i < ids.length; i++) {
      if (ids[i] !== ids[i - 1]! + 1) {
        faulty.push(`${topic}: ${ids[i - 1]} then ${ids[i]}`);
        break;
      }
    }
  }
  assert.deepEqual(faulty, [], 'every client saw each trade once, in order');
  const output = ingests[0]!.output();
  assert.match(output, /"feed":"bybit.spot".*Handing shard over/, 'node-a handed Bybit spot shards over');
  assert.doesNotMatch(output, /Handover ended by the lease running out/, 'every handover completed');
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every Bybit spot shard');
  t.diagnostic(`${events} trades over ${clients.length} Bybit clients`);
});
