/**
 * OKX `books` clients of clustered gateways: whichever gateway a client joins, and whether its gateway
 * already receives the channel or not, it starts from one snapshot followed by a chain of updates with
 * no hole (each `prevSeqId` the `seqId` before it), and its book, built from the pushes it receives as
 * OKX's docs say, equals the simulator's at the same `seqId`. The cluster's first client gets OKX's own
 * snapshot; a client of a gateway joining a channel the ingest node already holds (OKX pushes no
 * snapshot for it) gets one from its gateway's book, seeded from the ingest node's book over NATS
 * (`svc.okx.book`), which the ingest node seeds from OKX's REST `market/books`. After a lost update
 * upstream each client sees that one hole, resubscribes as OKX tells a client to, and is in step again
 * from one snapshot. Real nats-server, simulator, ingest node, gateways and ws clients on loopback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningGateway } from '../../src/roles/start-gateway.js';
import type { Simulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startRestCluster } from './venue-cluster.js';

const INST = 'BTC-USDT';
/** An instrument whose `books` channel the simulator opens without a snapshot (OKX's announced change). */
const UNSEEDED = 'ETH-USDT';

type Level = [string, string];
type Row = [string, string, string, string];

interface BookPush {
  action: 'snapshot' | 'update';
  data: { asks: Row[]; bids: Row[]; seqId: number; prevSeqId: number }[];
}

/** A client's book after each push it received from `from` on, and what broke its chain. */
interface Replayed {
  readonly states: Map<number, { bids: Level[]; asks: Level[] }>;
  readonly snapshots: number;
  readonly firstAction: string | undefined;
  /** Updates whose `prevSeqId` was not the `seqId` before (the book is out of step until a snapshot). */
  readonly holes: number;
  readonly lastSeqId: number | undefined;
}

/** Rebuilds the book as an OKX client does: a snapshot replaces it, an update continues it (`prevSeqId`). */
function replay({ client, inst, from }: Joined): Replayed {
  const prefix = `{"arg":{"channel":"books","instId":"${inst}"}`;
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  const states = new Map<number, { bids: Level[]; asks: Level[] }>();
  let last: number | undefined;
  let inStep = false;
  let holes = 0;
  let snapshots = 0;
  let firstAction: string | undefined;
  for (const text of client.messages.slice(from)) {
    if (!text.startsWith(prefix)) continue;
    const push = JSON.parse(text) as BookPush;
    const data = push.data[0]!;
    firstAction ??= push.action;
    if (push.action === 'snapshot') {
      snapshots++;
      bids.clear();
      asks.clear();
      inStep = true;
    } else if (data.prevSeqId !== last) {
      if (inStep) holes++;
      inStep = false;
    }
    last = data.seqId;
    if (!inStep) continue;
    for (const [side, rows] of [
      [bids, data.bids],
      [asks, data.asks],
    ] as const) {
      for (const [price, size] of rows) {
        if (Number(size) === 0) side.delete(price);
        else side.set(price, size);
      }
    }
    const sorted = (side: Map<string, string>, dir: number): Level[] =>
      [...side.entries()].sort((x, y) => dir * (Number(x[0]) - Number(y[0])));
    states.set(data.seqId, { bids: sorted(bids, -1), asks: sorted(asks, 1) });
  }
  return { states, snapshots, firstAction, holes, lastSeqId: last };
}

interface Joined {
  readonly client: TestClient;
  readonly inst: string;
  /** Where the client's current subscription's pushes start in its messages. */
  from: number;
}

/** Waits for every client to pass the simulator's current `seqId`, then compares their books with it there. */
async function assertBooksEqualSimulator(
  simulator: Simulator,
  clients: Readonly<Record<string, Joined>>,
): Promise<void> {
  for (const [name, joined] of Object.entries(clients)) {
    const view = simulator.okxBook(joined.inst);
    assert.ok(view !== undefined);
    const { seqId } = view;
    const state = await waitFor(`${name} at seqId ${seqId}`, () => replay(joined).states.get(seqId), 5000);
    assert.deepEqual(state, { bids: view.bids, asks: view.asks }, `${name} at ${seqId}`);
  }
}

function send({ client, inst }: Joined, op: 'subscribe' | 'unsubscribe', id: string): void {
  client.ws.send(JSON.stringify({ id, op, args: [{ channel: 'books', instId: inst }] }));
}

async function join(gateway: RunningGateway, inst = INST): Promise<Joined> {
  const joined = { client: await openClient(`${gateway.wsUrl}/okx/ws/v5/public`), inst, from: 0 };
  send(joined, 'subscribe', 'sub');
  return joined;
}

/** Resubscribes on the same connection: pushes after the unsubscribe's answer belong to the new subscription. */
async function resubscribe(joined: Joined, n: number): Promise<void> {
  const { client } = joined;
  const id = `unsub${n}`;
  send(joined, 'unsubscribe', id);
  await waitFor(`the answer to ${id}`, () => client.messages.some((m) => m.includes(`"id":"${id}"`)));
  joined.from = client.messages.length;
  send(joined, 'subscribe', `sub${n}`);
}

test('OKX books clients of clustered gateways start from one snapshot, keep an unbroken chain equal to the simulator, and again after a lost update', async (t) => {
  const cluster = await startRestCluster(t, 'okx', ['btcusdt', 'ethusdt']);
  if (cluster === undefined) return t.skip('nats-server is not installed');
  const { simulator } = cluster;
  const ingest = await cluster.startIngest('ingest');
  await waitFor('the OKX feed leased', () => ingest.feeds[1]!.leases.ownedShards().length === 2);
  const [gw1, gw2] = await cluster.startGateways(['gw1', 'gw2']);

  // What the gateways ask of the ingest tier: book snapshots only, never a REST call for the books.
  const observer = await cluster.observer();
  const requests: string[] = [];
  observer.subscribe('svc.>', {
    callback: (_, msg) => {
      requests.push(msg.subject);
    },
  });
  await observer.flush();

  // The cluster's first client: the ingest node subscribes upstream, and OKX's snapshot comes through.
  const first = await join(gw1!);
  cluster.closeLater(() => first.client.close());
  await waitFor('the first client in step', () => replay(first).states.size >= 3);
  // As in one process, OKX's pushed snapshot seeds the first gateway's book: no snapshot is asked of the
  // ingest tier, and none of OKX's REST API.
  await observer.flush();
  assert.deepEqual(
    { requests, restBooks: simulator.okxRestRequests('market/books') },
    { requests: [], restBooks: 0 },
    'the first client costs no snapshot request',
  );
  // A client of the other gateway: the ingest node already holds the channel, so OKX pushes no snapshot;
  // its gateway's book is seeded from the ingest node's.
  const second = await join(gw2!);
  cluster.closeLater(() => second.client.close());
  await waitFor('the second client in step', () => replay(second).states.size >= 3);
  // A client joining a channel its gateway already receives: its snapshot comes from that gateway's book.
  const third = await join(gw2!);
  cluster.closeLater(() => third.client.close());
  await waitFor('the third client in step', () => replay(third).states.size >= 3);
  const clients = { first, second, third };
  await assertBooksEqualSimulator(simulator, clients);
  for (const [name, joined] of Object.entries(clients)) {
    const { firstAction, snapshots, holes } = replay(joined);
    assert.deepEqual(
      { firstAction, snapshots, holes },
      { firstAction: 'snapshot', snapshots: 1, holes: 0 },
      name,
    );
  }
  // One upstream subscription for the channel, whatever the number of gateways and clients.
  assert.equal(simulator.okxStats().filter((s) => s.channels.includes(`books:${INST}`)).length, 1);

  // A lost update upstream: each client sees that one hole.
  assert.equal(simulator.dropOkxBookUpdate(INST), true);
  await waitFor('the hole at every client', () =>
    Object.values(clients).every((joined) => replay(joined).holes === 1),
  );
  // Each resubscribes, as OKX tells a client that sees a hole to, and is in step again from one snapshot.
  let n = 0;
  for (const joined of Object.values(clients)) await resubscribe(joined, ++n);
  for (const [name, joined] of Object.entries(clients))
    await waitFor(`${name} in step again`, () => replay(joined).states.size >= 3);
  await assertBooksEqualSimulator(simulator, clients);
  for (const [name, joined] of Object.entries(clients)) {
    const { firstAction, snapshots, holes } = replay(joined);
    assert.deepEqual(
      { firstAction, snapshots, holes },
      { firstAction: 'snapshot', snapshots: 1, holes: 0 },
      `${name} after the lost update`,
    );
  }

  // OKX stops pushing the snapshot on subscribe (as it announced): the cluster's first client's gateway
  // gets an update first and asks the ingest node, whose book is seeded from OKX's REST `market/books`;
  // a client of the other gateway likewise. Each starts from one snapshot, in step with the simulator.
  simulator.setOkxBookSnapshots(false);
  const unseeded = { fourth: await join(gw1!, UNSEEDED), fifth: await join(gw2!, UNSEEDED) };
  cluster.closeLater(() => Promise.all(Object.values(unseeded).map(({ client }) => client.close())));
  for (const [name, joined] of Object.entries(unseeded))
    await waitFor(`${name} in step`, () => replay(joined).states.size >= 3);
  await assertBooksEqualSimulator(simulator, unseeded);
  for (const [name, joined] of Object.entries(unseeded)) {
    const { firstAction, snapshots, holes } = replay(joined);
    assert.deepEqual(
      { firstAction, snapshots, holes },
      { firstAction: 'snapshot', snapshots: 1, holes: 0 },
      name,
    );
  }

  await observer.flush();
  t.diagnostic(`requests of the ingest tier: ${JSON.stringify(requests)}`);
  // Every book request went over the okx feed's book subject; the gateways asked for no REST call.
  assert.ok(requests.length >= 3, 'gateways seeded their books from the ingest node');
  assert.deepEqual([...new Set(requests)], ['svc.okx.book']);
  assert.ok(simulator.okxRestRequests('market/books') >= 1, 'the ingest node seeded its book from OKX REST');
});
