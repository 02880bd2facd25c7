/**
 * A crash: an ingest node (a child process) killed with SIGKILL publishes nothing more and its leases
 * run out. The other node takes its shards and, per stream, refills the window between the last event
 * in the history and its own first live event from the exchange's REST history before going live, so
 * the clients of two gateways on trade and aggTrade streams see every exchange id once, in order, and
 * every client receives again within the lease TTL + 2 s.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { eachReceivesMore, metricValue, openStreamClients, summarise } from './handover-clients.js';
import { startNatsServer } from './nats-server.js';
import { type IngestProcess, spawnIngest } from './processes.js';

// A short lease keeps the file within its wall-time budget: the dead node's shards are free after 3 s.
const LEASE_TTL_SECONDS = 3;
const SHARDS = 8;
const SYMBOLS = Array.from({ length: 10 }, (_, i) => `tokil${i}usdt`);
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

it('SIGKILL of an ingest node: the window is refilled, every client receives again within the lease TTL + 2 s, no id missed or repeated', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 40 });
  closers.push(() => simulator.close());
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    SHARD_COUNT: String(SHARDS),
    LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
  };
  const ingests: IngestProcess[] = await Promise.all([
    spawnIngest('node-a', env),
    spawnIngest('node-b', env),
  ]);
  closers.push(() => Promise.all(ingests.map((i) => i.kill('SIGKILL'))));
  await waitFor(
    'shards spread over both nodes',
    async () => {
      const owned = await Promise.all(ingests.map((i) => i.metric('ws_manager_cluster_shards_owned')));
      return owned.every((n) => (n ?? 0) > 0) && owned.reduce((a = 0, b = 0) => a + b, 0) === SHARDS;
    },
    15_000,
  );
  const common = { natsUrl: nats.url, port: 0, shardCount: SHARDS, leaseTtlSeconds: LEASE_TTL_SECONDS };
  const gateways = await Promise.all(
    ['gw-1', 'gw-2'].map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
  );
  closers.push(() => Promise.all(gateways.map((g) => g.close())));
  const clients = await openStreamClients(
    gateways.map((g) => g.wsUrl),
    STREAMS,
    2,
  );
  closers.push(() => Promise.all(clients.map((c) => c.client.close())));
  await eachReceivesMore(clients, 10, 15_000);
  await waitFor(
    'node-a publishing',
    async () => ((await ingests[0]!.metric('ws_manager_cluster_published_total')) ?? 0) > 0,
  );

  const killedAt = Date.now();
  await ingests[0]!.kill('SIGKILL');
  const budgetMs = LEASE_TTL_SECONDS * 1000 + 2000;
  // Events published before the kill arrive within milliseconds: one after a second is a new owner's.
  await waitFor(
    'every client receiving again',
    () => clients.every(({ times }) => times.some((at) => at > killedAt + 1000)),
    budgetMs,
  );
  const recoveredMs = Date.now() - killedAt;
  assert.ok(recoveredMs <= budgetMs, `every client receiving again ${recoveredMs} ms after the kill`);
  await eachReceivesMore(clients, 10, 5000);

  const { events, faulty } = summarise(clients);
  assert.deepEqual(faulty, [], 'every client saw each exchange id once, in order');
  const refilled = (await ingests[1]!.metric('ws_manager_cluster_refilled_events_total')) ?? 0;
  assert.ok(refilled > 0, 'node-b refilled the window from the exchange');
  const missed = await Promise.all(
    gateways.map((g) => metricValue(g.registry, 'ws_manager_cluster_upstream_missed_events_total')),
  );
  assert.deepEqual(missed, [0, 0], 'no gateway saw an exchange id skipped');
  t.diagnostic(
    `${events} events over ${clients.length} clients; receiving again ${recoveredMs} ms after the kill; ${refilled} events refilled`,
  );
});
