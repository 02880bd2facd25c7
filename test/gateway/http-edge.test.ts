/**
 * Requests that do not arrive as a plain `request` event, over raw sockets: a non-WebSocket Upgrade
 * (what `curl --http2` sends), request targets `new URL` refuses or misreads, and requests Node's parser
 * rejects (garbage request line, oversized headers). Each gets an HTTP answer, never a 500 or silence.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/gateway/index.js';
import { fetchRaw, startTestGateway } from './helpers.js';

interface RawReply {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** Writes `text` on a fresh TCP connection and resolves with whatever the server sent before closing. */
function raw(url: string, text: string): Promise<RawReply> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close after ${JSON.stringify(text.slice(0, 40))}`));
    }, 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const head = split < 0 ? all : all.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0),
        head,
        body: split < 0 ? '' : all.slice(split + 4),
      });
    });
    socket.write(text);
  });
}

async function counter(url: string, route: string, status: number): Promise<number> {
  const text = (
    await fetchRaw(`${url}/api/ws/metrics?format=prometheus`, {
      headers: { authorization: 'Bearer metrics-secret' },
    })
  ).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`ws_gateway_http_requests_total{route="${route}",status="${status}"} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

const H2C =
  'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';

describe('HTTP edge requests', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startTestGateway({ metricsToken: 'metrics-secret' });
  });
  after(async () => {
    await gateway.close();
  });

  it('serves a request carrying Upgrade: h2c as plain HTTP/1.1', async () => {
    const metrics = await raw(
      gateway.url,
      `GET /api/ws/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer metrics-secret\r\n${H2C}\r\n`,
    );
    assert.equal(metrics.status, 200, metrics.head);
    assert.match(metrics.head, /\r\nconnection: close/i);
    const body = JSON.parse(metrics.body) as { success: boolean; metrics: { implementation: string } };
    assert.equal(body.success, true);
    assert.equal(body.metrics.implementation, 'Legacy');

    const ready = await raw(gateway.url, `GET /readyz HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`);
    assert.equal(ready.status, 200, ready.head);
    assert.deepEqual(JSON.parse(ready.body), { status: 'ready', implementation: 'Legacy' });

    const head = await raw(gateway.url, `HEAD /api/ws/metrics HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`);
    assert.equal(head.status, 200, head.head);
    assert.equal(head.body, '');

    const unauthorized = await raw(gateway.url, `GET /api/ws/metrics HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`);
    assert.equal(unauthorized.status, 401, 'the token is still required');
  });

  it('answers 400 for a request target that is not a URL, without an internal error', async () => {
    const res = await raw(
      gateway.url,
      'GET http://[/api/ws/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 400, res.head);
    assert.deepEqual(JSON.parse(res.body), { success: false, error: 'malformed request target' });
    assert.equal(await counter(gateway.url, 'other', 500), 0);
    assert.equal(await counter(gateway.url, 'other', 400), 1);
  });

  it('reads //path as a path, not as a host', async () => {
    const res = await raw(
      gateway.url,
      'GET //api/ws/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer metrics-secret\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 404, res.head);
    const ws = await raw(
      gateway.url,
      'GET //ws/btcusdt@trade HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(ws.status, 404, '//ws/... is not the /ws endpoint');
    const absolute = await raw(
      gateway.url,
      'GET http://example.test/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(absolute.status, 200, 'absolute-form targets still route by their path');
  });

  it('answers a request the parser refuses instead of closing in silence', async () => {
    const big = await raw(
      gateway.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.equal(big.status, 431, big.head);
    assert.deepEqual(JSON.parse(big.body), { success: false, error: 'request header fields too large' });
    const garbage = await raw(gateway.url, 'BLAH\r\n\r\n');
    assert.equal(garbage.status, 400, garbage.head);
    assert.deepEqual(JSON.parse(garbage.body), { success: false, error: 'malformed request' });
    assert.equal(await counter(gateway.url, 'other', 431), 1);
  });
});
