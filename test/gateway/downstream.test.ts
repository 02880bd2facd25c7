/**
 * The downstream WebSocket API: unmodified Binance client libraries, shared upstream subscriptions,
 * slow consumers, per-client limits and refused upgrades.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCodes } from '../../src/gateway/index.js';
import { captureLogger } from '../manager/helpers.js';
import { upgradeStatus } from '../support/upgrade.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

interface ConnectorStream {
  trade(symbol: string): void;
  subscribe(stream: string | string[]): void;
  disconnect(): void;
}
interface BinanceWsClient {
  on(event: 'message', listener: (message: Record<string, unknown>) => void): void;
  subscribe(streams: string[], wsKey: string): Promise<unknown>;
  closeAll(force?: boolean): void;
}
const require = createRequire(import.meta.url);
const { WebsocketStream } = require('@binance/connector') as {
  WebsocketStream: new (options: Record<string, unknown>) => ConnectorStream;
};
const { WebsocketClient } = require('binance') as {
  WebsocketClient: new (
    options: Record<string, unknown>,
    logger: Record<string, () => void>,
  ) => BinanceWsClient;
};
const silent = { debug() {}, info() {}, warn() {}, error() {}, log() {}, trace() {} };

async function metricValue(url: string, line: RegExp): Promise<number> {
  const text = (await fetchRaw(`${url}/api/ws/metrics?format=prometheus`)).body;
  const match = text.split('\n').find((l) => line.test(l));
  return match === undefined ? Number.NaN : Number(match.split(' ').at(-1));
}

describe('Binance client libraries through the gateway', () => {
  it('many clients on one stream make ONE upstream subscription (WSManager)', async () => {
    const gateway = await startTestGateway({ useNewWsManager: true });
    const connectorMessages: Array<Record<string, unknown>> = [];
    const connector = new WebsocketStream({
      wsURL: gateway.wsUrl,
      logger: silent,
      callbacks: {
        message: (text: string) => connectorMessages.push(JSON.parse(text) as Record<string, unknown>),
      },
    });
    const library = new WebsocketClient({ wsUrl: gateway.wsUrl }, silent);
    const libraryTrades: Array<Record<string, unknown>> = [];
    library.on('message', (m) => {
      if (m['e'] === 'trade') libraryTrades.push(m);
    });
    const clients: TestClient[] = [];
    try {
      connector.trade('btcusdt');
      await library.subscribe(['btcusdt@trade'], 'main');
      for (let i = 0; i < 40; i++) clients.push(await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`));
      await waitFor(
        'trades through both libraries',
        () => connectorMessages.length >= 3 && libraryTrades.length >= 3,
      );
      await waitFor('trades on every raw client', () => clients.every((c) => c.messages.length > 0));
      assert.equal(connectorMessages[0]!['e'], 'trade');
      assert.equal(connectorMessages[0]!['s'], 'BTCUSDT');
      assert.equal(libraryTrades[1]!['t'], (libraryTrades[0]!['t'] as number) + 1);
      // A live SUBSCRIBE over the library's open connection.
      connector.subscribe('ethusdt@trade');
      await waitFor('ETHUSDT through the library', () => connectorMessages.some((m) => m['s'] === 'ETHUSDT'));

      const stats = gateway.simulator!.stats();
      const carrying = stats.connections.filter((c) => c.streams.includes('btcusdt@trade'));
      assert.equal(carrying.length, 1, '42 downstream clients, one upstream subscription');
      assert.equal(stats.openConnections, 1);
      assert.equal(gateway.source.listStreams().find((s) => s.stream === 'btcusdt@trade')?.subscribers, 42);
    } finally {
      connector.disconnect();
      library.closeAll(true);
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });

  it('the legacy baseline opens one upstream socket per subscriber', async () => {
    const gateway = await startTestGateway({ useNewWsManager: false });
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 5; i++) clients.push(await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`));
      await waitFor('trades on every client', () => clients.every((c) => c.messages.length > 0));
      await waitFor('five upstream sockets', () => gateway.simulator!.stats().openConnections === 5);
      assert.equal(gateway.source.getMetrics().activeConnections, 5);
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });
});

describe('slow consumers', () => {
  it('closes a client that does not read, counts it, and keeps serving the others', async () => {
    // A fast feed of large events and a small queue, so the reader that never reads fills the loopback
    // buffers and then its queue within seconds.
    const gateway = await startTestGateway(
      { useNewWsManager: true, simulatorRate: 2000, clientSendQueueBytes: 64 * 1024 },
      { closeGraceMs: 200 },
    );
    const fast = new WebSocket(`${gateway.wsUrl}/ws/btcusdt@depth20`);
    let fastReceived = 0;
    fast.on('message', () => {
      fastReceived++;
    });
    await new Promise((resolve) => fast.once('open', resolve));
    let slow: Socket | undefined;
    try {
      const port = new URL(gateway.url).port;
      slow = connect(Number(port), '127.0.0.1');
      slow.on('error', () => {});
      // A hand-written upgrade, then never a read: the socket stays paused, so nothing is consumed.
      slow.write(
        'GET /ws/btcusdt@depth20 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      slow.pause();
      await waitFor(
        'the slow client to be cut',
        async () => (await metricValue(gateway.url, /^ws_gateway_slow_client_disconnects_total /)) === 1,
        30_000,
      );
      // The paused socket never reads, so it cannot see the close; the gateway's side is what counts.
      await waitFor(
        'slow client gone',
        async () => (await metricValue(gateway.url, /^ws_gateway_clients /)) === 1,
      );
      const before = fastReceived;
      assert.ok(before > 0);
      await waitFor('the fast client still receiving', () => fastReceived > before + 10);
      assert.equal(fast.readyState, WebSocket.OPEN);
      assert.equal(
        await metricValue(gateway.url, /^ws_gateway_client_disconnects_total\{reason="slow_consumer"\} /),
        1,
      );
      assert.equal(await metricValue(gateway.url, /^ws_gateway_clients /), 1);
    } finally {
      slow?.destroy();
      fast.terminate();
      await gateway.close();
    }
  });
});

describe('heartbeat', () => {
  // Shortened from Binance's 20 s ping period and 1 minute pong deadline, so the test takes seconds.
  const pingIntervalMs = 1000;
  const pongTimeoutMs = 1500;

  it('pings every client once per period, a slice at a time, and drops a client that never answers', async () => {
    const gateway = await startTestGateway({}, { pingIntervalMs, pongTimeoutMs });
    const clients: TestClient[] = [];
    try {
      const firstPingAt: number[] = [];
      for (let i = 0; i < 40; i++) {
        const client = await openClient(`${gateway.wsUrl}/ws`);
        client.ws.once('ping', () => firstPingAt.push(Date.now()));
        clients.push(client);
      }
      const silent = await openClient(`${gateway.wsUrl}/ws`, { autoPong: false });
      clients.push(silent);
      await waitFor('a first ping on every client', () => firstPingAt.length === 40, 3 * pingIntervalMs);
      // All at once, 40 pings would leave within a few milliseconds; in slices (one per hundredth of the
      // period) 40 clients' first pings spread over about 40 hundredths of it.
      const spread = Math.max(...firstPingAt) - Math.min(...firstPingAt);
      assert.ok(spread >= pingIntervalMs / 5, `first pings spread over ${spread} ms`);
      const closed = await silent.closed;
      assert.equal(closed.code, 1006, 'terminated without a close frame');
      assert.equal(
        await metricValue(gateway.url, /^ws_gateway_client_disconnects_total\{reason="pong_timeout"\} /),
        1,
      );
      assert.ok(
        clients.slice(0, 40).every((c) => c.ws.readyState === WebSocket.OPEN),
        'clients that answer stay connected',
      );
    } finally {
      for (const client of clients) await client.close();
      await gateway.close();
    }
  });

  it('logs ten clients dropped at once for missed pongs as one line and one summary', async () => {
    const { logger, lines } = captureLogger();
    const gateway = await startTestGateway({}, { pingIntervalMs, pongTimeoutMs, logger });
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 10; i++) clients.push(await openClient(`${gateway.wsUrl}/ws`, { autoPong: false }));
      await Promise.all(clients.map((c) => c.closed));
    } finally {
      await gateway.close();
    }
    const logged = lines.filter((l) => l.msg.startsWith('Client missed its pong deadline'));
    assert.deepEqual(
      logged.map((l) => [l.msg, l['repeated']]),
      [
        ['Client missed its pong deadline', undefined],
        ['Client missed its pong deadline (repeated)', 9],
      ],
    );
  });
});

describe('per-client limits', () => {
  it('closes a client with 1008 beyond 5 incoming messages per second', async () => {
    const gateway = await startTestGateway({});
    try {
      const client = await openClient(`${gateway.wsUrl}/ws`);
      for (let i = 1; i <= 6; i++) client.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }));
      const closed = await client.closed;
      assert.equal(closed.code, CloseCodes.POLICY_VIOLATION);
      assert.equal(closed.reason, 'Too many messages');
      assert.equal(client.messages.length, 5, 'the first five were answered');
      assert.equal(
        await metricValue(gateway.url, /^ws_gateway_client_disconnects_total\{reason="message_rate"\} /),
        1,
      );
    } finally {
      await gateway.close();
    }
  });

  it('closes a client with 1009 for an oversized frame', async () => {
    const gateway = await startTestGateway({ clientMaxPayloadBytes: 1024 });
    try {
      const client = await openClient(`${gateway.wsUrl}/ws`);
      client.ws.send('x'.repeat(2048));
      assert.equal((await client.closed).code, CloseCodes.MESSAGE_TOO_BIG);
    } finally {
      await gateway.close();
    }
  });

  it('refuses a SUBSCRIBE beyond the stream limit with an error reply', async () => {
    const gateway = await startTestGateway({ clientMaxStreams: 2 });
    try {
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
      const reply = await client.control('SUBSCRIBE', ['ethusdt@trade', 'bnbusdt@trade'], 9);
      assert.deepEqual(reply, {
        error: { code: 2, msg: 'Invalid request: too many streams, a connection can listen to at most 2' },
        id: 9,
      });
      assert.deepEqual(await client.control('LIST_SUBSCRIPTIONS', undefined, 10), {
        result: ['btcusdt@trade'],
        id: 10,
      });
      await client.close();
    } finally {
      await gateway.close();
    }
  });
});

describe('refused upgrades', () => {
  it('answers each admission failure with its HTTP status and counts it by reason', async () => {
    const gateway = await startTestGateway({
      allowedOrigins: ['https://app.example.com'],
      clientMaxStreams: 2,
      maxClients: 1,
    });
    try {
      assert.equal(
        await upgradeStatus(`${gateway.wsUrl}/ws/btcusdt@trade`, { origin: 'https://evil.example' }),
        403,
      );
      assert.equal(await upgradeStatus(`${gateway.wsUrl}/ws/BTCUSDT@trade`), 400);
      assert.equal(await upgradeStatus(`${gateway.wsUrl}/stream?streams=a1@trade/b1@trade/c1@trade`), 400);
      assert.equal(await upgradeStatus(`${gateway.wsUrl}/api/ws/metrics`), 404);
      const allowed = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`, {
        headers: { origin: 'https://app.example.com' },
      });
      assert.equal(await upgradeStatus(`${gateway.wsUrl}/ws/btcusdt@trade`), 503, 'MAX_CLIENTS reached');
      await allowed.close();
      for (const [reason, count] of [
        ['origin', 1],
        ['invalid_stream', 1],
        ['too_many_streams', 1],
        ['path', 1],
        ['max_clients', 1],
      ] as const) {
        const re = new RegExp(`^ws_gateway_rejected_connections_total\\{reason="${reason}"\\} `);
        assert.equal(await metricValue(gateway.url, re), count, reason);
      }
    } finally {
      await gateway.close();
    }
  });
});
