/**
 * A planned handover of OKX shards under load: two ingest nodes carrying Binance and OKX hold the `okx` feed's shards between them; SIGTERM of one hands its shards to the other, and the
 * OKX clients of two clustered gateways see every trade once, in order, across the handover. OKX's
 * `tradeId` grows by one per fill, so the gateways drop the two owners' overlap by it, and this test
 * counts by it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { feedNames, LEASE_BUCKET } from '../../src/cluster/subjects.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';
import { spawnIngest } from './processes.js';

const SHARDS = 8;
// A short lease (ticks of 1 s) keeps the file within its wall-time budget: a handover takes about a tick.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 6 }, (_, i) => `ohov${i}usdt`);
const INSTRUMENTS = SYMBOLS.map((s) => `${s.slice(0, -4).toUpperCase()}-USDT`);

/** The `tradeId` of every trade of `instId` a client received, in order. */
function tradeIds(client: TestClient, instId: string): number[] {
  const prefix = `{"arg":{"channel":"trades","instId":"${instId}"}`;
  return client.messages
    .filter((m) => m.startsWith(prefix))
    .flatMap((m) => (JSON.parse(m) as { data: { tradeId: string }[] }).data.map((t) => Number(t.tradeId)));
}

test('SIGTERM of an ingest node owning OKX shards: 12 OKX clients over 2 gateways miss and repeat no tradeId', async (t) => {
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
    VENUES: 'binance,okx',
    OKX_URL: `${simulator.url}/okx`,
    SHARD_COUNT: String(SHARDS),
    LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
  };
  // node-a is a process of its own, stopped by SIGTERM as a rolling deploy stops it; node-b, the
  // successor, runs in this process (one process start less keeps the file within its time budget).
  const [nodeA, nodeB] = await Promise.all([
    spawnIngest('node-a', env),
    startIngest(
      {
        natsUrl: nats.url,
        upstreamUrl: simulator.url,
        venues: ['binance', 'okx'],
        okxUrl: `${simulator.url}/okx`,
        shardCount: SHARDS,
        leaseTtlSeconds: LEASE_TTL_SECONDS,
        nodeId: 'node-b',
        port: 0,
      },
      { logger: silentLogger() },
    ),
  ]);
  closers.push(
    () => nodeA.kill('SIGKILL'),
    () => nodeB.close(),
  );

  // The OKX leases, read where they live: `shard.okx.<n>` in the lease bucket.
  const observer = await connect({ servers: nats.url });
  closers.push(() => observer.close());
  const leases = await new Kvm(observer).open(LEASE_BUCKET);
  const okxFeed = feedNames('okx');
  const holders = async () =>
    Promise.all(
      Array.from({ length: SHARDS }, async (_, n) => (await leases.get(okxFeed.leaseKey(n)))?.string()),
    );
  await waitFor(
    'OKX shards spread over both nodes',
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
    venues: ['binance', 'okx'] as const,
  };
  const gateways: RunningGateway[] = await Promise.all(
    ['gw-1', 'gw-2'].map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
  );
  closers.push(() => Promise.all(gateways.map((g) => g.close())));
  const clients: { client: TestClient; instId: string }[] = [];
  for (const gateway of gateways) {
    for (const instId of INSTRUMENTS) {
      const client = await openClient(`${gateway.wsUrl}/okx/ws/v5/public`);
      closers.push(() => client.close());
      client.ws.send(JSON.stringify({ id: instId, op: 'subscribe', args: [{ channel: 'trades', instId }] }));
      clients.push({ client, instId });
    }
  }
  const receivesMore = async (events: number) => {
    const from = clients.map(({ client, instId }) => tradeIds(client, instId).length);
    await waitFor(
      `every client receiving ${events} more trades`,
      () => clients.every(({ client, instId }, i) => tradeIds(client, instId).length >= from[i]! + events),
      10_000,
    );
  };
  await receivesMore(10);

  const exit = new Promise<number | null>((resolve) => nodeA.child.once('exit', resolve));
  await nodeA.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  await receivesMore(30);

  let events = 0;
  const faulty: string[] = [];
  for (const { client, instId } of clients) {
    const ids = tradeIds(client, instId);
    events += ids.length;
    for (let i = 1; i < ids.length; i++) {
      if (ids[i] !== ids[i - 1]! + 1) {
        faulty.push(`${instId}: ${ids[i - 1]} then ${ids[i]}`);
        break;
      }
    }
  }
  assert.deepEqual(faulty, [], 'every client saw each tradeId once, in order');
  const output = nodeA.output();
  assert.match(output, /"feed":"okx".*Handing shard over/, 'node-a handed OKX shards over');
  assert.doesNotMatch(output, /Handover ended by the lease running out/, 'every handover completed');
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every OKX shard');
  t.diagnostic(`${events} trades over ${clients.length} OKX clients`);
});
