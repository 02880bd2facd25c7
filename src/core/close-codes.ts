/**
 * The WebSocket close codes the gateway and the simulator send, one name each (RFC 6455 §7.4.1;
 * 4000-4999 are left to applications). docs/gateway.md lists the gateway's with their reasons.
 */
export const CloseCodes = {
  /** Normal closure: a socket no longer needed. */
  NORMAL: 1000,
  /** Server shutting down, or a connection at the end of its lifetime: reconnect (elsewhere). */
  GOING_AWAY: 1001,
  /** More incoming frames per second than allowed, or no pong in time (Binance closes with 1008 too). */
  POLICY_VIOLATION: 1008,
  /** An incoming frame larger than the payload limit (sent by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The upstream ended one of the client's streams for good (rejected, or retries exhausted). */
  UPSTREAM_FAILED: 1011,
  /** The server-wide stream cap (MAX_UPSTREAM_STREAMS) filled up while the handshake completed. */
  TRY_AGAIN_LATER: 1013,
  /** The client did not read fast enough: its send queue exceeded CLIENT_SEND_QUEUE_BYTES. */
  SLOW_CONSUMER: 4000,
} as const;
