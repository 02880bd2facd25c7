/**
 * Demand end to end: the owner subscribes upstream only when a gateway's client wants a stream, stops
 * publishing as soon as nobody does, and WSManager releases the stream upstream after its idle grace
 * (shortened to 300 ms here so the test does not wait the default 30 s).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startSmallCluster } from './small-cluster.js';

it('subscribes upstream on demand and releases after the idle grace once no client wants the stream', async (t) => {
  const cluster = await startSmallCluster(t, {
    symbols: ['demaausdt'],
    config: { leaseTtlSeconds: 2 },
    idleGraceMs: 300,
  });
  if (cluster === undefined) return;
  const { ingest, gateway } = cluster;
  assert.deepEqual(ingest.manager.listStreams(), [], 'nothing upstream before any client');

  const client = await openClient(`${gateway.wsUrl}/ws/demaausdt@trade`);
  cluster.closeLater(() => client.close());
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
