/**
 * nats-server down for longer than the demand and lease TTLs, then back on the same port (its
 * memory-stored buckets and history gone): publishing must resume within a lease tick of NATS
 * returning, and neither role may call itself ready before events flow again. TTLs and the health
 * grace are shortened (3 s, 3 s, 1 s) so that a 6 s outage outlasts them, as a 15 s outage outlasts
 * the defaults.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { startSmallCluster } from './small-cluster.js';

const SYMBOLS = ['outaaausdt', 'outbbbusdt', 'outcccusdt'];
const STREAMS = SYMBOLS.map((s) => `${s}@trade`);
const LEASE_TTL_SECONDS = 3;
const OUTAGE_MS = 6000;
/** One lease tick (a third of the TTL), plus time for the reconnect backoff and the next events. */
const RESUME_WITHIN_MS = (LEASE_TTL_SECONDS * 1000) / 3 + 2500;

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

it('publishes again within a lease tick of NATS returning, and is not ready before', async (t) => {
  const cluster = await startSmallCluster(t, {
    symbols: SYMBOLS,
    config: {
      leaseTtlSeconds: LEASE_TTL_SECONDS,
      demandTtlSeconds: 3,
      healthGraceSeconds: 1,
      rateLimitPerMinute: 100_000,
    },
  });
  if (cluster === undefined) return;
  const { nats, ingest, gateway } = cluster;
  const clients = await cluster.receivingClients(STREAMS, 10);

  const gapsBefore = gateway.source.getMetrics().messageGaps;
  await nats.kill();
  await waitFor('both roles unready during the outage', async () => {
    return !(await ready(ingest.url)) && !(await ready(gateway.url));
  });
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const counts = clients.map((c) => c.messages.length);
  const flowing = () => clients.every((c, i) => c.messages.length > counts[i]!);
  await nats.start();
  const back = Date.now();

  // Readiness: the first moment both report ready, events must already flow (or follow at once).
  let readyAt: number | undefined;
  let flowingAtReady = false;
  const watchReadiness = (async () => {
    while (Date.now() - back < 30_000) {
      if ((await ready(ingest.url)) && (await ready(gateway.url))) {
        readyAt = Date.now();
        flowingAtReady = flowing();
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const resumed = await waitFor('every client receiving again', flowing, 30_000, 50).then(
    () => Date.now() - back,
    () => undefined,
  );
  await watchReadiness;
  const received = clients.map((c, i) => c.messages.length - counts[i]!);
  t.diagnostic(
    `events again ${resumed ?? 'never (30 s)'} ms, both ready ${readyAt === undefined ? 'never' : readyAt - back} ms after NATS returned; new events per client: ${received.join(', ')}`,
  );
  assert.ok(
    resumed !== undefined && resumed <= RESUME_WITHIN_MS,
    `events again within ${RESUME_WITHIN_MS} ms of NATS returning (took ${resumed ?? '> 30000'} ms)`,
  );
  assert.ok(readyAt !== undefined, 'both roles ready again');
  if (!flowingAtReady) {
    // Ready a moment before the first events arrive is fine; ready while nothing flows is not.
    const lag = resumed! - (readyAt! - back);
    assert.ok(lag <= 1000, `ready ${lag} ms before events flowed again`);
  }
  assert.equal(ingest.leases.ownedShards().length, 4, 'every shard leased again');
  // The outage window is not replayed or refilled yet: it must at least be reported.
  assert.ok(gateway.source.getMetrics().messageGaps > gapsBefore, 'the outage is reported as a gap');
  STREAMS.forEach((stream, i) => {
    const ids = clients[i]!.messages.map((m) => (JSON.parse(m) as { t: number }).t);
    for (let k = 1; k < ids.length; k++) assert.ok(ids[k]! > ids[k - 1]!, `${stream}: ids increase`);
  });
});
