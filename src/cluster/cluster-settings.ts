import { hostname } from 'node:os';
import type { GatewayConfig } from '../config/gateway-config.js';

/** What both roles need to reach the broker and agree on shards, leases and history. */
export interface ClusterSettings {
  /** `NATS_URL`: one URL or a comma-separated list, e.g. `nats://127.0.0.1:4222`. */
  readonly natsUrl: string;
  /** `NATS_CREDS_FILE`: a NATS credentials file (JWT + nkey seed). */
  readonly natsCredsFile?: string | undefined;
  /** `NATS_TLS_CA_FILE`: PEM CA that signs the NATS server certificate; set: TLS is required. */
  readonly natsTlsCaFile?: string | undefined;
  /** `NODE_ID`: this process's id in leases, demand keys and headers; unique per process. */
  readonly nodeId: string;
  /** `SHARD_COUNT`: every node and gateway of a cluster must use the same. */
  readonly shardCount: number;
  /** `HISTORY_MAX_MESSAGES`: JetStream history bound (all subjects together). */
  readonly historyMaxMessages: number;
  /** `HISTORY_MAX_AGE_SECONDS`: JetStream history bound by age. */
  readonly historyMaxAgeSeconds: number;
  /** `LEASE_TTL_SECONDS`: a shard whose owner stops renewing is free after this. */
  readonly leaseTtlSeconds: number;
  /** `DEMAND_TTL_SECONDS`: a gateway's demand entry counts this long after its last refresh. */
  readonly demandTtlSeconds: number;
  /** `JETSTREAM_REPLICAS`: replicas of the history stream and the KV buckets. */
  readonly replicas: number;
}

/** The cluster part of the configuration; NODE_ID unset becomes `<hostname>-<pid>` (KV-key safe). */
export function clusterSettingsOf(config: GatewayConfig & { natsUrl: string }): ClusterSettings {
  const fallback = `${hostname()
    .replace(/[^-_a-zA-Z0-9]/g, '_')
    .slice(0, 50)}-${process.pid}`;
  return {
    natsUrl: config.natsUrl,
    natsCredsFile: config.natsCredsFile,
    natsTlsCaFile: config.natsTlsCaFile,
    nodeId: config.nodeId ?? fallback,
    shardCount: config.shardCount,
    historyMaxMessages: config.historyMaxMessages,
    historyMaxAgeSeconds: config.historyMaxAgeSeconds,
    leaseTtlSeconds: config.leaseTtlSeconds,
    demandTtlSeconds: config.demandTtlSeconds,
    replicas: config.jetstreamReplicas,
  };
}
