/** Builds the gateway's StreamSource for clustered mode (NATS_URL set). */
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { Logger } from '../log.js';
import { connectOrExplain } from './broker.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { clusterSettingsOf } from './cluster-settings.js';
import { NatsStreamSource } from './nats-stream-source.js';

export async function startNatsSource(
  config: GatewayConfig & { natsUrl: string },
  registry: Registry,
  logger: Logger,
): Promise<NatsStreamSource> {
  const settings = clusterSettingsOf(config);
  const metrics = new ClusterMetrics(registry, 'gateway');
  metrics.shardCount.set(settings.shardCount);
  const broker = await connectOrExplain(settings, 'gateway', logger, metrics);
  logger.info({ nats: settings.natsUrl, nodeId: settings.nodeId }, 'Gateway takes its streams from NATS');
  return new NatsStreamSource({
    broker,
    gatewayId: settings.nodeId,
    metrics,
    logger,
    healthGraceMs: config.healthGraceSeconds * 1000,
    leaseTtlMs: settings.leaseTtlSeconds * 1000,
  });
}
