/** The gateway's configuration, resolved once at start from environment variables and frozen. */

/** pino levels accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface GatewayConfig {
  /** `HOST`: interface the HTTP/WebSocket server binds. */
  readonly host: string;
  /** `PORT`: TCP port; 0 picks a free one. */
  readonly port: number;
  /** `USE_NEW_WS_MANAGER`: true selects WSManager, false the legacy baseline. */
  readonly useNewWsManager: boolean;
  /** `UPSTREAM_URL`: exchange base URL; undefined starts the embedded simulator. */
  readonly upstreamUrl: string | undefined;
  /** `VENUES`: the venues whose protocols the gateway serves; Binance always among them. */
  readonly venues: readonly Venue[];
  /** `BYBIT_URL`: Bybit's WebSocket base; undefined: the embedded simulator's `/bybit`. */
  readonly bybitUrl: string | undefined;
  /** `OKX_URL`: OKX's WebSocket base; undefined: the embedded simulator's `/okx`. */
  readonly okxUrl: string | undefined;
  /** `SIMULATOR_PORT`: port of the embedded simulator; 0 picks a free one. */
  readonly simulatorPort: number;
  /** `SIMULATOR_SYMBOLS`: symbols the embedded simulator serves. */
  readonly simulatorSymbols: readonly string[];
  /** `SIMULATOR_RATE`: events per second per stream of the embedded simulator, or 'max'. */
  readonly simulatorRate: number | 'max';
  /** `METRICS_TOKEN`: when set, GET /api/ws/metrics requires `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /** `ADMIN_TOKEN`: enables the admin API, which then requires `Authorization: Bearer <token>`. */
  readonly adminToken: string | undefined;
  /** `TLS_CERT_FILE`: PEM certificate; with `TLS_KEY_FILE` the server speaks HTTPS/WSS. */
  readonly tlsCertFile: string | undefined;
  /** `TLS_KEY_FILE`: PEM private key matching `TLS_CERT_FILE`. */
  readonly tlsKeyFile: string | undefined;
  /** `LOG_LEVEL`: pino level. */
  readonly logLevel: LogLevel;
  /** `LOG_FILE`: also append JSON log lines to this file. */
  readonly logFile: string | undefined;
  /** `HEALTH_GRACE_SECONDS`: upstream down longer than this makes the process unhealthy. */
  readonly healthGraceSeconds: number;
  /** `SHUTDOWN_TIMEOUT_SECONDS`: deadline for draining on SIGTERM/SIGINT before the process exits. */
  readonly shutdownTimeoutSeconds: number;
  /** `RATE_LIMIT_PER_MINUTE`: requests per client address per minute on the metrics (GET) and admin routes. */
  readonly rateLimitPerMinute: number;
  /** `ALLOWED_ORIGINS`: WebSocket upgrades carrying an Origin outside this list are refused; undefined allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** `MAX_CLIENTS`: downstream WebSocket clients at once; more are refused with HTTP 503. */
  readonly maxClients: number;
  /** `CLIENT_MAX_STREAMS`: streams one downstream connection may hold. */
  readonly clientMaxStreams: number;
  /** `CLIENT_MAX_MESSAGES_PER_SECOND`: incoming frames (control, ping, pong) per second per client. */
  readonly clientMaxMessagesPerSecond: number;
  /** `CLIENT_MAX_PAYLOAD_BYTES`: largest incoming frame from a client; larger closes with 1009. */
  readonly clientMaxPayloadBytes: number;
  /** `CLIENT_SEND_QUEUE_BYTES`: bytes waiting to be written to one client before it is closed as slow. */
  readonly clientSendQueueBytes: number;
  /** `SEND_QUEUE_TOTAL_BYTES`: bytes waiting for all clients together; each client gets an equal share. */
  readonly sendQueueTotalBytes: number;
  /** `CLIENT_CONNECT_ATTEMPTS_PER_IP`: WebSocket upgrade attempts per remote address per 5 minutes. */
  readonly clientConnectAttemptsPerIp: number;
  /** `MAX_UPSTREAM_STREAMS`: upstream subscriptions all clients together may cause (see UpstreamStreamCap). */
  readonly maxUpstreamStreams: number;
  /** `LEGACY_RECONNECT_DELAY_MS`: fixed reconnect delay of the legacy implementation. */
  readonly legacyReconnectDelayMs: number;
  /** `UPSTREAM_STALL_TIMEOUT_SECONDS`: WSManager's last-resort stall timeout (`stallTimeoutMs`). */
  readonly upstreamStallTimeoutSeconds: number;
  /** `UPSTREAM_GAP_RECOVERY`: WSManager's `recovery` for the streams forwarded downstream. */
  readonly upstreamGapRecovery: GapRecovery;
  /** `NATS_URL`: set, the gateway takes its streams from NATS (clustered mode) and `ingest` publishes there. */
  readonly natsUrl: string | undefined;
  /** `NATS_CREDS_FILE`: NATS credentials file (JWT and nkey seed). */
  readonly natsCredsFile: string | undefined;
  /** `NATS_TLS_CA_FILE`: PEM CA of the NATS servers' certificates; set, TLS is required. */
  readonly natsTlsCaFile: string | undefined;
  /** `NODE_ID`: this process's id in the cluster; undefined: `<hostname>-<pid>`. */
  readonly nodeId: string | undefined;
  /** `SHARD_COUNT`: shards streams hash into; the same on every process of a cluster. */
  readonly shardCount: number;
  /** `HISTORY_MAX_MESSAGES`: events the JetStream history keeps, all streams together. */
  readonly historyMaxMessages: number;
  /** `HISTORY_MAX_AGE_SECONDS`: how long the JetStream history keeps an event. */
  readonly historyMaxAgeSeconds: number;
  /** `LEASE_TTL_SECONDS`: a shard whose owner stops renewing its lease is taken over after this. */
  readonly leaseTtlSeconds: number;
  /** `DEMAND_TTL_SECONDS`: a gateway's demand entry counts this long after its last refresh. */
  readonly demandTtlSeconds: number;
  /** `JETSTREAM_REPLICAS`: replicas of the history stream and the KV buckets. */
  readonly jetstreamReplicas: number;
}

/** Values of `VENUES`. */
export const VENUES = ['binance', 'bybit', 'okx'] as const;
export type Venue = (typeof VENUES)[number];

/** Values of `UPSTREAM_GAP_RECOVERY`. */
export const GAP_RECOVERIES = ['backfill', 'report'] as const;
export type GapRecovery = (typeof GAP_RECOVERIES)[number];
