/**
 * The request/reply subjects of one feed's services: REST calls forwarded to the exchange for gateways'
 * clients, and snapshots for gateways' order books, answered by the ingest nodes carrying the feed.
 * Each feed has its own, so a request reaches a node whose upstream is that venue's market, and an
 * ingest node subscribes only for the feeds it carries. Binance's are `svc.binance.rest` and
 * `svc.binance.book`, as in a cluster that carried Binance alone; another feed's are
 * `svc.<feed>.rest` and `svc.<feed>.book` (`svc.bybit.spot.rest`).
 */
import type { FeedNames } from './subjects.js';

export interface ServiceSubjects {
  /** Forwarded REST calls. */
  readonly rest: string;
  /** Order-book snapshots. */
  readonly book: string;
}

export function serviceSubjectsOf(feed: Pick<FeedNames, 'id'>): ServiceSubjects {
  return Object.freeze({ rest: `svc.${feed.id}.rest`, book: `svc.${feed.id}.book` });
}
