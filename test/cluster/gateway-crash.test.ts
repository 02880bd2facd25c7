/**
 * A gateway killed with SIGKILL cannot withdraw its demand: its entries expire after DEMAND_TTL_SECONDS
 * (3 s here instead of the default 15 s, so the test does not wait long) and the owning ingest node
 * then releases upstream the streams nobody else wants (WSManager's idle grace shortened to 300 ms),
 * while the streams the surviving gateway's clients want stay subscribed and flowing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { spawnRole } from './processes.js';
import { startSmallCluster } from './small-cluster.js';
import { contiguousTradeIds } from './trades.js';

const DEMAND_TTL_SECONDS = 3;
const ONLY_KILLED = ['crashaausdt@trade', 'crashbbusdt@trade'];
const SHARED = 'crashccusdt@trade';
const ONLY_SURVIVOR = 'crashddusdt@trade';

it('SIGKILL of a gateway replica: the streams only it wanted are released upstream within the demand TTL', async (t) => {
  const cluster = await startSmallCluster(t, {
    symbols: ['crashaausdt', 'crashbbusdt', 'crashccusdt', 'crashddusdt'],
    config: { demandTtlSeconds: DEMAND_TTL_SECONDS },
    idleGraceMs: 300,
  });
  if (cluster === undefined) return;
  const { nats, simulator, gateway: survivor } = cluster;
  const killed = await spawnRole('serve', 'killed', {
    NATS_URL: nats.url,
    SHARD_COUNT: '4',
    DEMAND_TTL_SECONDS: String(DEMAND_TTL_SECONDS),
  });
  const clients: TestClient[] = [];
  cluster.closeLater(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await killed.kill('SIGKILL');
  });
  const killedWs = killed.url.replace('http:', 'ws:');
  for (const stream of [...ONLY_KILLED, SHARED]) clients.push(await openClient(`${killedWs}/ws/${stream}`));
  const staying = [
    await openClient(`${survivor.wsUrl}/ws/${SHARED}`),
    await openClient(`${survivor.wsUrl}/ws/${ONLY_SURVIVOR}`),
  ];
  clients.push(...staying);
  await waitFor('every client receiving', () => clients.every((c) => c.messages.length >= 5), 20_000);
  const upstream = () => new Set(simulator.stats().connections.flatMap((c) => c.streams));
  assert.deepEqual([...upstream()].sort(), [...ONLY_KILLED, SHARED, ONLY_SURVIVOR].sort());

  await killed.kill('SIGKILL');
  const killedAt = Date.now();
  // The sweep runs every second and the idle grace adds 300 ms: TTL + 2 s of slack.
  await waitFor(
    'the killed gateway’s own streams released upstream',
    () => ONLY_KILLED.every((s) => !upstream().has(s)),
    DEMAND_TTL_SECONDS * 1000 + 2000,
  );
  const releasedAfter = Date.now() - killedAt;
  assert.ok(upstream().has(SHARED) && upstream().has(ONLY_SURVIVOR), 'wanted streams stay upstream');
  // Streams still wanted keep flowing to the survivor's clients, without a gap.
  const counts = staying.map((c) => c.messages.length);
  await waitFor('the surviving gateway’s clients still receiving', () =>
    staying.every((c, i) => c.messages.length >= counts[i]! + 5),
  );
  for (const [client, stream] of [
    [staying[0]!, SHARED],
    [staying[1]!, ONLY_SURVIVOR],
  ] as const) {
    assert.equal(contiguousTradeIds(client.messages, stream).gaps, 0, `${stream}: no gap`);
  }
  t.diagnostic(`released ${releasedAfter} ms after the SIGKILL (demand TTL ${DEMAND_TTL_SECONDS} s)`);
});
