/**
 * The NATS connection of either role and the JetStream objects both rely on (history stream, KV
 * buckets), created idempotently by whichever process comes first.
 */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readSettingFile } from '../config/setting-file.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ClusterSettings } from './cluster-settings.js';
import type { DemandBucket } from './demand.js';
import { natsAuthenticator } from './nats-auth.js';
import { DEMAND_BUCKET, HISTORY_STREAM, HISTORY_SUBJECTS, LEASE_BUCKET, NODE_BUCKET } from './subjects.js';

/** How long connecting may take before a NATS_URL that does not answer as NATS is refused. */
export const NATS_CONNECT_TIMEOUT_MS = 5000;

export interface Broker {
  readonly nc: NatsConnection;
  /** The settings it was connected with (TTLs and replicas for recreating buckets). */
  readonly settings: ClusterSettings;
  readonly jsm: JetStreamManager;
  /** The demand bucket, with its entries' TTL and how to recreate it. */
  readonly demand: DemandBucket;
  /** True while the TCP connection to a NATS server is up. */
  connected(): boolean;
  /**
   * Calls `listener` each time the connection is restored after a loss. The server may have restarted
   * meanwhile, losing the memory-stored buckets, the history and the consumers of KV watches.
   */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

export async function connectBroker(
  settings: ClusterSettings,
  role: 'ingest' | 'gateway',
  logger: Logger,
  metrics: ClusterMetrics,
): Promise<Broker> {
  const nc = await connect({
    servers: settings.natsUrl.split(',').map((s) => s.trim()),
    name: `ws-manager-${role}-${settings.nodeId}`,
    timeout: NATS_CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    // A dead TCP peer is noticed within two missed pings.
    pingInterval: 5000,
    maxPingOut: 2,
    ...(settings.natsCredsFile
      ? { authenticator: natsAuthenticator(readSettingFile('NATS_CREDS_FILE', settings.natsCredsFile)) }
      : {}),
    ...(settings.natsTlsCaFile
      ? { tls: { ca: readSettingFile('NATS_TLS_CA_FILE', settings.natsTlsCaFile).toString('utf8') } }
      : {}),
  });
  let up = true;
  const reconnected: (() => void)[] = [];
  metrics.brokerConnected.set(1);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        up = false;
        metrics.brokerConnected.set(0);
        logger.warn({ server: status.server }, 'NATS connection lost: reconnecting');
      } else if (status.type === 'reconnect') {
        up = true;
        metrics.brokerConnected.set(1);
        metrics.brokerReconnects.inc();
        logger.info({ server: status.server }, 'NATS connection restored');
        for (const listener of reconnected) listener();
      }
    }
  })();
  let jsm: JetStreamManager;
  let demand: KV;
  try {
    jsm = await jetstreamManager(nc);
    demand = await demandBucket(nc, settings);
  } catch (error) {
    // Closed, so that a refused setting ends the command instead of leaving the connection open.
    await nc.close();
    throw error;
  }
  return {
    nc,
    settings,
    jsm,
    demand: {
      kv: demand,
      ttlMs: settings.demandTtlSeconds * 1000,
      reopen: () => demandBucket(nc, settings),
    },
    connected: () => up && !nc.isClosed(),
    onReconnect: (listener) => reconnected.push(listener),
    async close() {
      metrics.brokerConnected.set(0);
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}

/** Creates the history stream or brings its bounds to the configured ones. */
export async function ensureHistory(jsm: JetStreamManager, settings: ClusterSettings): Promise<void> {
  const config = {
    name: HISTORY_STREAM,
    subjects: [...HISTORY_SUBJECTS],
    storage: 'memory' as const,
    discard: 'old' as const,
    max_msgs: settings.historyMaxMessages,
    max_age: settings.historyMaxAgeSeconds * 1_000_000_000,
    num_replicas: settings.replicas,
  };
  try {
    await jsm.streams.add(config as Parameters<JetStreamManager['streams']['add']>[0]);
  } catch {
    await jsm.streams
      .update(HISTORY_STREAM, config as Parameters<JetStreamManager['streams']['update']>[1])
      .catch((error: unknown) => {
        throw replicasError(error, settings.replicas) ?? error;
      });
  }
}

/** The lease and node buckets: their bucket-level TTL is the lease (NATS 2.9 has no per-key TTL). */
export async function leaseBuckets(
  nc: NatsConnection,
  settings: Pick<ClusterSettings, 'leaseTtlSeconds' | 'replicas'>,
): Promise<{ leases: KV; nodes: KV }> {
  const ttlMs = settings.leaseTtlSeconds * 1000;
  return {
    leases: await bucket(nc, LEASE_BUCKET, ttlMs, settings.replicas),
    nodes: await bucket(nc, NODE_BUCKET, ttlMs, settings.replicas),
  };
}

/** The demand bucket (created when missing); its TTL is how long an entry counts without a refresh. */
export function demandBucket(
  nc: NatsConnection,
  settings: Pick<ClusterSettings, 'demandTtlSeconds' | 'replicas'>,
): Promise<KV> {
  return bucket(nc, DEMAND_BUCKET, settings.demandTtlSeconds * 1000, settings.replicas);
}

async function bucket(nc: NatsConnection, name: string, ttlMs: number, replicas: number): Promise<KV> {
  const kvm = new Kvm(nc);
  try {
    return await kvm.create(name, { ttl: ttlMs, history: 1, replicas, storage: 'memory' as never });
  } catch (error) {
    const refused = replicasError(error, replicas);
    if (refused !== undefined) throw refused;
    // Another process created it first (possibly with another TTL): use it as it is.
    return await kvm.open(name);
  }
}

/** The server's refusal of the replica count, as the one-line ConfigError naming JETSTREAM_REPLICAS. */
function replicasError(error: unknown, replicas: number): ConfigError | undefined {
  const reason = error instanceof Error ? error.message : String(error);
  if (!/replica/i.test(reason)) return undefined;
  return new ConfigError(
    `JETSTREAM_REPLICAS=${replicas} is not valid: expected at most the number of JetStream servers in the NATS cluster (the server says: ${reason})`,
  );
}

/**
 * connectBroker, with a failure to reach NATS at start turned into one line naming NATS_URL (a
 * ConfigError: the commands print it and exit 2 instead of a stack trace).
 */
export async function connectOrExplain(
  settings: ClusterSettings,
  role: 'ingest' | 'gateway',
  logger: Logger,
  metrics: ClusterMetrics,
): Promise<Broker> {
  try {
    return await connectBroker(settings, role, logger, metrics);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = !(error instanceof Error)
      ? String(error)
      : error.name === 'TimeoutError'
        ? `no NATS server answered within ${NATS_CONNECT_TIMEOUT_MS / 1000} s`
        : error.message;
    throw new ConfigError(
      `NATS_URL=${JSON.stringify(settings.natsUrl)} is not usable: expected a reachable NATS 2.9+ server with JetStream enabled (${reason})`,
    );
  }
}
