/**
 * Builds the gateway's StreamSources for clustered mode (NATS_URL set), one per feed: streams from NATS,
 * and REST calls and order books through the ingest nodes carrying the feed, on its own subjects.
 */
import { type KV, Kvm } from '@nats-io/kv';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { Logger } from '../core/log.js';
import type { StreamSource } from '../core/stream-source.js';
import type { Exchange } from '../exchange/exchange.js';
import { DEFAULT_EXCHANGE } from '../manager/default-exchange.js';
import { type Broker, connectOrExplain } from './broker.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { type ClusterSettings, clusterSettingsOf } from './cluster-settings.js';
import { ClusteredBooks } from './clustered-books.js';
import { NatsRest } from './nats-rest.js';
import { NatsStreamSource } from './nats-stream-source.js';
import { serviceSubjectsOf } from './service-subjects.js';
import { agreedValues, refuseToDisagree } from './settings-agreement.js';
import { BINANCE_FEED_ID, feedIdOf, feedNames, NODE_BUCKET } from './subjects.js';

/** The streams of `venue`'s `market` from NATS, read through `exchange` (the gateway's ClusteredVenues). */
export type VenueSourceOf = (venue: string, market: string, exchange: Exchange) => StreamSource;

export async function startNatsSource(
  config: GatewayConfig & { natsUrl: string },
  registry: Registry,
  logger: Logger,
): Promise<NatsStreamSource & { venueSource: VenueSourceOf }> {
  const settings = clusterSettingsOf(config);
  const metrics = new ClusterMetrics(registry, 'gateway');
  // A count for every feed served (Binance here, each other one as its source is made): with every
  // ingest node of a feed down, the gateways' count still shows how many of its shards are unowned.
  metrics.shardCount.set({ feed: BINANCE_FEED_ID }, settings.shardCount);
  const broker = await connectOrExplain(settings, 'gateway', logger, metrics);
  await refuseToDisagreeWithIngest(broker, settings, logger).catch(async (error: unknown) => {
    await broker.close();
    throw error;
  });
  logger.info({ nats: settings.natsUrl, nodeId: settings.nodeId }, 'Gateway takes its streams from NATS');
  // REST calls and book snapshots are asked of the ingest tier: the exchange is never called from here.
  const rest = new NatsRest(broker.nc, logger);
  const books = new ClusteredBooks({
    // The books' diff streams come through this very source.
    subscribe: (stream, listener) => source.subscribe(stream, listener),
    exchange: DEFAULT_EXCHANGE,
    snapshot: (symbol, depth) => rest.snapshot(symbol, depth),
    logger,
  });
  const source: NatsStreamSource = new NatsStreamSource({
    broker,
    gatewayId: settings.nodeId,
    metrics,
    logger,
    healthGraceMs: config.healthGraceSeconds * 1000,
    leaseTtlMs: settings.leaseTtlSeconds * 1000,
    rest,
    books,
  });
  // Another venue's market: its feed's subjects and demand keys (OKX's one source reads the `okx`
  // feed, both its paths), on this source's connection, which the Binance source closes (the others'
  // destroy leaves it open). Its REST calls and book snapshots go to the ingest nodes carrying that feed.
  const shared: Broker = { ...broker, close: () => Promise.resolve() };
  const venueSource: VenueSourceOf = (venue, market, exchange) => {
    const feed = feedNames(feedIdOf(venue, market));
    metrics.shardCount.set({ feed: feed.id }, settings.shardCount);
    const feedLogger = logger.child({ venue: `${venue}/${market}` });
    const feedRest = new NatsRest(broker.nc, feedLogger, { subjects: serviceSubjectsOf(feed) });
    const feedBooks = new ClusteredBooks({
      subscribe: (stream, listener) => feedSource.subscribe(stream, listener),
      exchange,
      snapshot: (symbol, depth) => feedRest.snapshot(symbol, depth),
      logger: feedLogger,
    });
    const feedSource: NatsStreamSource = new NatsStreamSource({
      broker: shared,
      gatewayId: settings.nodeId,
      metrics,
      logger: feedLogger,
      healthGraceMs: config.healthGraceSeconds * 1000,
      leaseTtlMs: settings.leaseTtlSeconds * 1000,
      exchange,
      feed,
      rest: feedRest,
      books: feedBooks,
    });
    return feedSource;
  };
  return Object.assign(source, { venueSource });
}

/** The ingest nodes' shared settings against the gateway's; nothing to compare before any ingest node ran. */
async function refuseToDisagreeWithIngest(
  broker: Broker,
  settings: ClusterSettings,
  logger: Logger,
): Promise<void> {
  let nodes: KV;
  try {
    nodes = await new Kvm(broker.nc).open(NODE_BUCKET);
    await nodes.status();
  } catch {
    return;
  }
  await refuseToDisagree(nodes, settings.nodeId, agreedValues(settings, 'gateway'), logger);
}
