/**
 * Names shared by ingest nodes and gateways over NATS: the subject of each stream, the JetStream
 * history stream, the KV buckets, and the headers every published event carries.
 */

/** Every stream is published on `md.binance.<stream>`; Binance stream names never contain `.`, `*` or `>`. */
export const SUBJECT_PREFIX = 'md.binance.';
export const SUBJECT_WILDCARD = `${SUBJECT_PREFIX}>`;
/** The JetStream stream keeping recent events of every subject, for replay. */
export const HISTORY_STREAM = 'WS_MANAGER_MD';
/** KV bucket of shard leases: key `shard.<n>`, value the owner's node id. */
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
