/**
 * Names shared by ingest nodes and gateways over NATS: the subject of each stream, the JetStream
 * history stream, the KV buckets, and the headers every published event carries. Each venue market the
 * cluster carries is a feed with names of its own (`FeedNames`); Binance's are the names of a cluster
 * that carried Binance alone, so such a cluster keeps running unchanged beside nodes that carry more.
 */

/** Every Binance stream is published on `md.binance.<stream>`; Binance stream names never contain `.`, `*` or `>`. */
export const SUBJECT_PREFIX = 'md.binance.';
export const SUBJECT_WILDCARD = `${SUBJECT_PREFIX}>`;
/** The JetStream stream keeping recent events of every subject of every feed, for replay. */
export const HISTORY_STREAM = 'WS_MANAGER_MD';
/** KV bucket of shard leases: key `shard.<n>` (see `FeedNames.leaseKey`), value the owner's node id. */
export const LEASE_BUCKET = 'ws_manager_leases';
/** KV bucket of live ingest nodes: key the node id, refreshed each lease tick. */
export const NODE_BUCKET = 'ws_manager_nodes';
/** KV bucket of demand: key `<encoded stream>.<gateway id>`, refreshed while clients want the stream. */
export const DEMAND_BUCKET = 'ws_manager_demand';

export const HEADERS = {
  /** Per-stream sequence number, continued across owners (the new owner reads the last one from history). */
  seq: 'Ws-Seq',
  /** The owner's lease epoch (the lease's KV revision): a higher epoch supersedes a lower one. */
  epoch: 'Ws-Epoch',
  /** Node id of the publishing ingest node. */
  node: 'Ws-Node',
} as const;

/** The subject of a Binance stream. */
export function subjectOf(stream: string): string {
  return SUBJECT_PREFIX + stream;
}

export function streamOfSubject(subject: string): string | undefined {
  return subject.startsWith(SUBJECT_PREFIX) ? subject.slice(SUBJECT_PREFIX.length) : undefined;
}

/**
 * KV keys allow only `[-/_=.a-zA-Z0-9]`; stream names also hold `@` and `!`. Every other character
 * becomes `=` and two hex digits, so the mapping is reversible.
 */
export function kvTokenOf(stream: string): string {
  return stream.replace(/[^-_a-zA-Z0-9]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function streamOfKvToken(token: string): string {
  return token.replace(/=([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** Node and gateway ids end up in KV keys: the same alphabet, without `.` (the key separator). */
export const NODE_ID_PATTERN = /^[-_a-zA-Z0-9]{1,64}$/;

/**
 * REST calls forwarded to the exchange for gateways' clients: requests from gateways, answered by one
 * ingest node of the queue group through its WSManager's REST client.
 */
export const REST_SUBJECT = 'svc.binance.rest';
/** Order-book snapshots for gateways' books, answered from a book the ingest node keeps. */
export const BOOK_SUBJECT = 'svc.binance.book';
/** The queue group of the ingest nodes on the two subjects above: one node answers each request. */
export const REST_QUEUE = 'ws-manager-ingest';
/** Headers of the first message of an answer on those subjects (see rest-wire.ts). */
export const REST_HEADERS = {
  /** What came of the request: `ok`, or why there is no answer. */
  outcome: 'Ws-Outcome',
  /** The exchange's HTTP status (`ok` only). */
  status: 'Ws-Status',
  /** The exchange's Content-Type (`ok` only). */
  contentType: 'Ws-Content-Type',
  /** When a refused request could go out again, in ms. */
  retryAfterMs: 'Ws-Retry-After-Ms',
  /** The weight per minute the answering node lets clients' calls use. */
  clientWeight: 'Ws-Client-Weight',
} as const;

/**
 * The names one feed (a venue's market, read through one Exchange adapter) uses over NATS. A feed has
 * shard leases of its own, so an ingest node carries only the feeds it is configured for, and the
 * nodes of one feed share its shards among themselves.
 *
 * - subjects `md.<feed>.<stream>`: Bybit topics keep their `.` (`md.bybit.spot.publicTrade.BTCUSDT`),
 *   which NATS reads as more tokens; OKX channels keep their `:` (`md.okx.trades:BTC-USDT`); every
 *   subject of a venue still matches `md.<venue>.>`, and the venues' codecs accept no space, `*` or `>`
 *   in a stream name, so no name becomes a wildcard;
 * - lease keys `shard.<n>` (Binance) and `shard.<feed>.<n>`, in the one lease bucket;
 * - demand keys `<stream token>.<owner>` (Binance) and `<feed>.<stream token>.<owner>`, in the one
 *   demand bucket (a stream token holds no `.`, so the two shapes never meet);
 * - the feeds an ingest node carries are listed in its node entry (an entry listing none is Binance's).
 */
export interface FeedNames {
  /** `binance`, `bybit.spot`, `bybit.linear`, `okx`. */
  readonly id: string;
  /** `md.<feed>.`: followed by the stream name. */
  readonly subjectPrefix: string;
  subjectOf(stream: string): string;
  streamOfSubject(subject: string): string | undefined;
  leaseKey(shard: number): string;
  /** The KV key of `owner`'s demand for `stream`. */
  demandKey(stream: string, owner: string): string;
  /** The key filter a demand watch of this feed uses. */
  readonly demandFilter: string;
  /** The stream and owner of a demand key of this feed, or undefined for another feed's key. */
  demandOf(key: string): { readonly stream: string; readonly owner: string } | undefined;
}

/** Feed ids are KV key and subject tokens: lowercase words joined by `.`. */
const FEED_ID_PATTERN = /^[a-z0-9]+(\.[a-z0-9]+)*$/;

export function feedNames(id: string): FeedNames {
  if (!FEED_ID_PATTERN.test(id)) throw new Error(`Not a feed id: ${JSON.stringify(id)}`);
  const subjectPrefix = `md.${id}.`;
  // Binance's names are those of a Binance-only cluster: unprefixed lease and demand keys.
  const keyPrefix = id === BINANCE_FEED_ID ? '' : `${id}.`;
  const leasePrefix = id === BINANCE_FEED_ID ? 'shard.' : `shard.${id}.`;
  return Object.freeze({
    id,
    subjectPrefix,
    subjectOf: (stream: string) => subjectPrefix + stream,
    streamOfSubject: (subject: string) =>
      subject.startsWith(subjectPrefix) ? subject.slice(subjectPrefix.length) : undefined,
    leaseKey: (shard: number) => `${leasePrefix}${shard}`,
    demandKey: (stream: string, owner: string) => `${keyPrefix}${kvTokenOf(stream)}.${owner}`,
    demandFilter: keyPrefix === '' ? '>' : `${keyPrefix}>`,
    demandOf: (key: string) => {
      if (!key.startsWith(keyPrefix)) return undefined;
      const rest = key.slice(keyPrefix.length);
      const dot = rest.indexOf('.');
      // Exactly `<token>.<owner>`: a Binance watch also sees other feeds' longer keys.
      if (dot <= 0 || dot === rest.length - 1 || rest.indexOf('.', dot + 1) >= 0) return undefined;
      return { stream: streamOfKvToken(rest.slice(0, dot)), owner: rest.slice(dot + 1) };
    },
  });
}

export const BINANCE_FEED_ID = 'binance';
export const BINANCE_FEED: FeedNames = feedNames(BINANCE_FEED_ID);

export const OKX_FEED_ID = 'okx';

/**
 * The feed carrying `venue`'s `market` as a gateway serves it. Bybit's categories reuse one topic
 * namespace (`publicTrade.BTCUSDT` on spot and on linear) through two adapters, so each is a feed.
 * OKX is one adapter whose stream names already tell everything apart (the instrument id names the
 * market, the channel its endpoint), with one connection budget and one REST budget per IP: one feed,
 * `okx`, whatever endpoint a stream is read on.
 */
export function feedIdOf(venue: string, market: string): string {
  return venue === OKX_FEED_ID ? OKX_FEED_ID : `${venue}.${market}`;
}

/** The venue of a feed id: its first token (`bybit.spot` → `bybit`). */
export function venueOfFeed(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

/**
 * The subjects the history stream keeps: every venue the cluster can carry, whatever the nodes
 * running now carry, so that no node rewrites the history's subjects back and forth.
 */
export const HISTORY_SUBJECTS: readonly string[] = [SUBJECT_WILDCARD, 'md.bybit.>', 'md.okx.>'];
