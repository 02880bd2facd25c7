/**
 * `ws-manager ingest`: WSManager upstream, shard leases, demand, and publication to NATS, plus an HTTP
 * server for /api/ws/metrics, /healthz and /readyz on PORT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import { resolveConfig } from '../config/load-config.js';
import { ConfigError } from '../errors.js';
import { hasBearerToken } from '../gateway/bearer-auth.js';
import { parseRequestTarget } from '../gateway/request-target.js';
import { createLogger, type Logger } from '../log.js';
import { WSManager } from '../manager/index.js';
import { type Simulator, startSimulator } from '../simulator/index.js';
import { connectOrExplain, demandBucket, ensureHistory, leaseBuckets } from './broker.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { clusterSettingsOf } from './cluster-settings.js';
import { DemandView } from './demand.js';
import { IngestPublisher } from './ingest-publisher.js';
import { ShardLeases } from './shard-leases.js';

export interface RunningIngest {
  readonly url: string;
  readonly nodeId: string;
  readonly manager: WSManager;
  readonly registry: Registry;
  readonly leases: ShardLeases;
  /** Releases the leases (others take the shards at their next tick), then closes everything. */
  close(): Promise<void>;
}

export async function startIngest(
  config: Partial<GatewayConfig> = {},
  runtime: {
    logger?: Logger;
    /** WSManager's idle grace before an unwanted stream is released upstream (tests shorten it). @default 30000 */
    idleGraceMs?: number;
  } = {},
): Promise<RunningIngest> {
  const cfg = resolveConfig({ useNewWsManager: true, ...config });
  if (cfg.natsUrl === undefined) {
    throw new ConfigError('NATS_URL is not set: expected the NATS server an ingest node publishes to');
  }
  const settings = clusterSettingsOf({ ...cfg, natsUrl: cfg.natsUrl });
  const logger = (runtime.logger ?? createLogger({ level: cfg.logLevel, file: cfg.logFile })).child({
    role: 'ingest',
    node: settings.nodeId,
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // As on the gateway: these three gauges end in _total, which promtool rejects for a gauge.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  const metrics = new ClusterMetrics(registry, 'ingest');
  const broker = await connectOrExplain(settings, 'ingest', logger, metrics);
  await ensureHistory(broker.jsm, settings);
  const buckets = await leaseBuckets(broker.nc, settings.leaseTtlSeconds * 1000);

  let simulator: Simulator | undefined;
  let upstream = cfg.upstreamUrl;
  if (upstream === undefined) {
    simulator = await startSimulator({
      host: '127.0.0.1',
      port: cfg.simulatorPort,
      symbols: [...cfg.simulatorSymbols],
      rate: cfg.simulatorRate,
    });
    upstream = simulator.url;
  }
  const manager = new WSManager({
    url: upstream,
    registry,
    logger,
    healthGraceMs: cfg.healthGraceSeconds * 1000,
    stallTimeoutMs: cfg.upstreamStallTimeoutSeconds * 1000,
    ...(runtime.idleGraceMs === undefined ? {} : { idleGraceMs: runtime.idleGraceMs }),
  });
  const publisher = new IngestPublisher({
    nc: broker.nc,
    jsm: broker.jsm,
    source: manager,
    nodeId: settings.nodeId,
    shardCount: settings.shardCount,
    metrics,
    logger,
  });
  const leases = new ShardLeases({
    ...buckets,
    nodeId: settings.nodeId,
    shardCount: settings.shardCount,
    ttlMs: settings.leaseTtlSeconds * 1000,
    events: publisher,
    repair: async () => {
      await ensureHistory(broker.jsm, settings).catch(() => {});
      return leaseBuckets(broker.nc, settings.leaseTtlSeconds * 1000);
    },
    logger,
    metrics,
  });
  const demand = new DemandView(
    broker.demand,
    (stream) => publisher.demandChanged(stream),
    logger,
    () => demandBucket(broker.nc),
  );
  publisher.attach(leases, demand);
  const demandGauge = setInterval(() => metrics.demandStreams.set(publisher.streams), 1000);
  await demand.start();
  leases.start();

  const ready = () => broker.connected() && manager.health().healthy;
  const server = createServer((req, res) =>
    serveHttp(req, res, { registry, manager, ready, metricsToken: cfg.metricsToken }).catch(
      (error: unknown) => {
        // A failing handler answers 500 and is logged; it must never end the process.
        logger.error({ err: String(error), path: req.url }, 'Ingest HTTP request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info(
    { url, upstream, nats: settings.natsUrl },
    `Ingest node ${settings.nodeId} listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    nodeId: settings.nodeId,
    manager,
    registry,
    leases,
    close() {
      closing ??= (async () => {
        clearInterval(demandGauge);
        await leases.stop();
        publisher.stopAll();
        demand.stop();
        await manager.destroy();
        await broker.close();
        await simulator?.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info('Ingest node stopped');
      })();
      return closing;
    },
  };
}

interface HttpDeps {
  readonly registry: Registry;
  readonly manager: WSManager;
  readonly ready: () => boolean;
  /** As on the gateway: set, GET /api/ws/metrics needs `Authorization: Bearer <token>`; probes stay open. */
  readonly metricsToken: string | undefined;
}

async function serveHttp(req: IncomingMessage, res: ServerResponse, deps: HttpDeps): Promise<void> {
  const url = parseRequestTarget(req.url);
  if (url === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed request target\n');
    return;
  }
  const path = url.pathname;
  const ok = deps.ready();
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(head ? undefined : 'ok\n');
  } else if (path === '/readyz' || (path === '/api/ws/metrics' && head)) {
    const body = head ? undefined : ok ? 'ready\n' : 'not ready\n';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
  } else if (
    path === '/api/ws/metrics' &&
    deps.metricsToken !== undefined &&
    !hasBearerToken(req, deps.metricsToken)
  ) {
    res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('unauthorized\n');
  } else if (path === '/api/ws/metrics' && url.searchParams.get('format') === 'prometheus') {
    res.writeHead(200, { 'content-type': deps.registry.contentType }).end(await deps.registry.metrics());
  } else if (path === '/api/ws/metrics') {
    const metrics = { ...deps.manager.getMetrics(), isHealthy: ok, role: 'ingest' };
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ success: true, timestamp: Date.now(), metrics }));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}
