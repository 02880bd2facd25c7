/**
 * A planned handover under load: an ingest node (a child process) stopped with SIGTERM offers its
 * shards to the other node and publishes until that node does, so the clients of two gateways on
 * trade and aggTrade streams see every exchange id once, in order, across the handover.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachReceivesMore, summarise } from './handover-clients.js';
import { SHARDS, startTwoNodeCluster } from './two-node-cluster.js';

// A short lease (ticks of 1 s) keeps the file within its wall-time budget: a handover takes about a tick.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 10 }, (_, i) => `hosig${i}usdt`);

it('SIGTERM of an ingest node under load: 40 clients on 20 streams over 2 gateways miss and repeat no exchange id', async (t) => {
  const cluster = await startTwoNodeCluster(t, {
    symbols: SYMBOLS,
    rate: 200,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
  });
  if (cluster === undefined) return;
  const { ingests, clients } = cluster;

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
  assert.equal((await ingests[1]!.metric('ws_manager_cluster_shards_owned{feed="binance"}')) ?? 0, SHARDS);
  t.diagnostic(
    `${events} events over ${clients.length} clients; node-a handed ${handedOver} shards over and exited in ${stopMs} ms`,
  );
});
