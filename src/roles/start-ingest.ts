/**
 * `ws-manager ingest`: WSManager upstream, shard leases, demand, publication to NATS, the gateways' REST
 * calls and book snapshots over NATS request/reply, plus the HTTP kit's edge on PORT with only the
 * routes an ingest node has: /api/ws/metrics, /healthz and /readyz, under the same token, rate-limit and
 * content-negotiation rules as the gateway.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { connectOrExplain, ensureHistory, leaseBuckets } from '../cluster/broker.js';
import { ClusterMetrics } from '../cluster/cluster-metrics.js';
import { clusterSettingsOf } from '../cluster/cluster-settings.js';
import { DemandView } from '../cluster/demand.js';
import { IngestPublisher } from '../cluster/ingest-publisher.js';
import { claimNodeId } from '../cluster/node-claim.js';
import { IngestRestService } from '../cluster/rest-service.js';
import { serviceSubjectsOf } from '../cluster/service-subjects.js';
import { agreedValues, refuseToDisagree, SettingsAgreement } from '../cluster/settings-agreement.js';
import { ShardLeases } from '../cluster/shard-leases.js';
import { SnapshotBooks } from '../cluster/snapshot-books.js';
import { BINANCE_FEED, type FeedNames, feedNames, OKX_FEED_ID } from '../cluster/subjects.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { resolveConfig } from '../config/load-config.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import type { HealthVerdict } from '../core/stream-source.js';
import { binanceDialect } from '../exchange/binance/dialect.js';
import { binance } from '../exchange/binance/index.js';
import { bybitLinearDialect, bybitSpotDialect } from '../exchange/bybit/dialect.js';
import { bybitLinear, bybitSpot } from '../exchange/bybit/index.js';
import type { RestDialect } from '../exchange/dialect.js';
import type { Exchange } from '../exchange/exchange.js';
import { okxDialect } from '../exchange/okx/dialect.js';
import { okx } from '../exchange/okx/index.js';
import { addRestFallback } from '../gateway/rest-routes.js';
import { HttpRouter } from '../http/http-router.js';
import { closeServer, edgeLimiters, listen, listenError, serveHttp } from '../http/http-server.js';
import { addMetricsRoute } from '../http/metrics-route.js';
import { addProbeRoutes } from '../http/probe-routes.js';
import { httpRequestsCounter } from '../http/request-metrics.js';
import { WSManager } from '../manager/index.js';
import type { Simulator } from '../simulator/index.js';
import { processMetricsRegistry } from './process-metrics.js';
import { roleUpstream } from './role-process.js';

export interface RunningIngest {
  readonly url: string;
  readonly nodeId: string;
  /** Binance's WSManager. */
  readonly manager: WSManager;
  readonly registry: Registry;
  /** Binance's shard leases. */
  readonly leases: ShardLeases;
  /** Every feed this node carries (VENUES), Binance's first. */
  readonly feeds: readonly CarriedFeed[];
  /** Releases the leases (others take the shards at their next tick), then closes everything. */
  close(): Promise<void>;
}

/** A feed this node carries: its upstream, leases, demand and publication. */
export interface CarriedFeed {
  readonly names: FeedNames;
  readonly manager: WSManager;
  readonly leases: ShardLeases;
  readonly publisher: IngestPublisher;
  readonly demand: DemandView;
}

/**
 * What an ingest node needs of each venue's REST dialect to answer gateways' REST calls, by the adapter
 * a feed is read through: where the venue's calls start on its REST base, and which answers it keeps.
 */
const REST_DIALECTS: ReadonlyMap<
  Exchange,
  Pick<RestDialect, 'prefix' | 'upstreamPrefix' | 'keptMs'>
> = new Map<Exchange, Pick<RestDialect, 'prefix' | 'upstreamPrefix' | 'keptMs'>>([
  [binance, binanceDialect.rest],
  [bybitSpot, bybitSpotDialect.rest],
  [bybitLinear, bybitLinearDialect.rest],
  [okx, okxDialect.rest],
]);

/**
 * The feeds of the venues in VENUES besides Binance, each read through its own adapter from its venue's
 * base URL: one per Bybit market, and one for OKX (its adapter opens `/ws/v5/public` or
 * `/ws/v5/business` by stream; see feedIdOf).
 */
function venueFeeds(
  venues: readonly string[],
  urls: { readonly bybit: string; readonly okx: string },
): [FeedNames, Exchange, string][] {
  const feeds: [FeedNames, Exchange, string][] = [];
  if (venues.includes('bybit'))
    feeds.push(
      [feedNames('bybit.spot'), bybitSpot, urls.bybit],
      [feedNames('bybit.linear'), bybitLinear, urls.bybit],
    );
  if (venues.includes('okx')) feeds.push([feedNames(OKX_FEED_ID), okx, urls.okx]);
  return feeds;
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
  const registry = processMetricsRegistry();
  const metrics = new ClusterMetrics(registry, 'ingest');
  const broker = await connectOrExplain(settings, 'ingest', logger, metrics);
  const agreed = agreedValues(settings, 'ingest');
  let buckets: Awaited<ReturnType<typeof leaseBuckets>>;
  let upstream: string;
  let simulator: Simulator | undefined;
  try {
    buckets = await leaseBuckets(broker.nc, settings);
    // Before touching the history: a node refused for its settings or its NODE_ID must not rewrite
    // the history's bounds.
    await refuseToDisagree(buckets.nodes, settings.nodeId, agreed, logger);
    await claimNodeId(buckets.nodes, settings.nodeId, settings.leaseTtlSeconds * 1000, logger);
    await ensureHistory(broker.jsm, settings);
    // A failed start closes the NATS connection, which would otherwise keep the process alive.
    ({ url: upstream, simulator } = await roleUpstream(cfg.upstreamUrl, cfg));
  } catch (error) {
    await broker.close();
    throw error;
  }

  // Configuration requires each venue's URL whenever the simulator is not embedded.
  const venueUrl = (configured: string | undefined, venue: string) =>
    configured ?? (simulator === undefined ? '' : `${simulator.url}/${venue}`);
  const venueUrls = { bybit: venueUrl(cfg.bybitUrl, 'bybit'), okx: venueUrl(cfg.okxUrl, 'okx') };
  const feedList: [FeedNames, Exchange | undefined, string][] = [
    [BINANCE_FEED, undefined, upstream],
    ...venueFeeds(cfg.venues, venueUrls),
  ];
  const feedIds = feedList.map(([names]) => names.id);
  const repair = async () => {
    await ensureHistory(broker.jsm, settings).catch(() => {});
    return leaseBuckets(broker.nc, settings);
  };
  const feeds: CarriedFeed[] = feedList.map(([names, exchange, url], index) => {
    // Binance's lines keep the node's logger as it was; another feed's name each of its lines.
    const feedLogger = index === 0 ? logger : logger.child({ feed: names.id });
    const feedManager = new WSManager({
      url,
      registry,
      logger: feedLogger,
      ...(exchange === undefined ? {} : { exchange }),
      healthGraceMs: cfg.healthGraceSeconds * 1000,
      stallTimeoutMs: cfg.upstreamStallTimeoutSeconds * 1000,
      // An upstream blip of this node is refilled from the exchange's history before it is published.
      recovery: 'backfill',
      ...(runtime.idleGraceMs === undefined ? {} : { idleGraceMs: runtime.idleGraceMs }),
    });
    const publisher = new IngestPublisher({
      nc: broker.nc,
      jsm: broker.jsm,
      source: feedManager,
      nodeId: settings.nodeId,
      shardCount: settings.shardCount,
      metrics,
      logger: feedLogger,
      rest: feedManager.rest,
      exchange: feedManager.exchange,
      feed: names,
    });
    const feedLeases = new ShardLeases({
      ...buckets,
      nodeId: settings.nodeId,
      shardCount: settings.shardCount,
      ttlMs: settings.leaseTtlSeconds * 1000,
      events: publisher,
      feed: names,
      // The first feed's leases write the node entry (listing every feed); each feed's keep its shard gauges.
      announces: index === 0,
      ...(index === 0
        ? { entries: new SettingsAgreement(agreed, metrics.settingsMismatch, logger, feedIds) }
        : {}),
      repair,
      logger: feedLogger,
      metrics,
    });
    const feedDemand = new DemandView(
      broker.demand,
      (stream) => publisher.demandChanged(stream),
      feedLogger,
      names,
    );
    publisher.attach(feedLeases, feedDemand);
    return { names, manager: feedManager, leases: feedLeases, publisher, demand: feedDemand };
  });
  const binance = feeds[0]!;
  const { manager, leases } = binance;
  const demandGauge = setInterval(
    () => metrics.demandStreams.set(feeds.reduce((sum, feed) => sum + feed.publisher.streams, 0)),
    1000,
  );
  // Gateways' REST calls and book snapshots of each feed, within the feed's REST budget.
  const restServices = feeds.flatMap((feed, index): IngestRestService[] => {
    const { manager: feedManager, names } = feed;
    const dialect = REST_DIALECTS.get(feedManager.exchange);
    if (feedManager.rest === undefined || feedManager.books === undefined || dialect === undefined) {
      logger.warn(
        index === 0 ? { upstream } : { feed: names.id },
        index === 0
          ? "No REST base is known for UPSTREAM_URL: this node answers no gateway's REST calls nor snapshots"
          : `No REST base is known for ${names.id}: this node answers no gateway's REST calls nor snapshots of it`,
      );
      return [];
    }
    return [
      new IngestRestService({
        nc: broker.nc,
        rest: feedManager.rest,
        books: new SnapshotBooks(feedManager.books),
        dialect,
        subjects: serviceSubjectsOf(names),
        logger: index === 0 ? logger : logger.child({ feed: names.id }),
      }),
    ];
  });
  await Promise.all(feeds.map((feed) => feed.demand.start()));
  for (const feed of feeds) feed.leases.start();
  for (const service of restServices) service.start();
  broker.onReconnect(() => {
    for (const feed of feeds) {
      feed.demand.restart();
      feed.leases.resume();
    }
  });

  // Ready only while events can flow: connected, leases kept, demand seen, and WSManager healthy.
  const verdict = (): HealthVerdict => {
    if (!broker.connected()) return { healthy: false, reason: 'NATS connection lost' };
    for (const feed of feeds) {
      const of = feeds.length === 1 ? '' : ` (${feed.names.id})`;
      if (!feed.leases.renewing)
        return {
          healthy: false,
          reason: `shard lease tick failing, or not yet run since NATS returned${of}`,
        };
      if (!feed.demand.watching) return { healthy: false, reason: `demand watch not running${of}` };
      const health = feed.manager.health();
      if (!health.healthy) return { ...health, reason: `${health.reason ?? 'unhealthy'}${of}` };
    }
    return manager.health();
  };
  const requests = httpRequestsCounter(registry);
  const router = new HttpRouter({ logger, requests, ...edgeLimiters(cfg.rateLimitPerMinute) });
  // No admin routes, status page, REST or downstream paths: an ingest node serves no clients. Binance's
  // REST paths still get Binance's 404, as on the gateway.
  addMetricsRoute(router, { registry, source: manager, verdict }, cfg.metricsToken);
  addProbeRoutes(router, verdict, manager);
  addRestFallback(router, binanceDialect.rest);
  // Leases first, so other nodes can take the shards while this one winds down.
  const stopPublishing = async () => {
    clearInterval(demandGauge);
    // New requests go to the other nodes at once; the answers under way finish meanwhile.
    const restStopped = Promise.all(restServices.map((service) => service.stop()));
    // Together: each stop withdraws the node entry first, so no successor hands a shard back.
    await Promise.all(feeds.map((feed) => feed.leases.stop()));
    for (const feed of feeds) {
      feed.publisher.stopAll();
      feed.demand.stop();
    }
    await restStopped;
    await Promise.all(feeds.map((feed) => feed.manager.destroy()));
    await broker.close();
    await simulator?.close();
  };
  const server = createServer();
  serveHttp(server, router, requests);
  try {
    await listen(server, cfg.port, cfg.host);
  } catch (error) {
    await stopPublishing();
    throw listenError(error, { PORT: cfg.port, HOST: cfg.host }) ?? error;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info(
    {
      url,
      upstream,
      nats: settings.natsUrl,
      feeds: feedIds,
      ...(cfg.venues.includes('bybit') ? { bybitUrl: venueUrls.bybit } : {}),
      ...(cfg.venues.includes('okx') ? { okxUrl: venueUrls.okx } : {}),
    },
    `Ingest node ${settings.nodeId} listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    nodeId: settings.nodeId,
    manager,
    registry,
    leases,
    feeds,
    close() {
      closing ??= (async () => {
        await stopPublishing();
        await closeServer(server);
        logger.info('Ingest node stopped');
      })();
      return closing;
    },
  };
}
