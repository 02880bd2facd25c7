/**
 * Shard leases on a real nats-server: a node that loses a lease (someone else holds it, or it cannot
 * renew because the broker is gone) stops owning the shard at once, before another node can take it.
 * The lease lifecycle's table and loss codes are checked over in-memory buckets.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KV } from '@nats-io/kv';
import { Registry } from 'prom-client';
import { type Broker, connectBroker, leaseBuckets } from '../../src/cluster/broker.js';
import { ClusterMetrics } from '../../src/cluster/cluster-metrics.js';
import { LEASE_LOSSES, LEASE_TRANSITIONS, leaseKey, ShardLeases } from '../../src/cluster/shard-leases.js';
import { silentLogger } from '../../src/core/log.js';
import { assertTable } from '../core/transition-table.js';
import { captureLogger } from '../manager/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { type NatsServer, startNatsServer } from './nats-server.js';

const TTL_MS = 2000;

describe('shard leases', () => {
  let nats: NatsServer | undefined;
  const brokers: Broker[] = [];
  const stops: (() => Promise<void>)[] = [];

  after(async () => {
    for (const stop of stops) await stop().catch(() => {});
    for (const broker of brokers) await broker.close().catch(() => {});
    await nats?.stop();
  });

  async function node(nodeId: string, lost: number[]) {
    const settings = {
      natsUrl: nats!.url,
      nodeId,
      shardCount: 2,
      historyMaxMessages: 1000,
      historyMaxAgeSeconds: 60,
      leaseTtlSeconds: TTL_MS / 1000,
      demandTtlSeconds: 15,
      replicas: 1,
    };
    const metrics = new ClusterMetrics(new Registry(), 'ingest');
    const broker = await connectBroker(settings, 'ingest', silentLogger(), metrics);
    brokers.push(broker);
    const buckets = await leaseBuckets(broker.nc, settings);
    const leases = new ShardLeases({
      ...buckets,
      nodeId,
      shardCount: 2,
      ttlMs: TTL_MS,
      events: { gained: () => {}, lost: (s) => lost.push(s) },
      logger: silentLogger(),
      metrics,
    });
    leases.start();
    stops.push(() => leases.stop());
    return { leases, buckets, metrics };
  }

  it('drops a shard at the first renewal after another holder replaced the lease', async (t) => {
    nats = await startNatsServer(t);
    if (nats === undefined) return;
    const lost: number[] = [];
    const { leases, buckets } = await node('solo', lost);
    await waitFor('both shards owned', () => leases.ownedShards().length === 2, 10_000);
    // Another writer overwrites the lease (as a node that took it after an expiry would).
    await buckets.leases.put(leaseKey(0), 'intruder');
    await waitFor('shard 0 reported lost', () => lost.includes(0), TTL_MS);
    assert.equal(leases.epochOf(0), undefined);
    assert.deepEqual(leases.ownedShards(), [1]);
  });

  it('stops owning every shard within the TTL when the broker is unreachable', async (t) => {
    if (nats === undefined) return t.skip('nats-server missing');
    // Only the node under test runs: the first one releases its leases.
    for (const stop of stops.splice(0)) await stop();
    const lost: number[] = [];
    const { leases } = await node('cut-off', lost);
    await waitFor('both shards owned', () => leases.ownedShards().length === 2, 10_000);
    const killedAt = Date.now();
    await nats.kill();
    // No renewal can succeed now; a lease it could not renew must not be counted on past the TTL.
    await waitFor('no shard owned', () => leases.ownedShards().length === 0, TTL_MS + 500);
    assert.ok(Date.now() - killedAt <= TTL_MS + 500);
    assert.deepEqual(lost.sort(), [0, 1], 'both shards reported lost');
    await nats.start();
  });
});

/** An in-memory stand-in for the two buckets: what ShardLeases calls, with NATS's compare-and-set. */
function memoryKv(): KV {
  const entries = new Map<string, { value: string; revision: number }>();
  let seq = 0;
  const write = (key: string, value: string) => {
    entries.set(key, { value, revision: ++seq });
    return seq;
  };
  const kv = {
    put: async (key: string, value: string) => write(key, value),
    get: async (key: string) => {
      const entry = entries.get(key);
      return entry === undefined
        ? null
        : { operation: 'PUT', revision: entry.revision, string: () => entry.value };
    },
    keys: async () => {
      const list = [...entries.keys()];
      return Object.assign(
        (async function* () {
          yield* list;
        })(),
        { stop: () => {} },
      );
    },
    create: async (key: string, value: string) => {
      if (entries.has(key)) throw new Error('wrong last sequence: key exists');
      return write(key, value);
    },
    update: async (key: string, value: string, revision: number) => {
      if (entries.get(key)?.revision !== revision) throw new Error('wrong last sequence');
      return write(key, value);
    },
    delete: async (key: string) => {
      entries.delete(key);
    },
  };
  return kv as unknown as KV;
}

describe('shard lease lifecycle', () => {
  it('the table: every other move throws, released and lost are final', () => {
    assertTable(LEASE_TRANSITIONS);
    assert.deepEqual([LEASE_TRANSITIONS.released, LEASE_TRANSITIONS.lost], [[], []]);
  });

  it('a refused renewal loses the lease with its code and the broker answer in the log', async () => {
    const { logger, lines } = captureLogger();
    const leasesKv = memoryKv();
    const lost: number[] = [];
    const leases = new ShardLeases({
      leases: leasesKv,
      nodes: memoryKv(),
      nodeId: 'solo',
      shardCount: 1,
      ttlMs: 600,
      events: { gained: () => {}, lost: (s) => lost.push(s) },
      logger,
      metrics: new ClusterMetrics(new Registry(), 'ingest'),
    });
    leases.start();
    try {
      await waitFor('the shard owned', () => leases.ownedShards().length === 1, 5000);
      await leasesKv.put(leaseKey(0), 'intruder');
      await waitFor('the shard lost', () => lost.includes(0), 5000);
      const line = lines.find((l) => l.msg === 'Shard lease lost: stopped publishing it');
      assert.equal(line?.['reason'], `${LEASE_LOSSES.renewal_refused}: Error: wrong last sequence`);
      assert.equal(leases.epochOf(0), undefined);
    } finally {
      await leases.stop();
    }
  });
});
