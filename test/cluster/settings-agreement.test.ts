/**
 * Settings every process of a cluster must share (SHARD_COUNT, the lease and demand TTLs, the history
 * bounds and replicas): a process that disagrees with a live ingest node refuses to join with one line
 * naming the setting and both values, and a running ingest node that sees a live node disagree raises
 * ws_manager_cluster_settings_mismatch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { Gauge, Registry } from 'prom-client';
import { agreedValues, nodeEntry } from '../../src/cluster/settings-agreement.js';
import { HISTORY_STREAM, NODE_BUCKET } from '../../src/cluster/subjects.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** Asserts that `starting` is refused with one line matching `pattern`; what started anyway is closed. */
async function assertRefused(starting: Promise<{ close(): Promise<void> }>, pattern: RegExp): Promise<void> {
  const outcome = await starting.then(
    async (started) => {
      await started.close();
      return 'started';
    },
    (error: unknown) => error,
  );
  assert.ok(outcome instanceof ConfigError, `refused with a ConfigError (outcome: ${String(outcome)})`);
  assert.ok(!outcome.message.includes('\n'), 'one line');
  assert.match(outcome.message, pattern);
}

async function mismatches(registry: Registry): Promise<Record<string, number>> {
  const gauge = registry.getSingleMetric('ws_manager_cluster_settings_mismatch') as Gauge;
  const { values } = await gauge.get();
  return Object.fromEntries(values.map((v) => [String(v.labels['setting']), v.value]));
}

it('refuses a process whose shared settings disagree with a live ingest node, and reports a running disagreement', async (t) => {
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, rate: 1 });
  const common = { natsUrl: nats.url, port: 0, shardCount: 32, leaseTtlSeconds: 3 };
  const ingest = await startIngest(
    { ...common, upstreamUrl: simulator.url, nodeId: 'a' },
    { logger: silentLogger() },
  );
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await ingest.close();
    await simulator.close();
    await nats.stop();
  });
  await waitFor('node a holds every shard', () => ingest.leases.ownedShards().length === 32, 10_000);

  await assertRefused(
    startIngest(
      { ...common, upstreamUrl: simulator.url, nodeId: 'b', shardCount: 8 },
      { logger: silentLogger() },
    ),

    /^SHARD_COUNT=8 disagrees with the cluster: ingest node a runs with SHARD_COUNT=32 \(every process of a cluster must use the same SHARD_COUNT\)$/,
  );
  await assertRefused(
    startIngest(
      { ...common, upstreamUrl: simulator.url, nodeId: 'c', historyMaxMessages: 5000 },
      { logger: silentLogger() },
    ),

    /^HISTORY_MAX_MESSAGES=5000 disagrees with the cluster: ingest node a runs with HISTORY_MAX_MESSAGES=1000000 /,
  );
  const jsm = await jetstreamManager(nc);
  assert.equal(
    (await jsm.streams.info(HISTORY_STREAM)).config.max_msgs,
    1_000_000,
    'the refused node left the history bounds alone',
  );
  await assertRefused(
    startGateway({ ...common, nodeId: 'g', demandTtlSeconds: 30 }, { logger: silentLogger() }),

    /^DEMAND_TTL_SECONDS=30 disagrees with the cluster: ingest node a runs with DEMAND_TTL_SECONDS=15 /,
  );
  // Gateways never write the history: their history settings do not matter.
  const gateway = await startGateway(
    { ...common, nodeId: 'g', historyMaxMessages: 5000 },
    { logger: silentLogger() },
  );
  await gateway.close();

  // The command: one line on stderr and exit code 2. Spawned asynchronously: node a runs in this
  // process and must keep renewing its node entry meanwhile (spawnSync would stall it past its TTL).
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'ingest'], {
    env: { ...clean, NATS_URL: nats.url, NODE_ID: 'd', PORT: '0', SHARD_COUNT: '8', LEASE_TTL_SECONDS: '3' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const giveUp = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(giveUp);
  assert.equal(status, 2, stderr);
  assert.equal(
    stderr,
    'ws-manager: SHARD_COUNT=8 disagrees with the cluster: ingest node a runs with SHARD_COUNT=32 (every process of a cluster must use the same SHARD_COUNT)\n',
  );

  // Two nodes that started at the same moment both passed the check: each sees the other's entry at
  // its next lease tick. The other node's entry is written here as such a node writes it.
  assert.equal((await mismatches(ingest.registry))['SHARD_COUNT'], 0);
  const nodes = await new Kvm(nc).open(NODE_BUCKET);
  const racer = agreedValues(
    {
      natsUrl: nats.url,
      nodeId: 'racer',
      shardCount: 8,
      historyMaxMessages: 1_000_000,
      historyMaxAgeSeconds: 120,
      leaseTtlSeconds: 3,
      demandTtlSeconds: 15,
      replicas: 1,
    },
    'ingest',
  );
  await nodes.put('racer', nodeEntry(racer));
  await waitFor(
    'the mismatch reported',
    async () => (await mismatches(ingest.registry))['SHARD_COUNT'] === 1,
    5000,
  );
  assert.equal((await mismatches(ingest.registry))['LEASE_TTL_SECONDS'], 0, 'only the setting that differs');
  await nodes.delete('racer');
  await waitFor(
    'the mismatch cleared',
    async () => (await mismatches(ingest.registry))['SHARD_COUNT'] === 0,
    5000,
  );
});
