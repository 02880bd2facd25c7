/**
 * A crash of an ingest node owning OKX shards: node-a (a child process) is killed with SIGKILL and
 * its leases run out; node-b takes the `okx` shards and, per `trades` channel, refills the window
 * between the last push in the history and its own first live push from OKX's
 * `/api/v5/market/history-trades` before going live. The OKX clients of two gateways see every
 * `tradeId` once, in order, and receive again within the lease TTL + 2 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf } from '../../src/cluster/shards.js';
import type { TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { metricValue } from './handover-clients.js';
import {
  eachCountGrows,
  HANDOVER_LEASE_TTL_SECONDS,
  HANDOVER_SHARDS,
  idGaps,
  okxTradeIds,
  startHandoverCluster,
} from './venue-cluster.js';

const SHARDS = HANDOVER_SHARDS;
const LEASE_TTL_SECONDS = HANDOVER_LEASE_TTL_SECONDS;
const SYMBOLS = Array.from({ length: 8 }, (_, i) => `okil${i}usdt`);
const INSTRUMENTS = SYMBOLS.map((s) => `${s.slice(0, -4).toUpperCase()}-USDT`);

/** A client of one instrument's `trades`, and when each push came. */
interface Client {
  readonly client: TestClient;
  readonly key: string;
  readonly times: number[];
}

test('SIGKILL of an ingest node owning OKX shards: the window is refilled from history-trades, no tradeId missed or repeated', async (t) => {
  // 20 trades a second per instrument: a window of a few seconds is one history-trades page, so the
  // refills stay within OKX's 10 history-trades calls per 2 s.
  // node-a is a process of its own, so it can be killed; node-b, which takes over, runs in this process
  // (one process start less keeps the file within its time budget, and its metrics are at hand).
  const started = await startHandoverCluster(t, { venue: 'okx', symbols: SYMBOLS, rate: 20 }, (c) =>
    c.startIngest('node-b'),
  );
  if (started === undefined) return t.skip('nats-server is not installed');
  const { cluster, nodeA, nodeB, holders, held } = started;
  const { simulator } = cluster;
  // The instruments whose `trades` channel node-a publishes, and one node-b publishes all along.
  const ownerOf = (instId: string) => held[shardOf(`trades:${instId}`, SHARDS)];
  const killedStreams = INSTRUMENTS.filter((i) => ownerOf(i) === 'node-a').slice(0, 3);
  const kept = INSTRUMENTS.find((i) => ownerOf(i) === 'node-b');
  assert.ok(killedStreams.length > 0 && kept !== undefined, `node-a and node-b each own a channel: ${held}`);

  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);
  const clients: Client[] = [];
  for (const gateway of gateways) {
    for (const instId of [...killedStreams, kept]) {
      const client = await cluster.openSubscribed(`${gateway.wsUrl}/okx/ws/v5/public`, {
        id: instId,
        op: 'subscribe',
        args: [{ channel: 'trades', instId }],
      });
      const times: number[] = [];
      client.ws.on('message', () => times.push(Date.now()));
      clients.push({ client, key: instId, times });
    }
  }
  const receivesMore = (events: number, withinMs: number) =>
    eachCountGrows(clients, ({ client, key }) => okxTradeIds(client, key).length, events, withinMs, 'trades');
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

  const { faulty, events } = idGaps(clients, okxTradeIds);
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
