/**
 * A planned handover under load: an ingest node (a child process) stopped with SIGTERM offers its
 * shards to the other node and publishes until that node does, so the clients of two gateways on
 * trade and aggTrade streams see every exchange id once, in order, across the handover.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { eachReceivesMore, openStreamClients, summarise } from './handover-clients.js';
import { startNatsServer } from './nats-server.js';
import { type IngestProcess, spawnIngest } from './processes.js';

// A short lease (ticks of 1 s) keeps the file within its wall-time budget: a handover takes about a tick.
const LEASE_TTL_SECONDS = 3;
const SHARDS = 8;
const SYMBOLS = Array.from({ length: 10 }, (_, i) => `hosig${i}usdt`);
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

it('SIGTERM of an ingest node under load: 40 clients on 20 streams over 2 gateways miss and repeat no exchange id', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 200 });
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

  const stoppedAt = Date.now();
  const exit = new Promise<number | null>((resolve) => ingests[0]!.child.once('exit', resolve));
  await ingests[0]!.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  const stopMs = Date.now() - stoppedAt;
  // Every client goes on receiving from node-b.
  await eachReceivesMore(clients, 20, 10_000);

  const { events, missed, repeated, faulty } = summarise(clients);
  assert.deepEqual(faulty, [], 'every client saw each exchange id once, in order');
  assert.equal(missed + repeated, 0);
  const output = ingests[0]!.output();
  const handedOver = (output.match(/Handing shard over: publishing until the successor does/g) ?? []).length;
  assert.ok(handedOver > 0, 'node-a handed its shards over');
  assert.doesNotMatch(output, /Handover ended by the lease running out/, 'every handover completed');
  assert.equal((await ingests[1]!.metric('ws_manager_cluster_shards_owned')) ?? 0, SHARDS);
  t.diagnostic(
    `${events} events over ${clients.length} clients; node-a handed ${handedOver} shards over and exited in ${stopMs} ms`,
  );
});
