/**
 * nats-server restarted (SIGKILL, then started again on the same port and store): the memory-stored
 * history and KV buckets are gone, yet both roles recover on their own — the ingest node recreates the
 * buckets and takes its leases again (epochs restart), the gateway re-declares its demand — and
 * clients receive again, in order, with the outage reported as a gap.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { startSmallCluster } from './small-cluster.js';

const SYMBOLS = ['rstaaausdt', 'rstbbbusdt', 'rstcccusdt'];
const STREAMS = SYMBOLS.map((s) => `${s}@trade`);

const LEASE_TTL_SECONDS = 2;

it('recovers from a NATS restart that lost every memory-stored bucket and the history', async (t) => {
  const cluster = await startSmallCluster(t, {
    symbols: SYMBOLS,
    config: { leaseTtlSeconds: LEASE_TTL_SECONDS },
  });
  if (cluster === undefined) return;
  const { nats, ingest, gateway } = cluster;
  const clients = await cluster.receivingClients(STREAMS, 10);

  const gapsBefore = gateway.source.getMetrics().messageGaps;
  await nats.restart();
  const restartedAt = Date.now();
  const counts = clients.map((c) => c.messages.length);
  await waitFor(
    'every client receiving after the restart',
    () => clients.every((c, i) => c.messages.length >= counts[i]! + 10),
    30_000,
  );
  t.diagnostic(`receiving again ${Date.now() - restartedAt} ms after the restart`);
  // Live events resume at once (core subscriptions come back); the leases, whose bucket is gone, fail
  // at the next renewal: still receiving three lease TTLs later means the buckets were recreated and
  // the shards leased again.
  await new Promise((r) => setTimeout(r, 3 * LEASE_TTL_SECONDS * 1000));
  const later = clients.map((c) => c.messages.length);
  await waitFor(
    'every client still receiving three lease TTLs later',
    () => clients.every((c, i) => c.messages.length >= later[i]! + 10),
    20_000,
  );
  assert.equal(ingest.leases.ownedShards().length, 4, 'every shard leased again');
  STREAMS.forEach((stream, i) => {
    const ids = clients[i]!.messages.map((m) => (JSON.parse(m) as { t: number }).t);
    for (let k = 1; k < ids.length; k++) assert.ok(ids[k]! > ids[k - 1]!, `${stream}: ids increase`);
  });
  assert.ok(gateway.source.getMetrics().messageGaps > gapsBefore, 'the outage is reported as a gap');
});
