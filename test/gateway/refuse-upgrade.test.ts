/**
 * The one writer of raw-socket HTTP answers (refused upgrades in the gateway and the simulator, requests
 * Node could not parse), over a real loopback server and a raw TCP client.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { refuseUpgrade } from '../../src/http/refuse-upgrade.js';

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** Sends an upgrade request and resolves with all the server wrote before it closed the connection. */
function knock(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not close the connection within 5 s'));
    }, 5000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(UPGRADE);
  });
}

describe('refuseUpgrade', () => {
  let server: Server;
  let port: number;
  let answer: (socket: Duplex) => void = () => {};

  before(async () => {
    server = createServer();
    server.on('upgrade', (_req, socket: Duplex) => answer(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('writes the status with its standard reason phrase, the JSON body and its byte length, then closes', async () => {
    answer = (socket) => refuseUpgrade(socket, 503, { success: false, error: 'fermé' });
    const reply = await knock(port);
    const [head, body] = reply.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 503 Service Unavailable');
    assert.deepEqual(lines.slice(1).sort(), [
      'Connection: close',
      'Content-Length: 34',
      'Content-Type: application/json; charset=utf-8',
    ]);
    assert.equal(Buffer.byteLength(body), 34, 'Content-Length counts bytes, not characters');
    assert.deepEqual(JSON.parse(body), { success: false, error: 'fermé' });
  });

  it('adds the extra headers that have a value and leaves out the undefined ones', async () => {
    answer = (socket) =>
      refuseUpgrade(socket, 418, { error: 'banned' }, { 'Retry-After': 120, 'X-None': undefined });
    const reply = await knock(port);
    assert.match(reply, /^HTTP\/1\.1 418 I'm a Teapot\r\n/);
    assert.match(reply, /\r\nRetry-After: 120\r\n/);
    assert.doesNotMatch(reply, /X-None/);
    assert.ok(reply.endsWith('\r\n\r\n{"error":"banned"}'));
  });

  it('names a status Node has no phrase for', async () => {
    answer = (socket) => refuseUpgrade(socket, 599, {});
    assert.match(await knock(port), /^HTTP\/1\.1 599 Unknown\r\n/);
  });
});
