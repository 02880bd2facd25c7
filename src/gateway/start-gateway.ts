/**
 * App wiring: configuration → upstream (embedded simulator or UPSTREAM_URL) → StreamSource chosen by
 * USE_NEW_WS_MANAGER → HTTP(S) server with the router and the downstream WebSocket server.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import { resolveConfig } from '../config/load-config.js';
import { readSettingFile } from '../config/setting-file.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import type { HealthVerdict, StreamSource } from '../core/stream-source.js';
import { binanceDialect } from '../exchange/binance/dialect.js';
import { bybitLinearDialect, bybitSpotDialect } from '../exchange/bybit/dialect.js';
import { bybitLinear, bybitSpot } from '../exchange/bybit/index.js';
import type { Dialect } from '../exchange/dialect.js';
import type { Exchange } from '../exchange/exchange.js';
import { okxDialect } from '../exchange/okx/dialect.js';
import { okx } from '../exchange/okx/index.js';
import { HttpRouter } from '../http/http-router.js';
import { closeServer, edgeLimiters, listen, listenError, serveHttp } from '../http/http-server.js';
import { addMetricsRoute } from '../http/metrics-route.js';
import { addProbeRoutes } from '../http/probe-routes.js';
import { LegacyStreamSource } from '../legacy/legacy-stream-source.js';
import type { WeightBudgetOptions } from '../limits/weight-budget.js';
import { WSManager } from '../manager/index.js';
import { processMetricsRegistry } from '../roles/process-metrics.js';
import { roleUpstream } from '../roles/role-process.js';
import type { Simulator } from '../simulator/index.js';
import { ActivitySummary } from './activity-summary.js';
import { addAdminRoutes } from './admin-route.js';
import { DepthService } from './depth-route.js';
import { addWebSocketPathHint, DownstreamServer, type DownstreamVenue } from './downstream-server.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { RestForwarder } from './rest-forwarder.js';
import { restError } from './rest-response.js';
import { addRestFallback, addRestRoutes } from './rest-routes.js';
import { RestService } from './rest-service.js';
import { addStatusRoutes } from './status/status-routes.js';
import { StatusService } from './status/status-service.js';
import { foldVerdicts, type VenueSource, venueFigures } from './venue-health.js';

/**
 * The StreamSource of clustered mode (NATS_URL set): the streams come from NATS, published by ingest
 * nodes. The roles layer supplies it, so the gateway does not depend on the cluster.
 */
export type ClusteredSource = (
  config: GatewayConfig & { natsUrl: string },
  registry: Registry,
  logger: Logger,
) => Promise<StreamSource & ClusteredVenues>;

/** The other venues' sources of clustered mode. */
export interface ClusteredVenues {
  /** The streams of `venue`'s `market` from NATS, read through `exchange`, on the same connection. */
  venueSource(venue: string, market: string, exchange: Exchange): StreamSource;
}

/** Wiring choices that are not configuration (tests shorten timers through these). */
export interface GatewayRuntimeOptions {
  /** @default a pino logger from LOG_LEVEL / LOG_FILE */
  logger?: Logger;
  /** @default a new Registry with the process metrics of roles/process-metrics.ts */
  registry?: Registry;
  /** Server ping period for downstream clients. @default 20000 (Binance) */
  pingIntervalMs?: number;
  /** Downstream client dropped when a ping stays unanswered this long. @default 60000 (Binance) */
  pongTimeoutMs?: number;
  /** A closing client's socket is destroyed after this. @default 1000 */
  closeGraceMs?: number;
  /** Period of the `info` activity line (clients, streams, msgs/s). @default 60000 */
  summaryIntervalMs?: number;
  /** Each client address's REST weight budget. @default Binance's (6000 per minute, 418 after 5 more requests) */
  restClientLimits?: Partial<WeightBudgetOptions>;
  /** Lifetime of one status page event stream. @default 60000 */
  statusEventStreamMaxAgeMs?: number;
  /** Required when NATS_URL is set (src/roles/start-gateway.ts supplies it). */
  clusteredSource?: ClusteredSource;
}

export interface RunningGateway {
  /** `http(s)://host:port` */
  readonly url: string;
  /** `ws(s)://host:port`; append `/ws/<stream>` or `/stream?streams=...`. */
  readonly wsUrl: string;
  readonly source: StreamSource;
  /** The embedded simulator when UPSTREAM_URL was unset. */
  readonly simulator?: Simulator;
  /**
   * The sources of the venues served besides Binance (VENUES), by market: `bybit/spot`, `bybit/linear`,
   * `okx/public` (OKX's one source serves both its paths).
   */
  readonly venueSources: ReadonlyMap<string, StreamSource>;
  readonly config: GatewayConfig;
  readonly registry: Registry;
  /** The health verdict behind HEAD /api/ws/metrics and /readyz. */
  health(): HealthVerdict;
  /**
   * Graceful stop: readiness turns 503 at once, upgrades are refused, clients are closed with 1001 and
   * given until `timeoutMs` to go, then the upstream, the simulator and the server are closed.
   */
  shutdown(timeoutMs: number): Promise<void>;
  /** Stops everything promptly (shutdown with a 1 s client grace). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts the gateway. `config` overrides the defaults (it does not read the environment; the serve
 * command does that through loadConfig).
 * @throws ConfigError when a value is invalid or a TLS file cannot be read.
 */
export async function startGateway(
  config: Partial<GatewayConfig> = {},
  runtime: GatewayRuntimeOptions = {},
): Promise<RunningGateway> {
  const cfg = resolveConfig(config);
  const tls = readTls(cfg);
  const server = createServer(cfg, tls);
  const logger = runtime.logger ?? createLogger({ level: cfg.logLevel, file: cfg.logFile });
  const registry = processMetricsRegistry(runtime.registry);
  const metrics = new GatewayMetrics(registry);

  // Clustered mode: the streams come from NATS; ingest nodes hold the exchange's sockets.
  const { url: upstream, simulator } = await roleUpstream(cfg.natsUrl ?? cfg.upstreamUrl, cfg);
  const healthGraceMs = cfg.healthGraceSeconds * 1000;
  const clustered = cfg.natsUrl
    ? await clusteredSource(runtime)({ ...cfg, natsUrl: cfg.natsUrl }, registry, logger)
    : undefined;
  const source: StreamSource = clustered
    ? clustered
    : cfg.useNewWsManager
      ? new WSManager({
          url: upstream,
          registry,
          logger,
          healthGraceMs,
          stallTimeoutMs: cfg.upstreamStallTimeoutSeconds * 1000,
          recovery: cfg.upstreamGapRecovery,
        })
      : new LegacyStreamSource({
          url: upstream,
          registry,
          logger,
          healthGraceMs,
          stallTimeoutMs: cfg.upstreamStallTimeoutSeconds * 1000,
          reconnectDelayMs: cfg.legacyReconnectDelayMs,
        });

  const venues = venueSources(cfg, simulator, registry, logger, healthGraceMs, clustered);

  let draining = false;
  // Every enabled venue's source counts: a gateway whose Bybit upstream is down is not healthy.
  const verdict = (): HealthVerdict =>
    draining ? { healthy: false, reason: 'draining for shutdown' } : foldVerdicts(source.health(), venues);
  const everyVenue: VenueSource[] = [{ venue: 'binance', market: 'spot', source }, ...venues];
  // The one place the venue protocol the gateway serves is chosen.
  const dialect = binanceDialect;
  const downstream = new DownstreamServer({
    source,
    dialect,
    metrics,
    logger,
    maxClients: cfg.maxClients,
    maxStreams: cfg.clientMaxStreams,
    maxMessagesPerSecond: cfg.clientMaxMessagesPerSecond,
    maxPayloadBytes: cfg.clientMaxPayloadBytes,
    sendQueueBytes: cfg.clientSendQueueBytes,
    sendQueueTotalBytes: cfg.sendQueueTotalBytes,
    connectAttemptsPerIp: cfg.clientConnectAttemptsPerIp,
    maxUpstreamStreams: cfg.maxUpstreamStreams,
    allowedOrigins: cfg.allowedOrigins,
    pingIntervalMs: runtime.pingIntervalMs ?? 20_000,
    pongTimeoutMs: runtime.pongTimeoutMs ?? 60_000,
    closeGraceMs: runtime.closeGraceMs ?? 1000,
    venues: venues.map(
      ({ dialect, source }): DownstreamVenue => ({
        dialect,
        source,
        // The venue's own limits on one connection bound the configured ones.
        maxStreams: Math.min(cfg.clientMaxStreams, dialect.clientLimits.streamsPerConnection),
        maxMessagesPerSecond: Math.min(
          cfg.clientMaxMessagesPerSecond,
          dialect.clientLimits.incomingMessagesPerSecond,
        ),
      }),
    ),
  });
  const stats = () => ({
    clients: downstream.clientCount,
    clientsHwm: downstream.clientsHwm,
    clientSubscriptions: downstream.subscriptions,
    messagesSent: metrics.tally.messagesSent,
    slowClientDisconnects: downstream.slowDisconnects,
    draining,
  });
  const status = new StatusService({
    source,
    verdict,
    stats,
    venues: () => venueFigures(everyVenue),
    ...(runtime.statusEventStreamMaxAgeMs === undefined
      ? {}
      : { eventStreamMaxAgeMs: runtime.statusEventStreamMaxAgeMs }),
  });
  // The REST routes need the source's REST API (its REST base and shared weight budget), `/depth` its
  // order books as well; without them the calls are answered with why they are not served.
  const forwarder = source.rest === undefined ? undefined : new RestForwarder(source.rest, dialect.rest);
  const depth =
    forwarder === undefined || source.books === undefined
      ? undefined
      : new DepthService(
          source.books,
          (symbol) => forwarder.symbolInfo(symbol),
          downstream.streamCap,
          dialect.rest,
        );
  const why = unservedReason(cfg);
  const rest = new RestService({
    dialect: dialect.rest,
    depth,
    forwarder,
    unavailable: (endpoint) =>
      restError(
        dialect.rest,
        404,
        dialect.rest.errors.unavailable(
          `${endpoint === 'depth' && forwarder !== undefined ? 'Order books are' : 'REST market data is'} not available from this gateway's source (${why})`,
        ),
      ),
    limits: runtime.restClientLimits,
  });
  const router = new HttpRouter({
    logger,
    requests: metrics.httpRequests,
    ...edgeLimiters(cfg.rateLimitPerMinute),
  });
  addMetricsRoute(
    router,
    {
      registry,
      source,
      verdict,
      extra: () => status.documentFields(),
    },
    cfg.metricsToken,
  );
  addProbeRoutes(router, verdict, source);
  if (cfg.adminToken !== undefined) addAdminRoutes(router, source, cfg.adminToken);
  addRestRoutes(router, dialect.rest, rest);
  addStatusRoutes(router, status, cfg.metricsToken);
  addWebSocketPathHint(router, dialect);
  addRestFallback(router, dialect.rest);
  addVenueRoutes(router, venues);

  serveHttp(server, router, metrics.httpRequests, (req, socket, head) =>
    downstream.handleUpgrade(req, socket, head),
  );

  try {
    await listen(server, cfg.port, cfg.host);
  } catch (error) {
    status.close();
    depth?.close();
    downstream.close();
    await source.destroy();
    await Promise.all(venues.map((v) => v.source.destroy()));
    await simulator?.close();
    throw listenError(error, { PORT: cfg.port, HOST: cfg.host }) ?? error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  const wsUrl = `${tls ? 'wss' : 'ws'}://${host}:${address.port}`;
  logger.info(
    {
      url,
      wsUrl,
      implementation: source.implementation,
      upstream,
      embeddedSimulator: simulator !== undefined,
      venues: cfg.venues,
    },
    `Gateway listening on ${url} (implementation ${source.implementation}, upstream ${upstream})`,
  );
  for (const venue of venues) {
    logger.info(
      { venue: venue.name, path: venue.dialect.webSocketPaths[0], upstream: venue.url },
      `Serving ${venue.name} at ${venue.dialect.webSocketPaths[0]} (upstream ${venue.url})`,
    );
  }

  const summary = new ActivitySummary(
    source,
    () => ({
      clients: downstream.clientCount,
      subscriptions: downstream.subscriptions,
      messagesSent: metrics.tally.messagesSent,
    }),
    logger,
    runtime.summaryIntervalMs ?? 60_000,
    Date.now,
    venues,
  );

  let stopped: Promise<void> | undefined;
  const shutdown = (timeoutMs: number): Promise<void> => {
    stopped ??= (async () => {
      draining = true;
      summary.stop();
      metrics.draining.set(1);
      logger.info({ timeoutMs, clients: downstream.clientCount }, 'Gateway draining for shutdown');
      status.close();
      depth?.close();
      await downstream.drain(Date.now() + timeoutMs);
      downstream.close();
      await source.destroy();
      await Promise.all(venues.map((v) => v.source.destroy()));
      await simulator?.close();
      await closeServer(server);
      logger.info('Gateway stopped');
    })();
    return stopped;
  };

  return {
    url,
    wsUrl,
    source,
    ...(simulator ? { simulator } : {}),
    venueSources: new Map(venues.map((v) => [v.name, v.source])),
    config: cfg,
    registry,
    health: verdict,
    shutdown,
    close: () => shutdown(runtime.closeGraceMs ?? 1000),
  };
}

/** A venue served besides Binance: one source per market, each behind its own dialect. */
interface ServedVenue extends VenueSource {
  /** `bybit/spot`: the venue and market, for logs and `venueSources`. */
  readonly name: string;
  readonly url: string;
  readonly dialect: Dialect;
  readonly source: StreamSource;
}

/**
 * The sources of the venues in VENUES besides Binance. Each is a WSManager of its own, all in the
 * gateway's registry: their upstream metrics carry `venue="bybit"` (both markets add up into it) or
 * `venue="okx"`.
 */
function venueSources(
  cfg: GatewayConfig,
  simulator: Simulator | undefined,
  registry: Registry,
  logger: Logger,
  healthGraceMs: number,
  clustered: ClusteredVenues | undefined,
): ServedVenue[] {
  // Configuration checks that each venue's URL is set whenever the simulator is not embedded.
  const urlOf = (configured: string | undefined, venue: string) =>
    clustered ? 'nats' : (configured ?? `${(simulator as Simulator).url}/${venue}`);
  const markets: [venue: string, market: string, url: string, Exchange, Dialect][] = [];
  if (cfg.venues.includes('bybit')) {
    const url = urlOf(cfg.bybitUrl, 'bybit');
    markets.push(['bybit', 'spot', url, bybitSpot, bybitSpotDialect]);
    markets.push(['bybit', 'linear', url, bybitLinear, bybitLinearDialect]);
  }
  // One manager for OKX's public and business paths: it routes candles to `/ws/v5/business` itself, and
  // one manager keeps one connection budget (3 attempts per second per IP) and one REST budget.
  if (cfg.venues.includes('okx')) markets.push(['okx', 'public', urlOf(cfg.okxUrl, 'okx'), okx, okxDialect]);
  return markets.map(([venue, market, url, exchange, dialect]) => ({
    name: `${venue}/${market}`,
    venue,
    market,
    url,
    dialect,
    source: clustered
      ? clustered.venueSource(venue, market, exchange)
      : new WSManager({
          url,
          exchange,
          registry,
          logger: logger.child({ venue: `${venue}/${market}` }),
          healthGraceMs,
          stallTimeoutMs: cfg.upstreamStallTimeoutSeconds * 1000,
          recovery: cfg.upstreamGapRecovery,
        }),
  }));
}

/**
 * A venue's REST calls and WebSocket path hints. Its markets share one REST API (Bybit's category is a
 * query parameter), served through the first market's source and registered once: a WSManager's REST
 * client, or in clustered mode the ingest nodes carrying that market's feed.
 */
function addVenueRoutes(router: HttpRouter, venues: readonly ServedVenue[]): void {
  const served = new Set<object>();
  for (const { venue, dialect, source } of venues) {
    addWebSocketPathHint(router, dialect);
    if (served.has(dialect.rest)) continue;
    served.add(dialect.rest);
    const forwarder = source.rest === undefined ? undefined : new RestForwarder(source.rest, dialect.rest);
    const rest = new RestService({
      dialect: dialect.rest,
      depth: undefined,
      forwarder,
      unavailable: () =>
        restError(
          dialect.rest,
          404,
          dialect.rest.errors.unavailable(
            `REST market data is not available from this gateway's source (no REST base is known for ${venue.toUpperCase()}_URL)`,
          ),
        ),
    });
    addRestRoutes(router, dialect.rest, rest);
    addRestFallback(router, dialect.rest);
  }
}

/** Why the source lacks the REST API, said in the answers of the REST calls it cannot serve. */
function unservedReason(cfg: GatewayConfig): string {
  if (cfg.natsUrl !== undefined) return 'clustered mode';
  if (!cfg.useNewWsManager) return 'legacy mode, USE_NEW_WS_MANAGER=false';
  return 'no REST base is known for UPSTREAM_URL';
}

function clusteredSource(runtime: GatewayRuntimeOptions): ClusteredSource {
  if (runtime.clusteredSource === undefined) {
    throw new Error(
      'NATS_URL is set: clustered mode starts through startGateway of src/roles/start-gateway.ts',
    );
  }
  return runtime.clusteredSource;
}

function readTls(cfg: GatewayConfig): { cert: Buffer; key: Buffer } | undefined {
  if (cfg.tlsCertFile === undefined || cfg.tlsKeyFile === undefined) return undefined;
  return {
    cert: readSettingFile('TLS_CERT_FILE', cfg.tlsCertFile, 'PEM file'),
    key: readSettingFile('TLS_KEY_FILE', cfg.tlsKeyFile, 'PEM file'),
  };
}

function createServer(cfg: GatewayConfig, tls: { cert: Buffer; key: Buffer } | undefined): Server {
  if (!tls) return createHttpServer();
  try {
    return createHttpsServer(tls);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const files = `TLS_CERT_FILE=${JSON.stringify(cfg.tlsCertFile)} and TLS_KEY_FILE=${JSON.stringify(cfg.tlsKeyFile)}`;
    throw new ConfigError(
      `${files} are not valid: expected a PEM certificate and its private key (${reason})`,
    );
  }
}
