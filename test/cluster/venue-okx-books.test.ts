/**
 * OKX order-book channels across a planned handover. Both owners read the same book on their own
 * sockets: the successor's line starts with a snapshot at the book's `seqId` when it subscribed, then
 * updates whose `prevSeqId` is the `seqId` before, as the old line's. A gateway keeps delivering the old
 * line until it reaches the successor's first `seqId`, then skips the successor's pushes up to the last
 * `seqId` delivered, so a client's chain of updates goes on unbroken: no second snapshot, no `seqId`
 * twice or going back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf } from '../../src/cluster/shards.js';
import { bookAwaitsOldLine, bookOverlapDrops, OLD_LINE_QUIET_MS } from '../../src/cluster/stream-order.js';
import type { TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { metricValue } from './handover-clients.js';
import { HANDOVER_SHARDS, startHandoverCluster } from './venue-cluster.js';

test('a switch waits for the old line to reach the successor’s first book id, while the old line still delivers', () => {
  const bound = 3000;
  assert.equal(bookAwaitsOldLine(100, 105, 10, 50, bound), true);
  assert.equal(bookAwaitsOldLine(105, 105, 10, 50, bound), false, 'reached it');
  assert.equal(bookAwaitsOldLine(110, 105, 10, 50, bound), false, 'passed it');
  assert.equal(bookAwaitsOldLine(100, 105, OLD_LINE_QUIET_MS, 50, bound), false, 'old line quiet');
  assert.equal(bookAwaitsOldLine(100, 105, 10, bound, bound), false, 'waited a lease TTL');
  assert.equal(bookAwaitsOldLine(100, undefined, 10, 50, bound), false, 'no book id to wait for');
});

test('after a switch, the successor’s pushes up to the last book id delivered are dropped, a restart passes', () => {
  // The old line delivered up to 120; the successor's snapshot at 105, then updates to 120, then on.
  let seen = Number.NEGATIVE_INFINITY;
  const dropped: number[] = [];
  const passed: number[] = [];
  for (const id of [105, 110, 115, 120, 125, 130]) {
    if (passed.length === 0 && bookOverlapDrops(120, seen, id)) {
      seen = id;
      dropped.push(id);
    } else passed.push(id);
  }
  assert.deepEqual(dropped, [105, 110, 115, 120]);
  assert.deepEqual(passed, [125, 130]);
  // The venue's book restarting during the overlap: its ids go back below the successor's own.
  assert.equal(bookOverlapDrops(120, 115, 1), false);
  // An update that changes nothing repeats the last seqId: dropped as well.
  assert.equal(bookOverlapDrops(120, 115, 115), true);
});

const SHARDS = HANDOVER_SHARDS;
const SYMBOLS = Array.from({ length: 8 }, (_, i) => `obk${i}usdt`);
const INSTRUMENTS = SYMBOLS.map((s) => `${s.slice(0, -4).toUpperCase()}-USDT`);

interface BookPush {
  readonly action: string | undefined;
  readonly seqId: number;
  readonly prevSeqId: number | undefined;
}

function bookPushes(client: TestClient, channel: string, instId: string): BookPush[] {
  const prefix = `{"arg":{"channel":"${channel}","instId":"${instId}"}`;
  return client.messages
    .filter((m) => m.startsWith(prefix))
    .map((m) => {
      const push = JSON.parse(m) as { action?: string; data: { seqId: number; prevSeqId?: number }[] };
      return { action: push.action, seqId: push.data[0]!.seqId, prevSeqId: push.data[0]!.prevSeqId };
    });
}

/** What breaks a `books` client's chain: a snapshot after the first push, an update not continuing the one before. */
function chainFaults(pushes: readonly BookPush[]): string[] {
  const faults: string[] = [];
  for (let i = 1; i < pushes.length; i++) {
    const push = pushes[i]!;
    if (push.action === 'snapshot') faults.push(`snapshot at ${push.seqId} after ${pushes[i - 1]!.seqId}`);
    else if (push.prevSeqId !== pushes[i - 1]!.seqId)
      faults.push(`update ${push.prevSeqId}→${push.seqId} after ${pushes[i - 1]!.seqId}`);
  }
  return faults;
}

test('SIGTERM of an ingest node owning OKX book channels: books clients keep an unbroken seqId chain, books5 clients no seqId twice', async (t) => {
  // node-a is a process of its own, stopped by SIGTERM; node-b, the successor, runs in this process
  // (one process start less keeps the file within its time budget).
  const started = await startHandoverCluster(t, { venue: 'okx', symbols: SYMBOLS, rate: 20 }, (c) =>
    c.startIngest('node-b'),
  );
  if (started === undefined) return t.skip('nats-server is not installed');
  const { cluster, nodeA, holders, held } = started;
  // Instruments whose `books` channel node-a publishes: those are handed over.
  const handed = INSTRUMENTS.filter((i) => held[shardOf(`books:${i}`, SHARDS)] === 'node-a').slice(0, 3);
  assert.ok(handed.length > 0, `node-a owns a books channel: ${held}`);

  const gateways = await cluster.startGateways(['gw-1', 'gw-2']);
  const clients: { client: TestClient; instId: string }[] = [];
  for (const gateway of gateways) {
    for (const instId of handed) {
      const args = [
        { channel: 'books', instId },
        { channel: 'books5', instId },
      ];
      const client = await cluster.openSubscribed(`${gateway.wsUrl}/okx/ws/v5/public`, {
        id: instId,
        op: 'subscribe',
        args,
      });
      clients.push({ client, instId });
    }
  }
  const receivesMore = async (pushes: number) => {
    const count = ({ client, instId }: (typeof clients)[number]) =>
      Math.min(bookPushes(client, 'books', instId).length, bookPushes(client, 'books5', instId).length);
    const from = clients.map(count);
    await waitFor(
      `every client receiving ${pushes} more pushes of each channel`,
      () => clients.every((c, i) => count(c) >= from[i]! + pushes),
      10_000,
    );
  };
  await receivesMore(5);

  const exit = new Promise<number | null>((resolve) => nodeA.child.once('exit', resolve));
  await nodeA.kill('SIGTERM');
  assert.equal(await exit, 0, 'a stopped node exits 0');
  await receivesMore(10);

  const faulty: string[] = [];
  let books = 0;
  for (const { client, instId } of clients) {
    const chain = bookPushes(client, 'books', instId);
    books += chain.length;
    for (const fault of chainFaults(chain)) faulty.push(`books:${instId}: ${fault}`);
    const whole = bookPushes(client, 'books5', instId);
    for (let i = 1; i < whole.length; i++) {
      if (whole[i]!.seqId <= whole[i - 1]!.seqId)
        faulty.push(`books5:${instId}: ${whole[i]!.seqId} after ${whole[i - 1]!.seqId}`);
    }
  }
  assert.deepEqual(faulty, [], 'every client kept its book chain across the handover');
  assert.match(nodeA.output(), /"feed":"okx".*Handing shard over/, 'node-a handed OKX shards over');
  const dropped = await Promise.all(
    gateways.map((g) => metricValue(g.registry, 'ws_manager_cluster_overlap_dropped_total')),
  );
  assert.ok(
    dropped.every((n) => n > 0),
    `each gateway dropped the successor's pushes the old line delivered: ${dropped}`,
  );
  assert.deepEqual(new Set(await holders()), new Set(['node-b']), 'node-b holds every OKX shard');
  t.diagnostic(`${books} books pushes over ${clients.length} clients; overlap dropped ${dropped}`);
});
