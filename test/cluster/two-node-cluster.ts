/**
 * The cluster the SIGTERM and SIGKILL tests of an ingest node start: nats-server, a simulator on the
 * test's symbols, two ingest nodes as child processes (so a test can signal one) holding the shards
 * between them, two gateways, and two clients per trade and aggTrade stream spread over the gateways,
 * each already receiving. Everything is closed, last first, when the test ends.
 */
import type { TestContext } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { eachReceivesMore, openStreamClients, type StreamClient } from './handover-clients.js';
import { startNatsServer } from './nats-server.js';
import { type IngestProcess, spawnIngest } from './processes.js';

export const SHARDS = 8;

export interface TwoNodeCluster {
  /** node-a first: the one the tests signal. */
  readonly ingests: readonly IngestProcess[];
  readonly gateways: readonly RunningGateway[];
  readonly clients: readonly StreamClient[];
}

/** Undefined when nats-server is not installed (the test is skipped then). */
export async function startTwoNodeCluster(
  t: TestContext,
  o: { readonly symbols: readonly string[]; readonly rate: number; readonly leaseTtlSeconds: number },
): Promise<TwoNodeCluster | undefined> {
  const nats = await startNatsServer(t);
  if (nats === undefined) return undefined;
  const closers: (() => Promise<unknown>)[] = [() => nats.stop()];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    symbols: [...o.symbols],
    rate: o.rate,
  });
  closers.push(() => simulator.close());
  const env = {
    NATS_URL: nats.url,
    UPSTREAM_URL: simulator.url,
    SHARD_COUNT: String(SHARDS),
    LEASE_TTL_SECONDS: String(o.leaseTtlSeconds),
  };
  const ingests = await Promise.all([spawnIngest('node-a', env), spawnIngest('node-b', env)]);
  closers.push(() => Promise.all(ingests.map((i) => i.kill('SIGKILL'))));
  await waitFor(
    'shards spread over both nodes',
    async () => {
      const owned = await Promise.all(
        ingests.map((i) => i.metric('ws_manager_cluster_shards_owned{feed="binance"}')),
      );
      return owned.every((n) => (n ?? 0) > 0) && owned.reduce((a = 0, b = 0) => a + b, 0) === SHARDS;
    },
    15_000,
  );
  const common = { natsUrl: nats.url, port: 0, shardCount: SHARDS, leaseTtlSeconds: o.leaseTtlSeconds };
  const gateways = await Promise.all(
    ['gw-1', 'gw-2'].map((nodeId) => startGateway({ ...common, nodeId }, { logger: silentLogger() })),
  );
  closers.push(() => Promise.all(gateways.map((g) => g.close())));
  const streams = o.symbols.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);
  const clients = await openStreamClients(
    gateways.map((g) => g.wsUrl),
    streams,
    2,
  );
  closers.push(() => Promise.all(clients.map((c) => c.client.close())));
  await eachReceivesMore(clients, 10, 15_000);
  await waitFor(
    'node-a publishing',
    async () => ((await ingests[0]!.metric('ws_manager_cluster_published_total')) ?? 0) > 0,
  );
  return { ingests, gateways, clients };
}
