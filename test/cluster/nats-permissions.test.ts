/**
 * The NATS users of k8s/cluster/cluster.yaml, on a real nats-server started with that manifest's
 * authorization block and two fresh nkey users: an ingest node (NATS_CREDS_FILE holding the ingest
 * seed) and a gateway (the gateway seed) work end to end, including a replay from the history after the
 * gateway's link is cut and REST calls and book snapshots answered by the ingest node over NATS
 * request/reply; the gateway user cannot publish on md.>, write the lease or node buckets, nor answer
 * REST requests; and the server logs no other permission violation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { connect, headers as natsHeaders, nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { subjectOf } from '../../src/cluster/subjects.js';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, openClient } from '../gateway/helpers.js';
import { findObject, parseManifest, readRepoFile } from '../k8s/manifest.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';
import { startTcpProxy } from './tcp-proxy.js';
import { contiguousTradeIds } from './trades.js';

const STREAM = 'permaausdt@trade';

/** The manifest's permissions and users: everything of its nats.conf from the first permission set on. */
function authorizationOfManifest(): string {
  const config = findObject(
    parseManifest(readRepoFile('k8s/cluster/cluster.yaml')),
    'ConfigMap',
    'nats-config',
  );
  const conf = (config as unknown as { data: Record<string, string> }).data['nats.conf']!;
  const start = conf.indexOf('INGEST_PERMISSIONS');
  assert.ok(start > 0, 'nats.conf defines INGEST_PERMISSIONS');
  return conf.slice(start);
}

it('NATS users of the manifest: only ingest publishes on md.>, both roles work end to end', async (t) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const close of cleanups.reverse()) await close().catch(() => {});
  });
  const dir = mkdtempSync(join(tmpdir(), 'ws-manager-nats-users-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const users = { ingest: nkeys.createUser(), gateway: nkeys.createUser() };
  const seedFile = (role: keyof typeof users) => {
    const file = join(dir, `${role}.seed`);
    writeFileSync(file, `${new TextDecoder().decode(users[role].getSeed())}\n`);
    return file;
  };
  const nats = await startNatsServer(t, {
    config: authorizationOfManifest(),
    env: { INGEST_NKEY: users.ingest.getPublicKey(), GATEWAY_NKEY: users.gateway.getPublicKey() },
  });
  if (nats === undefined) return;
  cleanups.push(() => nats.stop());
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: ['permaausdt'], rate: 20 });
  cleanups.push(() => simulator.close());
  const common = { port: 0, shardCount: 4, leaseTtlSeconds: 3 };
  const ingest = await startIngest(
    {
      ...common,
      natsUrl: nats.url,
      natsCredsFile: seedFile('ingest'),
      upstreamUrl: simulator.url,
      nodeId: 'ingest',
    },
    { logger: silentLogger() },
  );
  cleanups.push(() => ingest.close());
  await waitFor('shards leased', () => ingest.leases.ownedShards().length === 4, 10_000);
  const proxy = await startTcpProxy(nats.port);
  cleanups.push(() => proxy.close());
  const gateway = await startGateway(
    {
      ...common,
      natsUrl: `nats://127.0.0.1:${proxy.port}`,
      natsCredsFile: seedFile('gateway'),
      nodeId: 'gateway',
    },
    { logger: silentLogger() },
  );
  cleanups.push(() => gateway.close());
  const client = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
  cleanups.push(() => client.close());
  await waitFor('the client receiving through both roles', () => client.messages.length >= 10, 15_000);

  // A cut gateway link: the events published meanwhile come back from the history.
  proxy.cut(1500);
  await new Promise((r) => setTimeout(r, 1500));
  const before = client.messages.length;
  await waitFor('the client receiving after the cut', () => client.messages.length >= before + 40, 15_000);
  const ids = contiguousTradeIds(client.messages, STREAM);
  assert.equal(ids.gaps, 0, `trade ids skipped: ${ids.missing.join(',')}`);
  const metrics = await (await fetch(`${gateway.url}/api/ws/metrics?format=prometheus`)).text();
  assert.match(
    metrics,
    /^ws_manager_cluster_replayed_messages_total [1-9]/m,
    'events replayed from the history',
  );

  // REST calls and book snapshots: requests from the gateway user, answers from the ingest user.
  for (const call of ['trades?symbol=PERMAAUSDT&limit=3', 'depth?symbol=PERMAAUSDT&limit=5']) {
    const answer = await fetchRaw(`${gateway.url}/api/v3/${call}`);
    assert.equal(answer.status, 200, `${call}: ${answer.body}`);
  }

  // The gateway user: subscribing to md.> works, publishing there or on the lease buckets does not,
  // nor answering other gateways' REST requests.
  const intruder = await connect({
    servers: nats.url,
    authenticator: nkeyAuthenticator(users.gateway.getSeed()),
  });
  cleanups.push(() => intruder.close());
  const refused: string[] = [];
  void (async () => {
    for await (const status of intruder.status())
      if (status.type === 'error') refused.push(String(status.error));
  })();
  const seen: string[] = [];
  intruder.subscribe(subjectOf(STREAM), {
    callback: (_e, msg) => {
      seen.push(msg.string());
    },
  });
  await waitFor('the gateway user reading md.>', () => seen.length >= 3);
  const forged = natsHeaders();
  forged.set('Ws-Seq', '9007199254740000');
  forged.set('Ws-Epoch', '1');
  intruder.publish(subjectOf(STREAM), '{"e":"trade","t":-1}', { headers: forged });
  intruder.publish('$KV.ws_manager_leases.shard.0', 'intruder');
  intruder.publish('$KV.ws_manager_nodes.intruder', '1');
  intruder.subscribe('svc.binance.rest', { queue: 'ws-manager-ingest', callback: () => {} });
  await intruder.flush();
  await waitFor('two more events from the owner', () => seen.length >= 6);
  assert.ok(!seen.some((m) => m.includes('"t":-1')), 'the forged event was not delivered');
  await waitFor('the refusals reported', () => refused.length >= 4);
  assert.ok(ingest.leases.ownedShards().length === 4, 'the ingest node kept its leases');

  const violations = [...nats.log().matchAll(/(\w+) Violation - .*, Subject "([^"]+)"/g)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  assert.deepEqual(violations.sort(), [
    'Publish $KV.ws_manager_leases.shard.0',
    'Publish $KV.ws_manager_nodes.intruder',
    `Publish ${subjectOf(STREAM)}`,
    'Subscription svc.binance.rest',
  ]);
});
