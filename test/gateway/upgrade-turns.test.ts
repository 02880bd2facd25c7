/**
 * Upgrades arriving in a burst are completed a bounded number per event-loop turn, so a fleet
 * reconnecting at once cannot hold the loop for the whole burst; on close the ones still waiting are
 * dropped. The server, its HTTP listener and raw TCP clients share this process, so the test watches the
 * turns themselves: a `setImmediate` observer runs once per turn, in the same phase as the upgrades.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/core/log.js';
import { binanceDialect } from '../../src/exchange/binance/dialect.js';
import { DownstreamServer } from '../../src/gateway/downstream-server.js';
import { GatewayMetrics } from '../../src/gateway/gateway-metrics.js';
import { LegacyStreamSource } from '../../src/legacy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

const BURST = 450;
/** The server's per-turn bound (UPGRADES_PER_TURN in downstream-server.ts). */
const PER_TURN = 200;
const REQUEST =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('a burst of upgrades', () => {
  it('completes at most 200 per turn and drops the ones still waiting on close', async () => {
    const simulator = await startSimulator({ rate: 1 });
    const source = new LegacyStreamSource({ url: simulator.url });
    const downstream = new DownstreamServer({
      source,
      dialect: binanceDialect,
      metrics: new GatewayMetrics(new Registry()),
      logger: silentLogger(),
      maxClients: 2 * BURST,
      maxStreams: 10,
      maxMessagesPerSecond: 50,
      maxPayloadBytes: 65_536,
      sendQueueBytes: 1 << 20,
      sendQueueTotalBytes: 1 << 24,
      connectAttemptsPerIp: 4 * BURST,
      maxUpstreamStreams: 10,
      allowedOrigins: undefined,
      pingIntervalMs: 20_000,
      pongTimeoutMs: 60_000,
      closeGraceMs: 200,
    });
    const server = createServer();
    let accepted = 0;
    server.on('connection', () => accepted++);
    server.on('upgrade', (req, socket, head) => downstream.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) =>
      server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, resolve),
    );
    const { port } = server.address() as AddressInfo;
    const sockets: Socket[] = [];
    try {
      // Every connection open and accepted first, so that all the requests, written in one go, are read
      // in the server's next poll phase.
      for (let i = 0; i < BURST; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        sockets.push(socket);
      }
      await waitFor('every connection accepted', () => accepted === BURST);
      const answers = sockets.map(
        (socket) =>
          new Promise<string>((resolve) => {
            let head = '';
            socket.on('data', (chunk: Buffer) => {
              head += chunk.toString('latin1');
              if (head.includes('\r\n\r\n')) resolve(head.slice(0, 12));
            });
            socket.on('close', () => resolve('closed'));
          }),
      );
      // The clients' count after each turn, until the first turn past two full slices: then the server
      // closes with the rest still waiting.
      const counts: number[] = [];
      const deadline = Date.now() + 10_000;
      const watched = new Promise<void>((resolve, reject) => {
        const observe = () => {
          if (counts.at(-1) !== downstream.clientCount) counts.push(downstream.clientCount);
          if (downstream.clientCount >= 2 * PER_TURN) {
            downstream.close();
            resolve();
          } else if (Date.now() > deadline) {
            reject(new Error(`${downstream.clientCount} clients after 10 s, counts ${counts.join(', ')}`));
          } else setImmediate(observe);
        };
        setImmediate(observe);
      });
      for (const socket of sockets) socket.write(REQUEST);
      await watched;
      const steps = counts.slice(1).map((c, i) => c - counts[i]!);
      assert.ok(
        steps.every((s) => s <= PER_TURN),
        `clients added per turn: ${steps.filter((s) => s > 0).join(', ')}`,
      );
      assert.equal(counts.at(-1), 2 * PER_TURN);
      const heads = await Promise.all(answers);
      // The 400 taken were answered; the 50 still waiting were dropped unanswered when the server closed.
      assert.equal(heads.filter((h) => h === 'HTTP/1.1 101').length, 2 * PER_TURN);
      assert.equal(heads.filter((h) => h === 'closed').length, BURST - 2 * PER_TURN);
      assert.equal(downstream.clientCount, 0);
    } finally {
      for (const socket of sockets) socket.destroy();
      downstream.close();
      await new Promise((resolve) => server.close(resolve));
      await source.destroy();
      await simulator.close();
    }
  });
});
