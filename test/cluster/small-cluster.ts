/**
 * The cluster most tests of the clustered mode start: a real nats-server with JetStream, a simulator
 * with the test's symbols, one ingest node holding every shard, and one clustered gateway, all in this
 * process on loopback. Everything started is closed, last first, when the test ends.
 */
import type { TestContext } from 'node:test';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { type NatsServer, startNatsServer } from './nats-server.js';

export const SHARD_COUNT = 4;

export interface SmallCluster {
  readonly nats: NatsServer;
  readonly simulator: Simulator;
  readonly ingest: RunningIngest;
  readonly gateway: RunningGateway;
  /** Closes `closeable` with the cluster (before what was started earlier). */
  closeLater(close: () => Promise<unknown>): void;
  /** A client of the gateway on each stream, closed with the cluster, once each received `events`. */
  receivingClients(streams: readonly string[], events: number): Promise<TestClient[]>;
}

export interface SmallClusterOptions {
  readonly symbols: string[];
  /** Applied to both roles (lease and demand TTLs, ...) on top of NATS_URL, port 0 and 4 shards. */
  readonly config?: Partial<GatewayConfig>;
  /** WSManager's idle grace on the ingest node (tests shorten the 30 s default). */
  readonly idleGraceMs?: number;
  /** The simulator's events per second per stream. @default 20 */
  readonly rate?: number;
}

/** Starts the cluster and waits until the ingest node holds every shard; undefined when nats-server is missing. */
export async function startSmallCluster(
  t: TestContext,
  options: SmallClusterOptions,
): Promise<SmallCluster | undefined> {
  const closers: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const nats = await startNatsServer(t);
  if (nats === undefined) return undefined;
  closers.push(() => nats.stop());
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    symbols: options.symbols,
    rate: options.rate ?? 20,
  });
  closers.push(() => simulator.close());
  const common = {
    natsUrl: nats.url,
    port: 0,
    shardCount: SHARD_COUNT,
    leaseTtlSeconds: 3,
    ...options.config,
  };
  const ingest = await startIngest(
    { ...common, upstreamUrl: simulator.url, nodeId: 'ingest' },
    {
      logger: silentLogger(),
      ...(options.idleGraceMs === undefined ? {} : { idleGraceMs: options.idleGraceMs }),
    },
  );
  closers.push(() => ingest.close());
  await waitFor('shards leased', () => ingest.leases.ownedShards().length === SHARD_COUNT, 10_000);
  const gateway = await startGateway({ ...common, nodeId: 'gateway' }, { logger: silentLogger() });
  closers.push(() => gateway.close());
  const closeLater = (close: () => Promise<unknown>) => void closers.push(close);
  return {
    nats,
    simulator,
    ingest,
    gateway,
    closeLater,
    async receivingClients(streams, events) {
      const clients = await Promise.all(streams.map((s) => openClient(`${gateway.wsUrl}/ws/${s}`)));
      closeLater(() => Promise.all(clients.map((c) => c.close())));
      await waitFor(
        'every client receiving',
        () => clients.every((c) => c.messages.length >= events),
        20_000,
      );
      return clients;
    },
  };
}
