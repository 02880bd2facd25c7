/**
 * The HTTP answer for a request that reached the server as a raw socket (an `upgrade` or `clientError`
 * event) rather than as a `ServerResponse`: the gateway and the simulator refuse WebSocket upgrades and
 * unparseable requests with it. Like ws's `abortHandshake`, the reason phrase comes from
 * `http.STATUS_CODES` and the connection is closed once the answer is written (RFC 9112 §9.6: a
 * `Connection: close` response ends the connection).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Writes `status` with `body` as JSON (and the `headers` that have a value, e.g. `Retry-After`), then
 * destroys the socket. A socket the peer has already closed is just destroyed.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string | number | undefined>> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}: ${value}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}
