/**
 * A crash of an ingest node owning Bybit shards: node-a (a child process) is killed with SIGKILL and
 * its leases run out; node-b takes the `bybit.spot` and `bybit.linear` shards and, per `publicTrade`
 * topic, refills the window between the last trade in the history and its own first live trade from
 * `/v5/market/recent-trade` before going live. Bybit trades carry no contiguous id, so the Bybit clients
 * of two gateways are checked against the simulator's own record of the trades it generated (`i`).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { preferredOwner, shardOf } from '../../src/cluster/shards.js';
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
// A short lease keeps the file within its wall-time budget: the dead node's shards are free after 3 s,
// and the window nobody read is about 4 s long.
const LEASE_TTL_SECONDS = 3;
const SYMBOLS = Array.from({ length: 8 }, (_, i) => `BKIL${i}USDT`);
const MARKETS = ['spot', 'linear'] as const;
type Market = (typeof MARKETS)[number];

/** Per client: the messages read so far, and the trade ids of each topic in them. */
const readIds = new WeakMap<TestClient, { read: number; byTopic: Map<string, number[]> }>();

/**
 * The simulator's trade ids (`i`) of every `publicTrade` frame of `topic` a client received, in order.
 * Each message is parsed once: the waits poll this every 20 ms, in the process that also runs node-b and
 * both gateways, whose lease ticks a re-parse of every message on each poll would delay.
 */
function tradeIds(client: TestClient, topic: string): number[] {
  let seen = readIds.get(client);
  if (seen === undefined) {
    seen = { read: 0, byTopic: new Map() };
    readIds.set(client, seen);
  }
  for (; seen.read < client.messages.length; seen.read++) {
    const message = client.messages[seen.read]!;
    const match = /^\{"topic":"([^"]+)"/.exec(message);
    if (match === null) continue;
    const ids = seen.byTopic.get(match[1]!) ?? [];
    for (const t of (JSON.parse(message) as { data: { i: string }[] }).data) ids.push(Number(t.i));
    seen.byTopic.set(match[1]!, ids);
  }
  return seen.byTopic.get(topic) ?? [];
}

interface Client {
  readonly client: TestClient;
  readonly market: Market;
  readonly symbol: string;
  readonly topic: string;
  /** Whether node-a published the topic (its window is refilled) or node-b all along. */
  readonly killed: boolean;
  readonly times: number[];
}

interface Takeover {
  readonly clients: readonly Client[];
  readonly recoveredMs: number;
  /** The clients that received again only after the lease TTL + 2 s, with when. */
  readonly slow: readonly string[];
  readonly refilled: number;
  readonly historyGone: number;
  readonly otherFailures: number;
  readonly recentTradeCalls: number;
  /** The simulator's ids of `symbol`'s trades from `fromId` on (read while it runs). */
  readonly record: (symbol: string, fromId: number) => number[];
}

/**
 * Runs the crash under `rate` trades a second per symbol, with clients of both gateways on up to two
 * topics node-a publishes and one node-b publishes, per market in `markets`.
 */
async function crashUnderLoad(t: TestContext, rate: number, markets: readonly Market[]): Promise<Takeover> {
  const nats = await startNatsServer(t);
  if (nats === undefined) throw new Error('nats-server is not installed');
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    symbols: SYMBOLS.map((s) => s.toLowerCase()),
    rate,
  });
  closers.push(() => simulator.close());
  const bybitUrl = `${simulator.url}/bybit`;
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    VENUES: 'binance,bybit',
    BYBIT_URL: bybitUrl,
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
        venues: ['binance', 'bybit'],
        bybitUrl,
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
  const holders = async (market: Market) =>
    Promise.all(
      Array.from({ length: SHARDS }, async (_, n) =>
        (await leases.get(feedNames(`bybit.${market}`).leaseKey(n)))?.string(),
      ),
    );
  const held = new Map<Market, (string | undefined)[]>();
  // Killed only once every shard is at the node rendezvous hashing prefers: a kill during a planned
  // handover is another case (the successor takes the shard by the offer, not by the lease running out).
  const settled = Array.from({ length: SHARDS }, (_, n) => preferredOwner(n, ['node-a', 'node-b']));
  await waitFor(
    'Bybit shards of each market at their preferred nodes',
    async () => {
      for (const market of markets) held.set(market, await holders(market));
      return markets.every((market) => JSON.stringify(held.get(market)) === JSON.stringify(settled));
    },
    15_000,
  );

  const common = {
    natsUrl: nats.url,
    port: 0,
    shardCount: SHARDS,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
    venues: ['binance', 'bybit'] as const,
  };
  const gateways: RunningGateway[] = await Promise.all(
    ['gw-1', 'gw-2'].map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
  );
  closers.push(() => Promise.all(gateways.map((g) => g.close())));
  const clients: Client[] = [];
  for (const market of markets) {
    const ownerOf = (symbol: string) => held.get(market)?.[shardOf(`publicTrade.${symbol}`, SHARDS)];
    const killed = SYMBOLS.filter((s) => ownerOf(s) === 'node-a').slice(0, 2);
    const kept = SYMBOLS.find((s) => ownerOf(s) === 'node-b');
    assert.ok(killed.length > 0 && kept !== undefined, `node-a and node-b each own a ${market} topic`);
    for (const gateway of gateways) {
      for (const symbol of [...killed, kept]) {
        const client = await openClient(`${gateway.wsUrl}/bybit/v5/public/${market}`);
        closers.push(() => client.close());
        const topic = `publicTrade.${symbol}`;
        const times: number[] = [];
        client.ws.on('message', () => times.push(Date.now()));
        client.ws.send(JSON.stringify({ op: 'subscribe', req_id: topic, args: [topic] }));
        clients.push({ client, market, symbol, topic, killed: symbol !== kept, times });
      }
    }
  }
  const receivesMore = async (events: number, withinMs: number) => {
    const from = clients.map(({ client, topic }) => tradeIds(client, topic).length);
    await waitFor(
      `every client receiving ${events} more trades`,
      () => clients.every(({ client, topic }, i) => tradeIds(client, topic).length >= from[i]! + events),
      withinMs,
    );
  };
  await receivesMore(5, 10_000);
  // A planned handover's overlap (both owners publishing a topic for a moment) ending in a crash is a
  // case of its own, not refilled exactly yet (docs/scale-out.md): the kill waits until, for a second,
  // each topic has come from one node only.
  const publishers = new Map<string, Map<string, number>>();
  const watchedFrom = Date.now();
  const watch = observer.subscribe('md.bybit.>', {
    callback: (_err, m) => {
      const byNode = publishers.get(m.subject) ?? new Map<string, number>();
      byNode.set(m.headers?.get('Ws-Node') ?? '', Date.now());
      publishers.set(m.subject, byNode);
    },
  });
  await waitFor(
    'every topic published by one node only for a second',
    () =>
      Date.now() - watchedFrom >= 1000 &&
      clients.every(({ market, topic }) => {
        const byNode = publishers.get(feedNames(`bybit.${market}`).subjectOf(topic));
        const recent = [...(byNode?.values() ?? [])].filter((at) => at > Date.now() - 1000);
        return recent.length === 1;
      }),
    10_000,
  );
  watch.unsubscribe();

  const killedAt = Date.now();
  await nodeA.kill('SIGKILL');
  const budgetMs = LEASE_TTL_SECONDS * 1000 + 2000;
  // Frames published before the kill arrive within milliseconds: one after a second is a new owner's.
  const againAt = (times: readonly number[]) => times.find((at) => at > killedAt + 1000);
  // Waited for beyond the budget, so that a slow recovery is measured and told, not only timed out.
  await waitFor(
    'every client receiving again',
    () => clients.every(({ times }) => againAt(times) !== undefined),
    budgetMs + 5000,
  );
  const recoveredMs = Math.max(...clients.map(({ times }) => againAt(times)! - killedAt));
  const slow = clients
    .filter(({ times }) => againAt(times)! - killedAt > budgetMs)
    .map(
      ({ market, topic, killed, times }) =>
        `${market} ${topic}${killed ? '' : ' (kept)'}: ${againAt(times)! - killedAt} ms`,
    );
  await receivesMore(5, 5000);
  for (const market of markets)
    assert.deepEqual(
      new Set(await holders(market)),
      new Set(['node-b']),
      `node-b holds every ${market} shard`,
    );

  const failures = (reason?: string) =>
    metricValue(nodeB.registry, 'ws_manager_cluster_refill_failures_total', reason ? { reason } : {});
  const historyGone = await failures('history_gone');
  return {
    clients,
    recoveredMs,
    slow,
    refilled: await metricValue(nodeB.registry, 'ws_manager_cluster_refilled_events_total'),
    historyGone,
    otherFailures: (await failures()) - historyGone,
    recentTradeCalls: simulator.bybitRestRequests('recent-trade'),
    record: (symbol, fromId) => simulator.bybitTradeIds(symbol, fromId),
  };
}

/** A client's trades against the simulator's record from its first trade to its last. */
function againstRecord(
  ids: readonly number[],
  record: readonly number[],
): { missed: number; repeated: number } {
  const last = ids[ids.length - 1] ?? -1;
  const expected = record.filter((id) => id <= last);
  const seen = new Set(ids);
  return {
    missed: expected.filter((id) => !seen.has(id)).length,
    repeated: ids.length - seen.size,
  };
}

test('SIGKILL of an ingest node owning Bybit spot and linear shards, 8 trades/s: each window refilled from recent-trade, every trade once and in order', async (t) => {
  // 8 trades a second: the window of about 4 s holds about 32 trades, within spot's page of 60.
  const run = await crashUnderLoad(t, 8, MARKETS);
  let events = 0;
  const faulty: string[] = [];
  for (const { client, market, symbol, topic } of run.clients) {
    const ids = tradeIds(client, topic);
    events += ids.length;
    const record = run.record(symbol, ids[0] ?? 0);
    const expected = record.slice(0, record.indexOf(ids[ids.length - 1]!) + 1);
    if (JSON.stringify(ids) !== JSON.stringify(expected)) {
      const { missed, repeated } = againstRecord(ids, record);
      const at = ids.findIndex((id, i) => i > 0 && id !== ids[i - 1]! + 1);
      faulty.push(
        `${market} ${topic}: ${ids.length} trades, ${missed} missed, ${repeated} repeated, first break ${ids[at - 1]} then ${ids[at]}`,
      );
    }
  }
  assert.deepEqual(faulty, [], "every client saw each of the simulator's trades once, in order");
  const budgetMs = LEASE_TTL_SECONDS * 1000 + 2000;
  assert.deepEqual(run.slow, [], `every client receiving again within ${budgetMs} ms of the kill`);
  assert.ok(run.refilled > 0, 'node-b refilled the windows from recent-trade');
  assert.ok(run.recentTradeCalls > 0, 'node-b asked Bybit for recent-trade');
  assert.equal(run.historyGone + run.otherFailures, 0, 'every window refilled');
  t.diagnostic(
    `${events} trades over ${run.clients.length} Bybit clients; receiving again ${run.recoveredMs} ms after the kill; ${run.refilled} trades refilled in ${run.recentTradeCalls} recent-trade calls`,
  );
});
