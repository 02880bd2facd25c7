/**
 * The two ways a request reaches the server without a `request` event: an `Upgrade` header (Node hands
 * every such request to the `upgrade` listener, whatever protocol it names) and a request Node could not
 * parse (`clientError`). Both still deserve an HTTP answer.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from './refuse-upgrade.js';

/** True when the request asks for a WebSocket (RFC 6455 §4.2.1: the Upgrade token is case-insensitive). */
export function wantsWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/**
 * Serves an `Upgrade: h2c` (or any non-WebSocket upgrade) request as a plain HTTP/1.1 request: the server
 * ignores the upgrade as RFC 9110 §7.8 allows and answers on the same socket, then closes it (Node has
 * detached its parser, so the connection cannot carry a second request).
 */
export function serveWithoutUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  // The upgrade event's socket is the connection's net.Socket (or TLSSocket); the type says Duplex.
  res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
  res.on('finish', () => {
    res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
    socket.end();
  });
  handle(req, res);
}

/** The status for a request Node's parser refused: 431 for oversized headers (RFC 6585 §5), else 400. */
export function clientErrorStatus(error: Error & { code?: string }): 400 | 431 {
  return error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
}

/**
 * Answers an unparseable request (garbage request line, headers over the limit) with a short JSON error
 * and closes the connection, instead of dropping it silently. Returns the status sent, or undefined when
 * the peer is already gone.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): number | undefined {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return undefined;
  }
  const status = clientErrorStatus(error);
  refuseUpgrade(socket, status, {
    success: false,
    error: status === 431 ? 'request header fields too large' : 'malformed request',
  });
  return status;
}
