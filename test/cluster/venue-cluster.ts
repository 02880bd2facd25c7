/**
 * The cluster the OKX and Bybit tests of the clustered mode start: a real nats-server, a simulator on
 * the test's symbols, ingest nodes carrying Binance and one more venue (as child processes, so a test
 * can signal one, or in this process), clustered gateways, raw venue clients, and the readers of the
 * venues' trade ids from what a client received. Everything started is closed, last first, when the
 * test ends.
 */
import type { TestContext } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { feedNames, LEASE_BUCKET } from '../../src/cluster/subjects.js';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { type IngestProcess, spawnIngest } from './processes.js';

export type Venue = 'okx' | 'bybit';

export interface VenueClusterOptions {
  readonly venue: Venue;
  readonly symbols: string[];
  /** The simulator's events per second per stream. */
  readonly rate: number;
  readonly shardCount: number;
  readonly leaseTtlSeconds: number;
  /** The roles' listening host (tests that call from other loopback addresses use 127.0.0.1). */
  readonly host?: string;
}

export interface VenueCluster {
  readonly nats: NatsServer;
  readonly simulator: Simulator;
  /** The venue's base URL on the simulator (`<simulator>/okx`, `<simulator>/bybit`). */
  readonly venueUrl: string;
  /** What both roles share: NATS, port 0, shards, lease TTL and the venues `binance` plus the venue. */
  readonly common: {
    readonly natsUrl: string;
    readonly port: 0;
    readonly shardCount: number;
    readonly leaseTtlSeconds: number;
    readonly venues: readonly ['binance', Venue];
  };
  /** Closes `close` with the cluster (before what was started earlier). */
  closeLater(close: () => Promise<unknown>): void;
  /** An ingest node as a child process, killed with the cluster. */
  spawnIngest(nodeId: string): Promise<IngestProcess>;
  /** An ingest node in this process (its metrics at hand), closed with the cluster. */
  startIngest(nodeId: string, config?: Partial<GatewayConfig>): Promise<RunningIngest>;
  /** A clustered gateway per node id, closed with the cluster. */
  startGateways(nodeIds: readonly string[]): Promise<RunningGateway[]>;
  /** A single-process gateway on the simulator carrying the venue, on 127.0.0.1, closed with the cluster. */
  startSingleGateway(): Promise<RunningGateway>;
  /** Closes everything started, last first, now rather than when the test ends. */
  close(): Promise<void>;
  /** A client of `url`, closed with the cluster. */
  openClient(url: string): Promise<TestClient>;
  /** A client of `url`, closed with the cluster, that has sent `subscribe` (JSON-encoded). */
  openSubscribed(url: string, subscribe: unknown): Promise<TestClient>;
  /** A NATS connection of the test's own (one, made on first use), closed with the cluster. */
  observer(): Promise<NatsConnection>;
  /** Who holds each of the feed's shards, read from the lease bucket. */
  leaseHolders(feed: string): Promise<() => Promise<(string | undefined)[]>>;
}

/** Starts nats-server and the simulator; undefined when nats-server is missing (the test is skipped then). */
export async function startVenueCluster(
  t: TestContext,
  o: VenueClusterOptions,
): Promise<VenueCluster | undefined> {
  const nats = await startNatsServer(t);
  if (nats === undefined) return undefined;
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  const close = async () => {
    for (const closeOne of closers.splice(0).reverse()) await closeOne().catch(() => {});
  };
  t.after(close);
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: o.symbols, rate: o.rate });
  closers.push(() => simulator.close());
  const venueUrl = `${simulator.url}/${o.venue}`;
  const venueUrlKey = o.venue === 'okx' ? 'okxUrl' : 'bybitUrl';
  const common = {
    natsUrl: nats.url,
    port: 0,
    shardCount: o.shardCount,
    leaseTtlSeconds: o.leaseTtlSeconds,
    venues: ['binance', o.venue],
    ...(o.host === undefined ? {} : { host: o.host }),
  } as const;
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    VENUES: `binance,${o.venue}`,
    [o.venue === 'okx' ? 'OKX_URL' : 'BYBIT_URL']: venueUrl,
    SHARD_COUNT: String(o.shardCount),
    LEASE_TTL_SECONDS: String(o.leaseTtlSeconds),
  };
  const closeLater = (close: () => Promise<unknown>) => void closers.push(close);
  const openClosedLater = async (url: string) => {
    const client = await openClient(url);
    closeLater(() => client.close());
    return client;
  };
  let observing: Promise<NatsConnection> | undefined;
  const observer = () =>
    (observing ??= connect({ servers: nats.url }).then((connection) => {
      closeLater(() => connection.close());
      return connection;
    }));
  return {
    nats,
    simulator,
    venueUrl,
    common,
    closeLater,
    async spawnIngest(nodeId) {
      const node = await spawnIngest(nodeId, env);
      closeLater(() => node.kill('SIGKILL'));
      return node;
    },
    async startIngest(nodeId, config) {
      const node = await startIngest(
        {
          ...common,
          upstreamUrl: simulator.url,
          // A node given venues without this one is not given its URL either (a URL of a venue not
          // carried is refused).
          ...(config?.venues?.includes(o.venue) === false ? {} : { [venueUrlKey]: venueUrl }),
          nodeId,
          ...config,
        },
        { logger: silentLogger() },
      );
      closeLater(() => node.close());
      return node;
    },
    async startGateways(nodeIds) {
      const gateways = await Promise.all(
        nodeIds.map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
      );
      closeLater(() => Promise.all(gateways.map((g) => g.close())));
      return gateways;
    },
    async startSingleGateway() {
      const single = await startGateway(
        {
          venues: common.venues,
          [venueUrlKey]: venueUrl,
          useNewWsManager: true,
          upstreamUrl: simulator.url,
          port: 0,
          host: '127.0.0.1',
        },
        { logger: silentLogger() },
      );
      closeLater(() => single.close());
      return single;
    },
    close,
    openClient: openClosedLater,
    async openSubscribed(url, subscribe) {
      const client = await openClosedLater(url);
      client.ws.send(JSON.stringify(subscribe));
      return client;
    },
    observer,
    async leaseHolders(feed) {
      const leases = await new Kvm(await observer()).open(LEASE_BUCKET);
      const names = feedNames(feed);
      return () =>
        Promise.all(
          Array.from({ length: o.shardCount }, async (_, n) =>
            (await leases.get(names.leaseKey(n)))?.string(),
          ),
        );
    },
  };
}

/**
 * The cluster of the REST and book tests: 2 shards, 20 events a second per stream, roles on
 * 127.0.0.1 (so clients can call from other loopback addresses), and a 3 s lease, which keeps the
 * first lease tick (a third of it) short.
 */
export function startRestCluster(
  t: TestContext,
  venue: Venue,
  symbols: string[],
): Promise<VenueCluster | undefined> {
  return startVenueCluster(t, {
    venue,
    symbols,
    rate: 20,
    shardCount: 2,
    leaseTtlSeconds: 3,
    host: '127.0.0.1',
  });
}

/**
 * Waits until `ingest` holds every shard of each of its feeds, then starts `ingest-binance` carrying
 * Binance alone and waits until the two share Binance's shards: the other venue's stay with `ingest`.
 */
export async function startBinanceOnlyBeside(
  cluster: VenueCluster,
  ingest: RunningIngest,
): Promise<RunningIngest> {
  const shards = cluster.common.shardCount;
  await waitFor(
    'every feed leased',
    () => ingest.feeds.every((f) => f.leases.ownedShards().length === shards),
    10_000,
  );
  const binanceOnly = await cluster.startIngest('ingest-binance', { venues: ['binance'] });
  await waitFor(
    "Binance's shards spread over both nodes",
    () =>
      binanceOnly.leases.ownedShards().length > 0 &&
      binanceOnly.leases.ownedShards().length + ingest.leases.ownedShards().length === shards,
    10_000,
  );
  return binanceOnly;
}

/** Shards of the handover and takeover clusters: enough for each of two nodes to own some. */
export const HANDOVER_SHARDS = 8;
export const HANDOVER_LEASE_TTL_SECONDS = 3;

export interface HandoverCluster<Successor> {
  readonly cluster: VenueCluster;
  /** A child process, so the test can signal it. */
  readonly nodeA: IngestProcess;
  readonly nodeB: Successor;
  /** Who holds each of the venue's (spot) shards now. */
  readonly holders: () => Promise<(string | undefined)[]>;
  /** Who held each once both nodes had some. */
  readonly held: readonly (string | undefined)[];
}

/**
 * The cluster of the handover and takeover tests: node-a as a child process, node-b started by
 * `startSuccessor`, both carrying Binance and the venue, waited for until they hold the venue's (spot)
 * shards between them. A short lease (ticks of 1 s, 3 s TTL) keeps each file within its wall-time
 * budget: a handover takes about a tick, a dead node's shards are free after 3 s.
 */
export async function startHandoverCluster<Successor>(
  t: TestContext,
  o: { readonly venue: Venue; readonly symbols: string[]; readonly rate: number },
  startSuccessor: (cluster: VenueCluster) => Promise<Successor>,
): Promise<HandoverCluster<Successor> | undefined> {
  const cluster = await startVenueCluster(t, {
    ...o,
    shardCount: HANDOVER_SHARDS,
    leaseTtlSeconds: HANDOVER_LEASE_TTL_SECONDS,
  });
  if (cluster === undefined) return undefined;
  const [nodeA, nodeB] = await Promise.all([cluster.spawnIngest('node-a'), startSuccessor(cluster)]);
  // The venue's leases, read where they live: `shard.okx.<n>`, `shard.bybit.spot.<n>` in the lease bucket.
  const holders = await cluster.leaseHolders(o.venue === 'okx' ? 'okx' : 'bybit.spot');
  const held = await spreadOverTwoNodes(holders, o.venue === 'okx' ? 'OKX' : 'Bybit spot');
  return { cluster, nodeA, nodeB, holders, held };
}

/**
 * Waits until node-a and node-b hold every shard between them, each some, and have for 2 s; what each
 * shard's holder is then. The steady 2 s let a handover that spread them end (its successor publishing
 * every stream, the old owner's grace over): a node stopped while it still hands shards over is another
 * case than the one these tests drive.
 */
export async function spreadOverTwoNodes(
  holders: () => Promise<(string | undefined)[]>,
  what: string,
): Promise<(string | undefined)[]> {
  let held: (string | undefined)[] = [];
  let since = 0;
  let last = '';
  await waitFor(
    `${what} shards spread over both nodes for 2 s`,
    async () => {
      held = await holders();
      const spread = held.every((h) => h === 'node-a' || h === 'node-b') && new Set(held).size === 2;
      const now = JSON.stringify(held);
      if (!spread || now !== last) {
        last = now;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= 2000;
    },
    20_000,
  );
  return held;
}

/** The `tradeId` of every OKX trade of `instId` a client received, in order. */
export function okxTradeIds(client: TestClient, instId: string): number[] {
  const prefix = `{"arg":{"channel":"trades","instId":"${instId}"}`;
  return client.messages
    .filter((m) => m.startsWith(prefix))
    .flatMap((m) => (JSON.parse(m) as { data: { tradeId: string }[] }).data.map((t) => Number(t.tradeId)));
}

/** The simulator's trade ids (`i`) of every Bybit `publicTrade` frame of `topic` a client received, in order. */
export function bybitTradeIds(client: TestClient, topic: string): number[] {
  return client.messages
    .filter((m) => m.startsWith(`{"topic":"${topic}"`))
    .flatMap((m) => (JSON.parse(m) as { data: { i: string }[] }).data.map((t) => Number(t.i)));
}

/** A client with the key (instrument, topic) its trade ids are read by. */
export interface KeyedClient {
  readonly client: TestClient;
  readonly key: string;
}

/** Waits until each client's `count` grew by `more` from now; `what` names the unit in the failure. */
export async function eachCountGrows<C>(
  clients: readonly C[],
  count: (client: C) => number,
  more: number,
  withinMs: number,
  what: string,
): Promise<void> {
  const from = clients.map(count);
  await waitFor(
    `every client receiving ${more} more ${what}`,
    () => clients.every((c, i) => count(c) >= from[i]! + more),
    withinMs,
  );
}

/**
 * Per client, the first place its ids do not go up by one (`<key>: <id> then <id>`), and how many ids
 * all clients received together.
 */
export function idGaps(
  clients: readonly KeyedClient[],
  ids: (client: TestClient, key: string) => number[],
): { faulty: string[]; events: number } {
  let events = 0;
  const faulty: string[] = [];
  for (const { client, key } of clients) {
    const seen = ids(client, key);
    events += seen.length;
    for (let i = 1; i < seen.length; i++) {
      if (seen[i] !== seen[i - 1]! + 1) {
        faulty.push(`${key}: ${seen[i - 1]} then ${seen[i]}`);
        break;
      }
    }
  }
  return { faulty, events };
}

/**
 * The answers of two gateways to the same burst from `addresses`' first address whose bursts both end
 * in the window they started in (aligned to its start, within `alignMs`), so both meet one per-client
 * window of `windowMs`; undefined when no address managed it.
 */
export async function burstsWithinOneWindow<A>(
  t: TestContext,
  windowMs: number,
  alignMs: number,
  burst: (gateway: RunningGateway, localAddress: string) => Promise<A[]>,
  gateways: readonly [RunningGateway, RunningGateway],
): Promise<[A[], A[]] | undefined> {
  for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
    await waitFor(
      `the start of a ${windowMs / 1000} s window`,
      () => Date.now() % windowMs < alignMs,
      windowMs + 1000,
      5,
    );
    const window = Math.floor(Date.now() / windowMs);
    const answers = await Promise.all([burst(gateways[0], address), burst(gateways[1], address)]);
    const within = Math.floor(Date.now() / windowMs) === window;
    t.diagnostic(`bursts from ${address} ${within ? 'within' : 'past'} one window`);
    if (within) return answers;
  }
  return undefined;
}
