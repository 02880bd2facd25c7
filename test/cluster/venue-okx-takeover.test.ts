/**
 * A crash of an ingest node owning OKX shards: node-a (a child process) is killed with SIGKILL and
 * its leases run out; node-b takes the `okx` shards and, per `trades` channel, refills the window
 * between the last push in the history and its own first live push from OKX's
 * `/api/v5/market/history-trades` before going live. The OKX clients of two gateways see every
 * `tradeId` once, in order, and receive again within the lease TTL + 2 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { shardOf } from '../../src/cluster/shards.js';
import { feedNames, LEASE_BUCKET } from '../../src/cluster/subjects.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { metricValue } from './handover-clients.js';
import { startNatsServer } from './nats-server.js';
import { spawnIngest } from './processes.js';

const SHARDS = 8;
// A short lease keeps the file within its wall-time budget: the dead node's shards are free after 3 s.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 8 }, (_, i) => `okil${i}usdt`);
const INSTRUMENTS = SYMBOLS.map((s) => `${s.slice(0, -4).toUpperCase()}-USDT`);

/** The `tradeId` of every trade of `instId` a client received, in order, and when each push came. */
interface Client {
  readonly client: TestClient;
  readonly instId: string;
  readonly times: number[];
}

function tradeIds(client: TestClient, instId: string): number[] {
  const prefix = `{"arg":{"channel":"trades","instId":"${instId}"}`;
  return client.messages
    .filter((m) => m.startsWith(prefix))
    .flatMap((m) => (JSON.parse(m) as { data: { tradeId: string }[] }).data.map((t) => Number(t.tradeId)));
}

test('SIGKILL of an ingest node owning OKX shards: the window is refilled from history-trades, no tradeId missed or repeated', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return t.skip('nats-server is not installed');
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  // 20 trades a second per instrument: a window of a few seconds is one history-trades page, so the
  // refills stay within OKX's 10 history-trades calls per 2 s.
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
  closers.push(() => simulator.close());
  const okxUrl = `${simulator.url}/okx`;
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    VENUES: 'binance,okx',
    OKX_URL: okxUrl,
    SHARD_COUNT: String(SHARDS),
    LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
  };
  // node-a is a process of its own, so it can be killed; node-b, which takes over, runs in this process
  // (one process start less keeps the file within its time budget, and its metrics are at hand).
  const [nodeA, nodeB] = await Promise.all([
    spawnIngest('node-a', env),
    startIngest(
      {
        natsUrl: nats.url,
        upstreamUrl: simulator.url,
        venues: ['binance', 'okx'],
        okxUrl,
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

  const observer = await connect({ servers: nats.url });
  closers.push(() => observer.close());
  const leases = await new Kvm(observer).open(LEASE_BUCKET);
  const okxFeed = feedNames('okx');
  const holders = async () =>
    Promise.all(
      Array.from({ length: SHARDS }, async (_, n) => (await leases.get(okxFeed.leaseKey(n)))?.string()),
    );
  let held: (string | undefined)[] = [];
  await waitFor(
    'OKX shards spread over both nodes',
    async () => {
      held = await holders();
      return held.every((h) => h === 'node-a' || h === 'node-b') && new Set(held).size === 2;
    },
    15_000,
  );
  // The instruments whose `trades` channel node-a publishes, and one node-b publishes all along.
  const ownerOf = (instId: string) => held[shardOf(`trades:${instId}`, SHARDS)];
  const killedStreams = INSTRUMENTS.filter((i) => ownerOf(i) === 'node-a').slice(0, 3);
  const kept = INSTRUMENTS.find((i) => ownerOf(i) === 'node-b');
  assert.ok(killedStreams.length > 0 && kept !== undefined, `node-a and node-b each own a channel: ${held}`);

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
  const clients: Client[] = [];
  for (const gateway of gateways) {
    for (const instId of [...killedStreams, kept]) {
      const client = await openClient(`${gateway.wsUrl}/okx/ws/v5/public`);
      closers.push(() => client.close());
      const times: number[] = [];
      client.ws.on('message', () => times.push(Date.now()));
      client.ws.send(JSON.stringify({ id: instId, op: 'subscribe', args: [{ channel: 'trades', instId }] }));
      clients.push({ client, instId, times });
    }
  }
  const receivesMore = async (events: number, withinMs: number) => {
    const from = clients.map(({ client, instId }) => tradeIds(client, instId).length);
    await waitFor(
      `every client receiving ${events} more trades`,
      () => clients.every(({ client, instId }, i) => tradeIds(client, instId).length >= from[i]! + events),
      withinMs,
    );
  };
  await receivesMore(10, 10_000);

  const killedAt = Date.now();
  await nodeA.kill('SIGKILL');
  const budgetMs = LEASE_TTL_SECONDS * 1000 + 2000;
  // Pushes published before the kill arrive within milliseconds: one after a second is a new owner's.
  await waitFor(
    'every client receiving again',
    () => clients.every(({ times }) => times.some((at) => at > killedAt + 1000)),
    budgetMs,
  );
  const recoveredMs = Date.now() - killedAt;
  assert.ok(recoveredMs <= budgetMs, `every client receiving again ${recoveredMs} ms after the kill`);
  await receivesMore(10, 5000);

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
  const refilled = await metricValue(nodeB.registry, 'ws_manager_cluster_refilled_events_total');
  assert.ok(refilled > 0, 'node-b refilled the window from history-trades');
  assert.ok(simulator.okxRestRequests('market/history-trades') > 0, 'node-b asked OKX for history-trades');
  const failures = await metricValue(nodeB.registry, 'ws_manager_cluster_refill_failures_total');
  assert.equal(failures, 0, 'every window refilled');
  const missed = await Promise.all(
    gateways.map((g) => metricValue(g.registry, 'ws_manager_cluster_upstream_missed_events_total')),
  );
  assert.deepEqual(missed, [0, 0], 'no gateway saw a tradeId skipped');
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every OKX shard');
  t.diagnostic(
    `${events} trades over ${clients.length} OKX clients (${killedStreams.length} channels of node-a); receiving again ${recoveredMs} ms after the kill; ${refilled} trades refilled`,
  );
});
