/**
 * Bybit's order-book topics through clustered gateways: every raw Bybit client starts from a snapshot,
 * whichever gateway it joins and however many clients of the cluster hold the topic already, and its
 * book, built from the frames it receives as Bybit's docs say, equals the simulator's at the same
 * update id; after a lost update upstream a new snapshot puts every client in step again. The first
 * client of the cluster gets the venue's own snapshot; a client of another gateway, whose gateway joins
 * a topic the ingest node already holds, gets one from its gateway's book, seeded by a snapshot of the
 * ingest node's book over NATS (`svc.bybit.spot.book`). Real nats-server, simulator, ingest node,
 * gateways and ws clients on loopback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningGateway } from '../../src/roles/start-gateway.js';
import type { Simulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startRestCluster } from './venue-cluster.js';

const TOPIC = 'orderbook.50.BTCUSDT';
const DEPTH = 50;

type Level = [string, string];

interface BookFrame {
  topic: string;
  type: 'snapshot' | 'delta';
  data: { s: string; b: Level[]; a: Level[]; u: number };
}

/** A client's book after each update it received, and the holes it saw (a delta not continuing its book). */
interface Replayed {
  readonly states: Map<number, { bids: Level[]; asks: Level[] }>;
  readonly holes: number;
  readonly snapshots: number;
  readonly firstType: string | undefined;
}

/** Rebuilds the book as a Bybit client does: a snapshot replaces it, a delta continues it (`u` + 1). */
function replay(client: TestClient): Replayed {
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  const states = new Map<number, { bids: Level[]; asks: Level[] }>();
  let last: number | undefined;
  let holes = 0;
  let snapshots = 0;
  let firstType: string | undefined;
  for (const text of client.messages) {
    if (!text.startsWith(`{"topic":"${TOPIC}"`)) continue;
    const frame = JSON.parse(text) as BookFrame;
    firstType ??= frame.type;
    if (frame.type === 'snapshot') {
      snapshots++;
      bids.clear();
      asks.clear();
    } else if (last === undefined || frame.data.u !== last + 1) {
      // Out of step until the next snapshot.
      if (last !== undefined) holes++;
      last = undefined;
      continue;
    }
    for (const [side, levels] of [
      [bids, frame.data.b],
      [asks, frame.data.a],
    ] as const) {
      for (const [price, qty] of levels) {
        if (Number(qty) === 0) side.delete(price);
        else side.set(price, qty);
      }
    }
    last = frame.data.u;
    const sorted = (side: Map<string, string>, dir: number): Level[] =>
      [...side.entries()].sort((x, y) => dir * (Number(x[0]) - Number(y[0]))).slice(0, DEPTH);
    states.set(last, { bids: sorted(bids, -1), asks: sorted(asks, 1) });
  }
  return { states, holes, snapshots, firstType };
}

/** Waits for every client to pass the simulator's current update, then compares their books with it there. */
async function assertBooksEqualSimulator(
  simulator: Simulator,
  clients: Record<string, TestClient>,
): Promise<void> {
  const view = simulator.bybitBook(TOPIC);
  assert.ok(view !== undefined);
  const { u } = view;
  for (const [name, client] of Object.entries(clients)) {
    const state: { bids: Level[]; asks: Level[] } = await waitFor(
      `${name} at update ${u}`,
      (): { bids: Level[]; asks: Level[] } | undefined => replay(client).states.get(u),
      5000,
    );
    assert.deepEqual(state, { bids: view.bids, asks: view.asks }, `${name} at ${u}`);
  }
}

async function subscribe(gateway: RunningGateway): Promise<TestClient> {
  const client = await openClient(`${gateway.wsUrl}/bybit/v5/public/spot`);
  client.ws.send(JSON.stringify({ op: 'subscribe', req_id: 'book', args: [TOPIC] }));
  return client;
}

test('Bybit book clients of clustered gateways start from a snapshot and stay equal to the simulator', async (t) => {
  const cluster = await startRestCluster(t, 'bybit', ['btcusdt']);
  if (cluster === undefined) return t.skip('nats-server is not installed');
  const { simulator } = cluster;
  const ingest = await cluster.startIngest('ingest');
  await waitFor('the Bybit feeds leased', () =>
    ingest.feeds.slice(1).every((f) => f.leases.ownedShards().length === 2),
  );
  const [gw1, gw2] = await cluster.startGateways(['gw1', 'gw2']);

  // The cluster's first client: the ingest node subscribes upstream, and the venue's snapshot comes through.
  const first = await subscribe(gw1!);
  cluster.closeLater(() => first.close());
  await waitFor('the first client in step', () => replay(first).states.size >= 3);
  // A client of the other gateway: the ingest node already holds the topic, so no venue snapshot is
  // due; its gateway's book is seeded from the ingest node's.
  const second = await subscribe(gw2!);
  cluster.closeLater(() => second.close());
  await waitFor('the second client in step', () => replay(second).states.size >= 3);
  // A later client of the first gateway: its snapshot comes from that gateway's book, already in step.
  const third = await subscribe(gw1!);
  cluster.closeLater(() => third.close());
  await waitFor('the third client in step', () => replay(third).states.size >= 3);
  const clients = { first, second, third };
  await assertBooksEqualSimulator(simulator, clients);
  for (const [name, client] of Object.entries(clients)) {
    const { firstType, holes } = replay(client);
    assert.deepEqual({ firstType, holes }, { firstType: 'snapshot', holes: 0 }, name);
  }
  // One upstream subscription for the topic, whatever the number of gateways and clients.
  assert.equal(simulator.bybitStats().filter((s) => s.topics.includes(TOPIC)).length, 1);

  // A lost update upstream: each client sees the one hole, then a new snapshot puts it in step again.
  const snapshotsBefore = Object.fromEntries(
    Object.entries(clients).map(([name, client]) => [name, replay(client).snapshots]),
  );
  assert.equal(simulator.skipBybitBookUpdate(TOPIC), true);
  await waitFor('a new snapshot at every client', () =>
    Object.entries(clients).every(([name, client]) => replay(client).snapshots > snapshotsBefore[name]!),
  );
  await assertBooksEqualSimulator(simulator, clients);
  for (const [name, client] of Object.entries(clients)) assert.equal(replay(client).holes, 1, name);
});
