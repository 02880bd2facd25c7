/**
 * Every environment variable the gateway reads: its schema, default and meaning, in one table.
 * The loader, the `--help` text and docs/configuration.md (kept in sync by a test) all derive from it.
 */
import { z } from 'zod';
import { binanceDialect } from '../exchange/binance/dialect.js';
import { isStreamSymbol } from '../exchange/binance/streams.js';
import { GAP_RECOVERIES, type GatewayConfig, LOG_LEVELS, VENUES } from './gateway-config.js';
import { ImplementationDefault } from './implementation-default.js';
import { normalizeOrigin } from './origin.js';

// The venue's limits on one client are the defaults and bounds of the gateway's own clients.
const {
  streamsPerConnection: MAX_STREAMS_PER_CONNECTION,
  incomingMessagesPerSecond: MAX_INCOMING_MESSAGES_PER_SECOND,
  connectionAttempts: { limit: MAX_CONNECTION_ATTEMPTS },
} = binanceDialect.clientLimits;

/** One environment variable: how to read it from a string and how to check a typed value. */
export interface Variable<K extends keyof GatewayConfig = keyof GatewayConfig> {
  readonly env: string;
  readonly key: K;
  /** The default as a typed value (undefined means "unset"), or one per implementation. */
  readonly default: GatewayConfig[K] | ImplementationDefault<GatewayConfig[K]>;
  /** What a valid value looks like, as shown in error messages and `--help`. */
  readonly expected: string;
  readonly description: string;
  /** Parses the raw environment string. */
  readonly fromEnv: z.ZodType<GatewayConfig[K], string>;
  /** Checks a typed value (for `startGateway({...})` overrides). */
  readonly value: z.ZodType<GatewayConfig[K]>;
  /** A credential: error messages say how long the value is instead of showing it. */
  readonly secret?: boolean;
}

function variable<K extends keyof GatewayConfig>(v: Variable<K>): Variable<K> {
  return v;
}

const integer = (min: number, max: number) => z.number().int().min(min).max(max);
const integerFromEnv = (schema: z.ZodType<number, number>) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform((s) => Number(s))
    .pipe(schema);
const positiveNumberFromEnv = (schema: z.ZodType<number, number>) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform((s) => Number(s))
    .pipe(schema);
const nonEmpty = z.string().min(1);
const optionalString = z.string().min(1).optional();
const wsUrl = z
  .string()
  .regex(/^wss?:\/\/[^\s/]+(\/[^\s]*)?$/)
  .refine((s) => URL.canParse(s));
const symbolList = z.array(z.string().refine(isStreamSymbol)).min(1);
const origin = z.string().transform((s, ctx) => {
  const normalized = normalizeOrigin(s);
  if (normalized === undefined) ctx.addIssue('not an origin');
  return normalized ?? z.NEVER;
});
const originList = z.array(origin).min(1);
const venueList = z
  .array(z.enum(VENUES))
  .min(1)
  .refine((list) => new Set(list).size === list.length, 'a venue listed twice')
  .refine((list) => list.includes('binance'), 'binance missing');
// Visible ASCII only: a space cannot survive the `Authorization: Bearer` header, and Node reads header
// bytes as Latin-1, so a token with either could never match.
const token = z.string().regex(/^[\x21-\x7e]+$/);
const TOKEN_EXPECTED = 'a non-empty token of visible ASCII characters, without whitespace';
const natsUrls = z
  .string()
  .regex(/^(nats|tls):\/\/[^\s,/]+(,\s*(nats|tls):\/\/[^\s,/]+)*$/)
  .refine((s) => s.split(',').every((u) => URL.canParse(u.trim())));
const nodeId = z.string().regex(/^[-_a-zA-Z0-9]{1,64}$/);
const splitList = (s: string) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);

export const VARIABLES = [
  variable({
    env: 'HOST',
    key: 'host',
    default: '127.0.0.1',
    expected: 'a host name or IP address',
    description: 'Interface the HTTP and WebSocket server binds.',
    fromEnv: nonEmpty.regex(/^[A-Za-z0-9.:-]+$/),
    value: nonEmpty,
  }),
  variable({
    env: 'PORT',
    key: 'port',
    default: 3000,
    expected: 'an integer from 0 to 65535 (0 = a free port)',
    description: 'TCP port of the HTTP and WebSocket server.',
    fromEnv: integerFromEnv(integer(0, 65535)),
    value: integer(0, 65535),
  }),
  variable({
    env: 'USE_NEW_WS_MANAGER',
    key: 'useNewWsManager',
    default: false,
    expected: '"true" or "false"',
    description:
      'true serves streams through WSManager (shared connections); false through the legacy baseline.',
    fromEnv: z.enum(['true', 'false']).transform((s) => s === 'true'),
    value: z.boolean(),
  }),
  variable({
    env: 'UPSTREAM_URL',
    key: 'upstreamUrl',
    default: undefined,
    expected: 'a ws:// or wss:// URL such as wss://stream.binance.com:9443',
    description: 'Exchange base URL. Unset: an embedded simulator is started on 127.0.0.1:SIMULATOR_PORT.',
    fromEnv: wsUrl.transform((s) => s.replace(/\/+$/, '')),
    value: wsUrl.optional(),
  }),
  variable({
    env: 'VENUES',
    key: 'venues',
    default: ['binance'],
    expected: `a comma-separated list of ${VENUES.join(', ')}, binance included, such as binance,bybit,okx`,
    description:
      'Venues served, each under its own paths (Binance at the root, Bybit under /bybit, OKX under /okx). bybit and okx need USE_NEW_WS_MANAGER=true, except in clustered mode (NATS_URL), where an ingest node carries the venues listed and a gateway serves them from NATS.',
    fromEnv: z.string().transform(splitList).pipe(venueList),
    value: venueList,
  }),
  variable({
    env: 'BYBIT_URL',
    key: 'bybitUrl',
    default: undefined,
    expected: 'a ws:// or wss:// URL such as wss://stream.bybit.com',
    description:
      "Bybit's WebSocket base when VENUES includes bybit (its REST base follows: wss://stream.bybit.com gives https://api.bybit.com). Unset: the embedded simulator's /bybit, so it must be set with UPSTREAM_URL.",
    fromEnv: wsUrl.transform((s) => s.replace(/\/+$/, '')),
    value: wsUrl.optional(),
  }),
  variable({
    env: 'OKX_URL',
    key: 'okxUrl',
    default: undefined,
    expected: 'a ws:// or wss:// URL such as wss://ws.okx.com:8443',
    description:
      "OKX's WebSocket base when VENUES includes okx (its REST base follows: wss://ws.okx.com:8443 gives https://www.okx.com). Unset: the embedded simulator's /okx, so it must be set with UPSTREAM_URL.",
    fromEnv: wsUrl.transform((s) => s.replace(/\/+$/, '')),
    value: wsUrl.optional(),
  }),
  variable({
    env: 'SIMULATOR_PORT',
    key: 'simulatorPort',
    default: 0,
    expected: 'an integer from 0 to 65535 (0 = a free port)',
    description: 'Port of the embedded simulator (only when UPSTREAM_URL is unset).',
    fromEnv: integerFromEnv(integer(0, 65535)),
    value: integer(0, 65535),
  }),
  variable({
    env: 'SIMULATOR_SYMBOLS',
    key: 'simulatorSymbols',
    default: ['btcusdt', 'ethusdt', 'bnbusdt', 'solusdt', 'xrpusdt'],
    expected: 'a comma-separated list of lowercase symbols such as btcusdt,ethusdt',
    description: 'Symbols the embedded simulator serves.',
    fromEnv: z.string().transform(splitList).pipe(symbolList),
    value: symbolList,
  }),
  variable({
    env: 'SIMULATOR_RATE',
    key: 'simulatorRate',
    default: 10,
    expected: 'a number of events per second from 0.1 to 100000, or "max"',
    description: 'Events per second per stream of the embedded simulator ("max": as fast as sockets drain).',
    fromEnv: z.union([z.literal('max'), positiveNumberFromEnv(z.number().min(0.1).max(100_000))]),
    value: z.union([z.literal('max'), z.number().min(0.1).max(100_000)]),
  }),
  variable({
    env: 'METRICS_TOKEN',
    key: 'metricsToken',
    default: undefined,
    expected: TOKEN_EXPECTED,
    secret: true,
    description:
      'When set, GET /api/ws/metrics requires "Authorization: Bearer <token>" (HEAD and probes stay open).',
    fromEnv: token,
    value: token.optional(),
  }),
  variable({
    env: 'ADMIN_TOKEN',
    key: 'adminToken',
    default: undefined,
    expected: TOKEN_EXPECTED,
    secret: true,
    description:
      'Enables the admin API under /api/ws/admin/, which then requires "Authorization: Bearer <token>".',
    fromEnv: token,
    value: token.optional(),
  }),
  variable({
    env: 'TLS_CERT_FILE',
    key: 'tlsCertFile',
    default: undefined,
    expected: 'a path to a PEM certificate (set together with TLS_KEY_FILE)',
    description: 'PEM certificate; with TLS_KEY_FILE the server speaks HTTPS and WSS.',
    fromEnv: nonEmpty,
    value: optionalString,
  }),
  variable({
    env: 'TLS_KEY_FILE',
    key: 'tlsKeyFile',
    default: undefined,
    expected: 'a path to a PEM private key (set together with TLS_CERT_FILE)',
    description: 'PEM private key matching TLS_CERT_FILE.',
    fromEnv: nonEmpty,
    value: optionalString,
  }),
  variable({
    env: 'LOG_LEVEL',
    key: 'logLevel',
    default: 'info',
    expected: `one of ${LOG_LEVELS.join(', ')}`,
    description: 'pino log level.',
    fromEnv: z.enum(LOG_LEVELS),
    value: z.enum(LOG_LEVELS),
  }),
  variable({
    env: 'LOG_FILE',
    key: 'logFile',
    default: undefined,
    expected: 'a file path that can be opened for appending',
    description:
      'Also append the JSON log lines to this file (stdout always gets them). Opened at start (exit 2 if it cannot be); a failing write never blocks: the lines are dropped and counted in ws_gateway_log_write_errors_total.',
    fromEnv: nonEmpty,
    value: optionalString,
  }),
  variable({
    env: 'HEALTH_GRACE_SECONDS',
    key: 'healthGraceSeconds',
    default: 30,
    expected: 'an integer number of seconds from 1 to 3600',
    description: 'Upstream down for longer than this makes HEAD /api/ws/metrics and /readyz answer 503.',
    fromEnv: integerFromEnv(integer(1, 3600)),
    value: integer(1, 3600),
  }),
  variable({
    env: 'SHUTDOWN_TIMEOUT_SECONDS',
    key: 'shutdownTimeoutSeconds',
    default: 10,
    expected: 'an integer number of seconds from 1 to 600',
    description:
      'Drain deadline after SIGTERM/SIGINT; the process exits by then. Keep terminationGracePeriodSeconds above it.',
    fromEnv: integerFromEnv(integer(1, 600)),
    value: integer(1, 600),
  }),
  variable({
    env: 'RATE_LIMIT_PER_MINUTE',
    key: 'rateLimitPerMinute',
    default: 120,
    expected: 'an integer from 1 to 100000',
    description:
      'Requests per minute per client address on GET /api/ws/metrics and the admin routes (429 beyond).',
    fromEnv: integerFromEnv(integer(1, 100_000)),
    value: integer(1, 100_000),
  }),
  variable({
    env: 'ALLOWED_ORIGINS',
    key: 'allowedOrigins',
    default: undefined,
    expected:
      'a comma-separated list of http(s) origins (scheme://host[:port], no path, query or userinfo) such as https://app.example.com,http://localhost:8080',
    description:
      'WebSocket upgrades whose Origin header is not listed are refused (403); compared as browsers send origins (scheme and host lowercased, default port dropped). Unset: any origin.',
    fromEnv: z.string().transform(splitList).pipe(originList),
    value: originList.optional(),
  }),
  variable({
    env: 'MAX_CLIENTS',
    key: 'maxClients',
    default: 10_000,
    expected: 'an integer from 1 to 1000000',
    description: 'Downstream WebSocket clients at once; further upgrades are refused with 503.',
    fromEnv: integerFromEnv(integer(1, 1_000_000)),
    value: integer(1, 1_000_000),
  }),
  variable({
    env: 'CLIENT_MAX_STREAMS',
    key: 'clientMaxStreams',
    default: MAX_STREAMS_PER_CONNECTION,
    expected: `an integer from 1 to ${MAX_STREAMS_PER_CONNECTION}`,
    description: 'Streams one downstream connection may hold (Binance: 1024 per connection).',
    fromEnv: integerFromEnv(integer(1, MAX_STREAMS_PER_CONNECTION)),
    value: integer(1, MAX_STREAMS_PER_CONNECTION),
  }),
  variable({
    env: 'CLIENT_MAX_MESSAGES_PER_SECOND',
    key: 'clientMaxMessagesPerSecond',
    default: MAX_INCOMING_MESSAGES_PER_SECOND,
    expected: 'an integer from 1 to 1000',
    description:
      'Incoming frames (control messages, pings, pongs) per rolling second per client; beyond closes with 1008 (Binance: 5).',
    fromEnv: integerFromEnv(integer(1, 1000)),
    value: integer(1, 1000),
  }),
  variable({
    env: 'CLIENT_MAX_PAYLOAD_BYTES',
    key: 'clientMaxPayloadBytes',
    default: 65_536,
    expected: 'an integer number of bytes from 1024 to 16777216',
    description: 'Largest frame a client may send; larger closes the connection with 1009.',
    fromEnv: integerFromEnv(integer(1024, 16_777_216)),
    value: integer(1024, 16_777_216),
  }),
  variable({
    env: 'CLIENT_SEND_QUEUE_BYTES',
    key: 'clientSendQueueBytes',
    // 1 MiB holds seconds of the busiest Binance streams (depth20@100ms is ~10 KiB/s) for a reader that stalls.
    default: 1_048_576,
    expected: 'an integer number of bytes from 1024 to 1073741824',
    description:
      'Bytes queued for one client before it is closed with 4000 "slow consumer" (lowered to its share of SEND_QUEUE_TOTAL_BYTES when that is smaller).',
    fromEnv: integerFromEnv(integer(1024, 1_073_741_824)),
    value: integer(1024, 1_073_741_824),
  }),
  variable({
    env: 'SEND_QUEUE_TOTAL_BYTES',
    key: 'sendQueueTotalBytes',
    default: 268_435_456,
    expected: 'an integer number of bytes from 1048576 to 68719476736',
    description:
      'Bytes queued for all clients together: each client may queue at most this divided by the clients connected, so slow clients cannot exhaust memory.',
    fromEnv: integerFromEnv(integer(1_048_576, 68_719_476_736)),
    value: integer(1_048_576, 68_719_476_736),
  }),
  variable({
    env: 'CLIENT_CONNECT_ATTEMPTS_PER_IP',
    key: 'clientConnectAttemptsPerIp',
    default: MAX_CONNECTION_ATTEMPTS,
    expected: 'an integer from 1 to 1000000',
    description: `WebSocket upgrade attempts per client address per 5 minutes; beyond answers 429 (Binance: ${MAX_CONNECTION_ATTEMPTS}).`,
    fromEnv: integerFromEnv(integer(1, 1_000_000)),
    value: integer(1, 1_000_000),
  }),
  variable({
    env: 'MAX_UPSTREAM_STREAMS',
    key: 'maxUpstreamStreams',
    // Legacy: one socket per subscription, so Binance's attempt budget ("WebSocket Limits": 300 connection
    // attempts per 5 minutes per IP) bounds it. WSManager packs distinct streams 1024 to a connection
    // (same section), so ten full connections cost ten attempts.
    default: new ImplementationDefault(MAX_CONNECTION_ATTEMPTS, 10 * MAX_STREAMS_PER_CONNECTION),
    expected: 'an integer from 1 to 1000000',
    description: `Upstream subscriptions all clients together may cause: client subscriptions (one socket each) under the legacy baseline, whose default is Binance's ${MAX_CONNECTION_ATTEMPTS} connection attempts per 5 minutes; distinct streams under WSManager, which packs ${MAX_STREAMS_PER_CONNECTION} to a connection, whose default is ten full connections; the order books kept for GET /api/v3/depth count as well. Beyond, SUBSCRIBE answers an error, upgrades 400 and a depth request for a new symbol 503 (-1008).`,
    fromEnv: integerFromEnv(integer(1, 1_000_000)),
    value: integer(1, 1_000_000),
  }),
  variable({
    env: 'LEGACY_RECONNECT_DELAY_MS',
    key: 'legacyReconnectDelayMs',
    default: 5000,
    expected: 'an integer number of milliseconds from 1 to 600000',
    description: 'Fixed reconnect delay of the legacy implementation (USE_NEW_WS_MANAGER=false).',
    fromEnv: integerFromEnv(integer(1, 600_000)),
    value: integer(1, 600_000),
  }),
  variable({
    env: 'UPSTREAM_STALL_TIMEOUT_SECONDS',
    key: 'upstreamStallTimeoutSeconds',
    // Binance pings every 20 s ("WebSocket Streams"): 50 s is two missed pings and a margin.
    default: 50,
    expected: 'an integer number of seconds from 1 to 3600',
    description:
      'WSManager replaces an upstream connection that received nothing (no event, no ping) for this long: the last resort for quiet connections; a busy one that falls silent is probed with a ping and replaced within seconds. The legacy baseline keeps a silent connection (no replacement) but turns unhealthy (/readyz and HEAD /api/ws/metrics 503) once a served stream has been silent this long.',
    fromEnv: integerFromEnv(integer(1, 3600)),
    value: integer(1, 3600),
  }),
  variable({
    env: 'UPSTREAM_GAP_RECOVERY',
    key: 'upstreamGapRecovery',
    default: 'backfill',
    expected: `one of ${GAP_RECOVERIES.join(', ')}`,
    description:
      "WSManager only: backfill refills a gap in a forwarded aggTrade, trade or kline stream (after an upstream drop or stall) from the exchange's REST history, derived from UPSTREAM_URL (api.binance.com for stream.binance.com, the simulator itself), so clients see contiguous ids and every candle's close; where no history is known or it cannot reach the hole, the events are missing as with report.",
    fromEnv: z.enum(GAP_RECOVERIES),
    value: z.enum(GAP_RECOVERIES),
  }),
  variable({
    env: 'NATS_URL',
    key: 'natsUrl',
    default: undefined,
    expected: 'a nats:// or tls:// URL such as nats://127.0.0.1:4222, or a comma-separated list of them',
    description:
      'Clustered mode (docs/scale-out.md): the gateway takes its streams from NATS instead of opening upstream sockets, and `ws-manager ingest` publishes to it. Unset: one process, as before.',
    fromEnv: natsUrls,
    value: natsUrls.optional(),
  }),
  variable({
    env: 'NATS_CREDS_FILE',
    key: 'natsCredsFile',
    default: undefined,
    expected: 'a path to a NATS credentials file',
    description:
      'Credentials for the NATS connection: a credentials file (user JWT and nkey seed, for servers in operator mode), or a file holding only a user nkey seed (SU...), for servers that list nkey users with their permissions (docs/scale-out.md).',
    fromEnv: nonEmpty,
    value: optionalString,
  }),
  variable({
    env: 'NATS_TLS_CA_FILE',
    key: 'natsTlsCaFile',
    default: undefined,
    expected: 'a path to a PEM CA certificate',
    description: "Requires TLS to NATS and verifies the servers' certificates against this CA.",
    fromEnv: nonEmpty,
    value: optionalString,
  }),
  variable({
    env: 'NODE_ID',
    key: 'nodeId',
    default: undefined,
    expected: '1 to 64 letters, digits, "-" or "_"',
    description:
      'Id of this process in the cluster (leases, demand, message headers). Ingest nodes: unique; a node started with the id of a running one is refused (exit 2), one restarted after a crash waits up to LEASE_TTL_SECONDS for its old entry to expire. Gateways: their demand entries add a per-process instance, so a shared id does no harm. Unset: <hostname>-<pid>.',
    fromEnv: nodeId,
    value: nodeId.optional(),
  }),
  variable({
    env: 'SHARD_COUNT',
    key: 'shardCount',
    default: 32,
    expected: 'an integer from 1 to 4096',
    description:
      'Shards the streams hash into, each leased by one ingest node; every process of a cluster must use the same value.',
    fromEnv: integerFromEnv(integer(1, 4096)),
    value: integer(1, 4096),
  }),
  variable({
    env: 'HISTORY_MAX_MESSAGES',
    key: 'historyMaxMessages',
    default: 1_000_000,
    expected: 'an integer from 1000 to 1000000000',
    description: 'Events the JetStream history (memory storage) keeps for replay, all streams together.',
    fromEnv: integerFromEnv(integer(1000, 1_000_000_000)),
    value: integer(1000, 1_000_000_000),
  }),
  variable({
    env: 'HISTORY_MAX_AGE_SECONDS',
    key: 'historyMaxAgeSeconds',
    default: 120,
    expected: 'an integer number of seconds from 1 to 86400',
    description:
      'How long the JetStream history keeps an event; a gateway can replay gaps no older than this.',
    fromEnv: integerFromEnv(integer(1, 86_400)),
    value: integer(1, 86_400),
  }),
  variable({
    env: 'LEASE_TTL_SECONDS',
    key: 'leaseTtlSeconds',
    default: 6,
    expected: 'an integer number of seconds from 2 to 300',
    description:
      "A shard's lease lives this long without renewal (renewed every third of it): the longest a dead ingest node's shards stay unserved.",
    fromEnv: integerFromEnv(integer(2, 300)),
    value: integer(2, 300),
  }),
  variable({
    env: 'DEMAND_TTL_SECONDS',
    key: 'demandTtlSeconds',
    default: 15,
    expected: 'an integer number of seconds from 3 to 3600',
    description:
      "A gateway's demand for a stream lives this long without refresh (refreshed every third of it): how long a crashed gateway's streams stay subscribed upstream.",
    fromEnv: integerFromEnv(integer(3, 3600)),
    value: integer(3, 3600),
  }),
  variable({
    env: 'JETSTREAM_REPLICAS',
    key: 'jetstreamReplicas',
    default: 1,
    expected: 'an integer from 1 to 5 (at most the NATS cluster size)',
    description:
      'Replicas of the JetStream history and the lease, node and demand buckets; 3 on a 3-node NATS cluster survives the loss of one server.',
    fromEnv: integerFromEnv(integer(1, 5)),
    value: integer(1, 5),
  }),
] as const satisfies readonly Variable[];
