/**
 * JETSTREAM_REPLICAS reaches the server: the history stream and the three KV buckets are created with
 * the configured replica count (1 here; the single test server refuses more, with one line naming the
 * variable). The 3 of the k8s manifest is checked in test/k8s/cluster-manifests.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { DEMAND_BUCKET, HISTORY_STREAM, LEASE_BUCKET, NODE_BUCKET } from '../../src/cluster/subjects.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type NatsServer, startNatsServer } from './nats-server.js';

describe('JetStream replicas', () => {
  let nats: NatsServer | undefined;
  let simulator: Simulator | undefined;
  let ingest: RunningIngest | undefined;

  after(async () => {
    await ingest?.close();
    await simulator?.close();
    await nats?.stop();
  });

  it('creates the history and the buckets with JETSTREAM_REPLICAS, and names the variable when refused', async (t) => {
    nats = await startNatsServer(t as never);
    if (nats === undefined) return;
    simulator = await startSimulator({ host: '127.0.0.1', port: 0, rate: 1 });
    const config = { natsUrl: nats.url, upstreamUrl: simulator.url, port: 0, leaseTtlSeconds: 3 };

    // Asked for 3 on a single server: refused by the server, reported as a configuration error.
    await assert.rejects(
      startIngest({ ...config, nodeId: 'three', jetstreamReplicas: 3 }, { logger: silentLogger() }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^JETSTREAM_REPLICAS=3 is not valid: expected at most the number of JetStream servers/.test(
          error.message,
        ) &&
        !error.message.includes('\n'),
    );

    ingest = await startIngest(
      { ...config, nodeId: 'one', jetstreamReplicas: 1 },
      { logger: silentLogger() },
    );
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      assert.equal((await jsm.streams.info(HISTORY_STREAM)).config.num_replicas, 1);
      const kvm = new Kvm(nc);
      for (const bucket of [LEASE_BUCKET, NODE_BUCKET, DEMAND_BUCKET]) {
        assert.equal((await (await kvm.open(bucket)).status()).replicas, 1, bucket);
      }
    } finally {
      await nc.close();
    }
  });
});
