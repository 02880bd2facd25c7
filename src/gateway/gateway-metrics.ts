/**
 * The gateway's own metrics (`ws_gateway_*`), registered in the same registry as the upstream metrics.
 * Label values come from fixed sets, so cardinality stays bounded whatever clients send.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { logWriteErrors } from '../core/log.js';
import { httpRequestsCounter } from '../http/request-metrics.js';
import { talliedCounter } from '../metrics/tallied-counter.js';

/** Why an upgrade was refused (`ws_gateway_rejected_connections_total{reason}`). */
export const REJECT_REASONS = [
  'draining',
  'max_clients',
  'origin',
  'path',
  'invalid_stream',
  'too_many_streams',
  'upstream_streams',
  'attempt_rate',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why the gateway closed a client (`ws_gateway_client_disconnects_total{reason}`). */
export const DISCONNECT_REASONS = [
  'slow_consumer',
  'message_rate',
  'payload_too_large',
  'pong_timeout',
  'upstream_failed',
  'shutdown',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

/** What the gateway adds to the JSON metrics document, under `gateway`. */
export interface GatewayStats {
  readonly clients: number;
  /** Highest `clients` since start. */
  readonly clientsHwm: number;
  readonly clientSubscriptions: number;
  readonly messagesSent: number;
  readonly slowClientDisconnects: number;
  readonly draining: boolean;
}

/**
 * Hot-path tallies: plain numbers bumped once per frame sent, published into the counters when the
 * registry is collected, so fan-out to many clients pays no prom-client bookkeeping per frame.
 */
export interface SendTally {
  messagesSent: number;
  bytesSent: number;
  droppedMessages: number;
}

export class GatewayMetrics {
  readonly tally: SendTally = { messagesSent: 0, bytesSent: 0, droppedMessages: 0 };
  readonly clients: Gauge;
  readonly clientSubscriptions: Gauge;
  readonly slowClientDisconnects: Counter;
  readonly clientDisconnects: Counter<'reason'>;
  readonly rejectedConnections: Counter<'reason'>;
  readonly controlMessages: Counter;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly draining: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    const tally = this.tally;
    this.clients = new Gauge({
      name: 'ws_gateway_clients',
      help: 'Downstream WebSocket clients connected now',
      registers,
    });
    this.clientSubscriptions = new Gauge({
      name: 'ws_gateway_client_subscriptions',
      help: 'Stream subscriptions held by downstream clients now',
      registers,
    });
    talliedCounter(
      {
        name: 'ws_gateway_messages_sent_total',
        help: 'Stream events handed to downstream client sockets',
        registry,
      },
      () => tally.messagesSent,
    );
    talliedCounter(
      {
        name: 'ws_gateway_bytes_sent_total',
        help: 'Payload bytes of stream events handed to downstream client sockets',
        registry,
      },
      () => tally.bytesSent,
    );
    this.slowClientDisconnects = new Counter({
      name: 'ws_gateway_slow_client_disconnects_total',
      help: 'Clients closed with 4000 because their send queue exceeded CLIENT_SEND_QUEUE_BYTES',
      registers,
    });
    talliedCounter(
      {
        name: 'ws_gateway_dropped_messages_total',
        help: 'Stream events not sent because the client was being closed as a slow consumer',
        registry,
      },
      () => tally.droppedMessages,
    );
    this.clientDisconnects = new Counter({
      name: 'ws_gateway_client_disconnects_total',
      help: 'Clients closed by the gateway, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.rejectedConnections = new Counter({
      name: 'ws_gateway_rejected_connections_total',
      help: 'WebSocket upgrades refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.controlMessages = new Counter({
      name: 'ws_gateway_control_messages_total',
      help: 'Control messages (SUBSCRIBE, UNSUBSCRIBE, ...) received from clients',
      registers,
    });
    this.httpRequests = httpRequestsCounter(registry);
    this.draining = new Gauge({
      name: 'ws_gateway_draining',
      help: '1 while the gateway drains for shutdown (readiness answers 503)',
      registers,
    });
    talliedCounter(
      {
        name: 'ws_gateway_log_write_errors_total',
        help: 'Log lines that could not be written to LOG_FILE (dropped; the first failure is reported on stderr)',
        registry,
      },
      logWriteErrors,
    );
    for (const reason of REJECT_REASONS) this.rejectedConnections.inc({ reason }, 0);
    for (const reason of DISCONNECT_REASONS) this.clientDisconnects.inc({ reason }, 0);
  }
}
