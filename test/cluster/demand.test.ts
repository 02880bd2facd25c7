/**
 * Demand end to end: the owner subscribes upstream only when a gateway's client wants a stream, stops
 * publishing as soon as nobody does, and WSManager releases the stream upstream after its idle grace
 * (shortened to 300 ms here so the test does not wait the default 30 s).
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { startIngest } from '../../src/cluster/start-ingest.js';
import { startGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

it('subscribes upstream on demand and releases after the idle grace once no client wants the stream', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  cleanups.push(() => nats.stop());
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: ['demaausdt'], rate: 20 });
  cleanups.push(() => simulator.close());
  const common = { port: 0, shardCount: 4, leaseTtlSeconds: 2, natsUrl: nats.url };
  const ingest = await startIngest(
    { ...common, upstreamUrl: simulator.url, nodeId: 'ingest' },
    { logger: silentLogger(), idleGraceMs: 300 },
  );
  cleanups.push(() => ingest.close());
  const gateway = await startGateway({ ...common, nodeId: 'gateway' }, { logger: silentLogger() });
  cleanups.push(() => gateway.close());
  await waitFor('shards leased', () => ingest.leases.ownedShards().length === 4, 10_000);
  assert.deepEqual(ingest.manager.listStreams(), [], 'nothing upstream before any client');

  const client = await openClient(`${gateway.wsUrl}/ws/demaausdt@trade`);
  cleanups.push(() => client.close());
  await waitFor('the client receiving', () => client.messages.length >= 5);
  assert.deepEqual(
    ingest.manager.listStreams().map((s) => s.stream),
    ['demaausdt@trade'],
  );

  await client.close();
  const published = () => ingest.registry.getSingleMetric('ws_manager_cluster_published_total')?.get();
  const count = async () => (await published())?.values[0]?.value ?? 0;
  // Publishing stops as soon as the gateway withdraws its demand…
  await waitFor(
    'publishing stopped',
    async () => {
      const before = await count();
      await new Promise((r) => setTimeout(r, 300));
      return (await count()) === before;
    },
    5000,
  );
  // …and the stream leaves the upstream after the idle grace.
  await waitFor('stream released upstream', () => ingest.manager.listStreams().length === 0, 5000);
});
