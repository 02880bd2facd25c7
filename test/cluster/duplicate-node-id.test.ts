/**
 * One NODE_ID on two processes. Gateways: each process's demand entries carry its own instance, so two
 * gateways started with one id cannot withdraw each other's demand (a client leaving one of them does
 * not pause the other's clients). Ingest nodes: the second process with a running node's id refuses to
 * start with one line and exit code 2; a node restarted after a crash, whose entry has not expired yet,
 * waits for it (at most LEASE_TTL_SECONDS) and starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NODE_BUCKET } from '../../src/cluster/subjects.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { openClient } from '../gateway/helpers.js';
import { runToExit } from '../support/run-to-exit.js';
import { waitFor } from '../support/wait-for.js';
import { SHARD_COUNT, startSmallCluster } from './small-cluster.js';
import { contiguousTradeIds } from './trades.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const LEASE_TTL_SECONDS = 3;

describe('one NODE_ID on two processes', () => {
  it('two gateways with one NODE_ID keep their demand apart', async (t) => {
    // Demand refreshed every 10 s: a withdrawn entry would leave the stream unwanted that long.
    const config = { demandTtlSeconds: 30, leaseTtlSeconds: LEASE_TTL_SECONDS };
    const cluster = await startSmallCluster(t, { symbols: ['twinaausdt'], config });
    if (cluster === undefined) return;
    const twin = await startGateway(
      { ...config, natsUrl: cluster.nats.url, port: 0, shardCount: SHARD_COUNT, nodeId: 'gateway' },
      { logger: silentLogger() },
    );
    cluster.closeLater(() => twin.close());
    const stream = 'twinaausdt@trade';
    const leaving = await openClient(`${cluster.gateway.wsUrl}/ws/${stream}`);
    const staying = await openClient(`${twin.wsUrl}/ws/${stream}`);
    cluster.closeLater(() => staying.close());
    await waitFor(
      'both clients receiving',
      () => leaving.messages.length >= 5 && staying.messages.length >= 5,
    );

    await leaving.close();
    const before = staying.messages.length;
    // The simulator sends 20 trades/s: about 80 in 4 s, of which half must arrive within them.
    await waitFor(
      "40 events for the other gateway's client",
      () => staying.messages.length - before >= 40,
      4000,
    );
    const ids = contiguousTradeIds(staying.messages, stream);
    assert.equal(ids.gaps, 0, `trade ids skipped: ${ids.missing.join(',')}`);
  });

  it("refuses a second ingest node with a running node's NODE_ID, in process and from the command line", async (t) => {
    const cluster = await startSmallCluster(t, { symbols: ['twinbbusdt'] });
    if (cluster === undefined) return;
    const config = {
      natsUrl: cluster.nats.url,
      upstreamUrl: cluster.simulator.url,
      port: 0,
      shardCount: SHARD_COUNT,
      leaseTtlSeconds: LEASE_TTL_SECONDS,
    };
    const started = Date.now();
    const second = startIngest({ ...config, nodeId: cluster.ingest.nodeId }, { logger: silentLogger() });
    second.then((node) => cluster.closeLater(() => node.close())).catch(() => {});
    await assert.rejects(second, (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /^NODE_ID="ingest" is not valid: a running ingest node uses it/);
      return true;
    });
    const tookMs = Date.now() - started;
    assert.ok(tookMs <= LEASE_TTL_SECONDS * 1000 + 1500, `refused after ${tookMs} ms`);
    assert.equal(cluster.ingest.leases.ownedShards().length, SHARD_COUNT, 'the running node kept its shards');

    // Spawned without blocking this process's event loop: the running node keeps refreshing its entry.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
    const cli = await runToExit(
      CLI,
      ['ingest'],
      {
        ...clean,
        NATS_URL: cluster.nats.url,
        UPSTREAM_URL: cluster.simulator.url,
        NODE_ID: cluster.ingest.nodeId,
        PORT: '0',
        HOST: '127.0.0.1',
        SHARD_COUNT: String(SHARD_COUNT),
        LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
        LOG_LEVEL: 'error',
      },
      30_000,
    );
    assert.equal(cli.code, 2, cli.stderr);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
    assert.match(cli.stderr, /NODE_ID="ingest" is not valid: a running ingest node uses it/);
  });

  it('starts a node restarted after a crash once its old entry expires', async (t) => {
    const cluster = await startSmallCluster(t, { symbols: ['twinccusdt'] });
    if (cluster === undefined) return;
    // What a SIGKILLed node leaves behind: its entry, refreshed no more.
    const nc = await connect({ servers: cluster.nats.url });
    cluster.closeLater(() => nc.close());
    const nodes = await new Kvm(nc).open(NODE_BUCKET);
    await nodes.put('restarted', String(Date.now()));
    const started = Date.now();
    const node = await startIngest(
      {
        natsUrl: cluster.nats.url,
        upstreamUrl: cluster.simulator.url,
        port: 0,
        shardCount: SHARD_COUNT,
        leaseTtlSeconds: LEASE_TTL_SECONDS,
        nodeId: 'restarted',
      },
      { logger: silentLogger() },
    );
    cluster.closeLater(() => node.close());
    const tookMs = Date.now() - started;
    // It waited for the entry to expire (it cannot tell a crashed node from a running one sooner).
    assert.ok(tookMs >= 1000 && tookMs <= LEASE_TTL_SECONDS * 1000 + 1500, `started after ${tookMs} ms`);
    await waitFor('the restarted node taking its share', () => node.leases.ownedShards().length > 0, 10_000);
  });
});
