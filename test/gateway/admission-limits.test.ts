/**
 * Server-wide limits over real sockets: upgrade attempts per client address (Binance: 300 per 5 minutes
 * per IP), the cap on upstream subscriptions all clients together cause, and all-or-nothing SUBSCRIBE.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { silentLogger } from '../../src/core/log.js';
import type { StreamSource } from '../../src/core/stream-source.js';
import { binanceDialect } from '../../src/exchange/binance/dialect.js';
import { DownstreamServer } from '../../src/gateway/downstream-server.js';
import { GatewayMetrics } from '../../src/gateway/gateway-metrics.js';
import { LegacyStreamSource } from '../../src/legacy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

function upgrade(url: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      ws.terminate();
    });
    ws.on('open', () => {
      resolve({ status: 101, retryAfter: undefined });
      ws.close();
    });
    ws.on('error', () => {});
  });
}

async function rejected(url: string, reason: string): Promise<number> {
  const text = (await fetchRaw(`${url}/api/ws/metrics?format=prometheus`)).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`ws_gateway_rejected_connections_total{reason="${reason}"} `));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}

describe('connection attempts per client address', () => {
  it('answers 429 with Retry-After once an address used its attempts', async () => {
    const gateway = await startTestGateway({ clientConnectAttemptsPerIp: 3 });
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await upgrade(`${gateway.wsUrl}/ws/btcusdt@trade`)).status, 101, `attempt ${i + 1}`);
      }
      const refused = await upgrade(`${gateway.wsUrl}/ws/btcusdt@trade`);
      assert.equal(refused.status, 429);
      assert.equal(refused.retryAfter, '60');
      assert.equal(await rejected(gateway.url, 'attempt_rate'), 1);
      assert.equal((await fetchRaw(`${gateway.url}/healthz`)).status, 200, 'plain HTTP is not counted');
    } finally {
      await gateway.close();
    }
  });
});

describe('upstream subscriptions across clients', () => {
  it('legacy: counts every client subscription, refuses beyond the cap, and frees on close', async () => {
    const gateway = await startTestGateway({ useNewWsManager: false, maxUpstreamStreams: 3 });
    const clients: TestClient[] = [];
    try {
      clients.push(await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`));
      clients.push(await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`));
      assert.equal((await upgrade(`${gateway.wsUrl}/ws/btcusdt@trade`)).status, 400, 'a 4th legacy socket');
      assert.equal(await rejected(gateway.url, 'upstream_streams'), 1);
      const reply = await clients[1]!.control('SUBSCRIBE', ['solusdt@trade'], 1);
      assert.deepEqual(reply, {
        error: {
          code: 2,
          msg: 'Invalid request: too many streams, the server carries at most 3 upstream streams',
        },
        id: 1,
      });
      await waitFor('three upstream sockets', () => gateway.simulator!.stats().openConnections === 3);
      assert.equal(gateway.source.getMetrics().subscribers, 3);
      await clients.shift()!.close();
      await waitFor('released on close', () => gateway.source.getMetrics().subscribers === 1);
      assert.deepEqual(await clients[0]!.control('SUBSCRIBE', ['solusdt@trade'], 2), { result: null, id: 2 });
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });

  it('WSManager: a stream many clients share costs one', async () => {
    const gateway = await startTestGateway({ useNewWsManager: true, maxUpstreamStreams: 2 });
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        clients.push(await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`));
      }
      assert.equal((await upgrade(`${gateway.wsUrl}/ws/solusdt@trade`)).status, 400);
      const reply = await clients[0]!.control('SUBSCRIBE', ['ethusdt@trade', 'bnbusdt@trade'], 3);
      assert.equal((reply['error'] as { code: number }).code, 2);
      assert.deepEqual(await clients[0]!.control('LIST_SUBSCRIPTIONS', undefined, 4), {
        result: ['btcusdt@trade', 'ethusdt@trade'],
        id: 4,
      });
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });
});

describe('SUBSCRIBE that fails part-way', () => {
  it('leaves none of the request streams subscribed', async () => {
    // A real legacy source whose subscribe fails for one stream, as an upstream refusal would; everything
    // else (HTTP server, upgrade, ws client, simulator) is real.
    const simulator = await startSimulator({ rate: 20 });
    const inner = new LegacyStreamSource({ url: simulator.url });
    const source: StreamSource = Object.assign(Object.create(inner) as StreamSource, {
      subscribe: (stream: string, listener: Parameters<StreamSource['subscribe']>[1]) => {
        if (stream === 'ethusdt@trade') throw new Error('refused upstream');
        return inner.subscribe(stream, listener);
      },
    });
    const downstream = new DownstreamServer({
      source,
      dialect: binanceDialect,
      metrics: new GatewayMetrics(new Registry()),
      logger: silentLogger(),
      maxClients: 10,
      maxStreams: 10,
      maxMessagesPerSecond: 50,
      maxPayloadBytes: 65_536,
      sendQueueBytes: 1 << 20,
      sendQueueTotalBytes: 1 << 24,
      connectAttemptsPerIp: 10,
      maxUpstreamStreams: 10,
      allowedOrigins: undefined,
      pingIntervalMs: 20_000,
      pongTimeoutMs: 60_000,
      closeGraceMs: 200,
    });
    const server = createServer();
    server.on('upgrade', (req, socket, head) => downstream.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await openClient(`ws://127.0.0.1:${port}/ws`);
    try {
      const reply = await client.control('SUBSCRIBE', ['btcusdt@trade', 'ethusdt@trade', 'solusdt@trade'], 1);
      assert.deepEqual(reply, { error: { code: 2, msg: 'Invalid request: subscription failed' }, id: 1 });
      assert.deepEqual(await client.control('LIST_SUBSCRIPTIONS', undefined, 2), { result: [], id: 2 });
      assert.equal(downstream.subscriptions, 0);
      assert.equal(inner.getMetrics().subscribers, 0, 'the stream added before the failure was released');
      assert.deepEqual(await client.control('SUBSCRIBE', ['btcusdt@trade'], 3), { result: null, id: 3 });
      assert.equal(downstream.subscriptions, 1);
    } finally {
      await client.close();
      downstream.close();
      await new Promise((resolve) => server.close(resolve));
      await inner.destroy();
      await simulator.close();
    }
  });
});
