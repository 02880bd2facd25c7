/**
 * A crash: an ingest node (a child process) killed with SIGKILL publishes nothing more and its leases
 * run out. The other node takes its shards and, per stream, refills the window between the last event
 * in the history and its own first live event from the exchange's REST history before going live, so
 * the clients of two gateways on trade and aggTrade streams see every exchange id once, in order, and
 * every client receives again within the lease TTL + 2 s.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { eachReceivesMore, metricValue, summarise } from './handover-clients.js';
import { startTwoNodeCluster } from './two-node-cluster.js';

// A short lease keeps the file within its wall-time budget: the dead node's shards are free after 3 s.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 10 }, (_, i) => `tokil${i}usdt`);

it('SIGKILL of an ingest node: the window is refilled, every client receives again within the lease TTL + 2 s, no id missed or repeated', async (t) => {
  const cluster = await startTwoNodeCluster(t, {
    symbols: SYMBOLS,
    rate: 40,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
  });
  if (cluster === undefined) return;
  const { ingests, gateways, clients } = cluster;

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
