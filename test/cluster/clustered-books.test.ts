/**
 * Order books through a clustered gateway: a client following Binance's procedure ("How to manage a
 * local order book correctly": buffer the `@depth` stream, take a REST snapshot, apply what follows it,
 * start again after a hole), with the gateway as both its REST and WebSocket base, keeps a book equal to
 * the simulator's at the same update id, before and after the ingest node publishing the stream is
 * SIGKILLed. The diffs lost while its lease expires leave a hole: the gateway's own book resynchronises
 * from the surviving node's snapshot, and so does the client from the gateway's. Real nats-server,
 * simulator, an ingest node as a child process (the one killed) and one in this process, a gateway and a
 * ws client on loopback.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { preferredOwner, shardOf } from '../../src/cluster/shards.js';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';
import { spawnIngest } from './processes.js';

const SHARDS = 4;
/** Short, so that the survivor takes the stream over within the test. */
const LEASE_TTL_SECONDS = 3;
/** The node killed (a child process) and the survivor (in this process). */
const NODES = ['book-killed', 'book-survivor'] as const;
/** A symbol whose book stream's shard the node to kill is preferred for, so that it publishes the stream. */
const SYMBOL = ['booka', 'bookb', 'bookc', 'bookd', 'booke', 'bookf', 'bookg', 'bookh']
  .map((base) => `${base}usdt`)
  .find((symbol) => preferredOwner(shardOf(`${symbol}@depth@100ms`, SHARDS), NODES) === NODES[0])!;
const STREAM = `${SYMBOL}@depth@100ms`;

interface Depth {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

interface Diff {
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

/** Binance's procedure, run against the gateway; `states` holds the book after each update id applied. */
function followBook(restBase: string, client: TestClient) {
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  const states = new Map<number, string>();
  const sorted = (side: Map<string, string>, descending: boolean) =>
    [...side].sort((x, y) => (descending ? -1 : 1) * (Number(x[0]) - Number(y[0])));
  const state = () => JSON.stringify({ bids: sorted(bids, true), asks: sorted(asks, false) });
  const diff = (i: number) => JSON.parse(client.messages[i]!) as Diff;
  let index = 0;
  let applied = -1;
  let synced = false;
  /** A snapshot is on its way: one at a time. */
  let snapshotting = false;
  /** Snapshots taken, and holes in the diff stream that made the client take another. */
  const counts = { snapshots: 0, holes: 0 };

  const takeSnapshot = async (): Promise<void> => {
    for (;;) {
      const res = await fetchRaw(`${restBase}/api/v3/depth?symbol=${SYMBOL.toUpperCase()}&limit=1000`);
      if (res.status === 200) {
        const snapshot = JSON.parse(res.body) as Depth;
        let first = index;
        while (first < client.messages.length && diff(first).u <= snapshot.lastUpdateId) first++;
        // Step 3: a snapshot older than the first diff buffered after it is fetched again.
        if (first === client.messages.length || diff(first).U <= snapshot.lastUpdateId + 1) {
          bids.clear();
          asks.clear();
          for (const [p, q] of snapshot.bids) bids.set(p, q);
          for (const [p, q] of snapshot.asks) asks.set(p, q);
          applied = snapshot.lastUpdateId;
          states.set(applied, state());
          counts.snapshots++;
          synced = true;
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** Applies what arrived; starts the procedure again after a hole. */
  const step = (): number => {
    if (!synced) {
      if (!snapshotting) {
        snapshotting = true;
        void takeSnapshot().finally(() => {
          snapshotting = false;
        });
      }
      return applied;
    }
    for (; index < client.messages.length; index++) {
      const d = diff(index);
      if (d.u <= applied) continue;
      if (d.U > applied + 1) {
        // The diff stays buffered for the next snapshot.
        counts.holes++;
        synced = false;
        return step();
      }
      for (const [p, q] of d.b) Number(q) === 0 ? bids.delete(p) : bids.set(p, q);
      for (const [p, q] of d.a) Number(q) === 0 ? asks.delete(p) : asks.set(p, q);
      applied = d.u;
      states.set(applied, state());
    }
    return applied;
  };
  return { counts, states, step };
}

it('a client keeps a book equal to the exchange through a clustered gateway, across an ingest SIGKILL', async (t) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const close of cleanups.reverse()) await close().catch(() => {});
  });
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  cleanups.push(() => nats.stop());
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: [SYMBOL], rate: 20 });
  cleanups.push(() => simulator.close());
  const common = { shardCount: SHARDS, leaseTtlSeconds: LEASE_TTL_SECONDS };
  const [killed, survivor] = await Promise.all([
    spawnIngest(NODES[0], {
      NATS_URL: nats.url,
      UPSTREAM_URL: simulator.url,
      SHARD_COUNT: String(SHARDS),
      LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
    }),
    startIngest(
      {
        ...common,
        natsUrl: nats.url,
        upstreamUrl: simulator.url,
        nodeId: NODES[1],
        port: 0,
        host: '127.0.0.1',
      },
      { logger: silentLogger() },
    ),
  ]);
  cleanups.push(
    () => killed.kill('SIGKILL'),
    () => survivor.close(),
  );
  const shard = shardOf(STREAM, SHARDS);
  // Both nodes hold their preferred shards (the stream's is the node to kill's), so no shard moves later.
  await waitFor(
    'the shards spread over both nodes',
    async () =>
      !survivor.leases.ownedShards().includes(shard) &&
      survivor.leases.ownedShards().length +
        ((await killed.metric('ws_manager_cluster_shards_owned{feed="binance"}')) ?? 0) ===
        SHARDS,
    15_000,
  );
  const gateway = await startGateway(
    { natsUrl: nats.url, nodeId: 'gw', port: 0, shardCount: SHARDS, leaseTtlSeconds: LEASE_TTL_SECONDS },
    { logger: silentLogger() },
  );
  cleanups.push(() => gateway.close());
  const client = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
  cleanups.push(() => client.close());
  const book = followBook(gateway.url, client);

  /** The exchange's book now, and the client's at the same update id once it gets there. */
  const compareWithExchange = async (when: string) => {
    const truth = JSON.parse(
      (await fetchRaw(`${simulator.httpUrl}/api/v3/depth?symbol=${SYMBOL.toUpperCase()}&limit=5000`)).body,
    ) as Depth;
    await waitFor(`${when}: the client at the exchange's update id`, () => book.step() >= truth.lastUpdateId);
    assert.equal(
      book.states.get(truth.lastUpdateId),
      JSON.stringify({ bids: truth.bids, asks: truth.asks }),
      `${when}: the client's book at ${truth.lastUpdateId}`,
    );
  };
  await waitFor('the client in step', () => book.step() > 0 && book.counts.snapshots === 1, 10_000);
  await compareWithExchange('before the kill');

  await killed.kill('SIGKILL');
  const killedAt = Date.now();
  const appliedAtKill = book.step();
  // The survivor takes the shard within the lease TTL and a tick; both books then resynchronise.
  await waitFor(
    'the client in step again after a hole',
    () => book.step() > appliedAtKill && book.counts.holes > 0 && book.counts.snapshots >= 2,
    LEASE_TTL_SECONDS * 1000 + 8000,
  );
  const resumedMs = Date.now() - killedAt;
  t.diagnostic(
    `back in step ${resumedMs} ms after the kill; holes ${book.counts.holes}, snapshots ${book.counts.snapshots}`,
  );
  await compareWithExchange('after the kill');
  assert.ok(survivor.leases.ownedShards().includes(shard), 'the survivor publishes the stream');
  assert.ok(
    resumedMs < LEASE_TTL_SECONDS * 1000 + 5000,
    `the book back in step ${resumedMs} ms after the kill`,
  );
});
