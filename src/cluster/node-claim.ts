/**
 * An ingest node's NODE_ID is its identity in the node bucket and in the shard leases: two running
 * nodes with one id would count as one node (one holds every shard, the other idles unnoticed). So a
 * node claims its id before it takes part. A free id is created with a compare-and-set (of two nodes
 * starting together, one wins). An id with an entry is either a running node's (refreshed every lease
 * tick) or a crashed predecessor's, e.g. a restarted container keeping its pod name, whose entry
 * expires one LEASE_TTL_SECONDS after its last refresh. The node waits for whichever comes first:
 * expiry (it takes the id) or a refresh (it refuses to start with one line).
 */
import type { KV } from '@nats-io/kv';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { NODE_BUCKET } from './subjects.js';

const POLL_MS = 200;

export async function claimNodeId(nodes: KV, nodeId: string, ttlMs: number, logger: Logger): Promise<void> {
  const first = await nodes.get(nodeId);
  if (first === null || first.operation !== 'PUT') return create(nodes, nodeId, ttlMs);
  const since = Date.now() - first.created.getTime();
  logger.info(
    { nodeId, registeredMsAgo: since, waitMs: ttlMs },
    'NODE_ID is registered: waiting for the entry to expire (a crashed predecessor) or be refreshed (a running node)',
  );
  // The bucket drops the entry one TTL after its last write; a little more covers the server's sweep.
  const deadline = Date.now() + ttlMs + 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const entry = await nodes.get(nodeId);
    if (entry === null || entry.operation !== 'PUT') return create(nodes, nodeId, ttlMs);
    if (entry.revision !== first.revision) throw inUse(nodeId, ttlMs);
  }
  // Not refreshed for a whole TTL: nobody is running with this id.
  await nodes.update(nodeId, String(Date.now()), first.revision).catch(() => {
    throw inUse(nodeId, ttlMs);
  });
}

async function create(nodes: KV, nodeId: string, ttlMs: number): Promise<void> {
  await nodes.create(nodeId, String(Date.now())).catch(() => {
    throw inUse(nodeId, ttlMs);
  });
}

function inUse(nodeId: string, ttlMs: number): ConfigError {
  return new ConfigError(
    `NODE_ID=${JSON.stringify(nodeId)} is not valid: a running ingest node uses it (its entry in the KV bucket ${NODE_BUCKET} was written within the last ${ttlMs / 1000} s); expected a NODE_ID of its own for every ingest node`,
  );
}
