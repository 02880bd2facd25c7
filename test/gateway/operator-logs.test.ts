/**
 * What an operator reads in the log without Prometheus: client connects and disconnects at `debug`
 * (address, path, close code and reason) and an `info` activity line per interval. A real gateway,
 * simulator and ws clients; the logger is a pino instance writing JSON lines into an array.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../support/wait-for.js';
import { openClient, startTestGateway } from './helpers.js';

type Line = Record<string, unknown>;

function capturingLogger(level: string): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe('operator logs', () => {
  it('logs each client connect and disconnect at debug with address, path, close code and reason', async () => {
    const { logger, lines } = capturingLogger('debug');
    const gateway = await startTestGateway({}, { logger });
    try {
      const client = await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade`);
      const connected = await waitFor('connect line', () =>
        lines.find((l) => l['msg'] === 'Client connected'),
      );
      assert.equal(connected['level'], 20, 'debug');
      assert.equal(connected['address'], '127.0.0.1');
      assert.equal(connected['path'], '/stream?streams=btcusdt@trade');
      assert.equal(typeof connected['port'], 'number');
      client.ws.close(4321, 'going home');
      await client.closed;
      const gone = await waitFor('disconnect line', () =>
        lines.find((l) => l['msg'] === 'Client disconnected'),
      );
      assert.equal(gone['level'], 20);
      assert.equal(gone['client'], connected['client']);
      assert.equal(gone['address'], '127.0.0.1');
      assert.equal(gone['path'], '/stream?streams=btcusdt@trade');
      assert.equal(gone['code'], 4321);
      assert.equal(gone['reason'], 'going home');
      assert.equal(typeof gone['durationMs'], 'number');
    } finally {
      await gateway.close();
    }
  });

  it('says nothing per client at info', async () => {
    const { logger, lines } = capturingLogger('info');
    const gateway = await startTestGateway({}, { logger });
    try {
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
      await client.close();
      assert.equal(lines.filter((l) => String(l['msg']).startsWith('Client ')).length, 0);
    } finally {
      await gateway.close();
    }
  });

  it('logs an activity line at info every interval: clients, streams, msgs/s in and out', async () => {
    const { logger, lines } = capturingLogger('info');
    // The interval is a minute in production; 300 ms here so the test does not wait for it.
    const gateway = await startTestGateway({ simulatorRate: 50 }, { logger, summaryIntervalMs: 300 });
    const clients = [
      await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`),
      await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`),
    ];
    try {
      await waitFor('events reach both clients', () => clients.every((c) => c.messages.length > 5));
      const start = lines.length;
      const activity = await waitFor('an activity line with traffic', () =>
        lines
          .slice(start)
          .find(
            (l) =>
              l['msg'] !== undefined &&
              String(l['msg']).startsWith('Gateway activity') &&
              (l['messagesOutPerSecond'] as number) > 0,
          ),
      );
      assert.equal(activity['level'], 30, 'info');
      assert.equal(activity['clients'], 2);
      assert.equal(activity['subscriptions'], 3);
      assert.ok((activity['streams'] as number) >= 2, `streams ${activity['streams']}`);
      const inRate = activity['messagesInPerSecond'] as number;
      const outRate = activity['messagesOutPerSecond'] as number;
      assert.ok(inRate > 0, `msgs/s in ${inRate}`);
      assert.ok(outRate > 0, `msgs/s out ${outRate}`);
      assert.match(
        String(activity['msg']),
        /^Gateway activity: 2 clients, \d+ streams, [\d.]+ msgs\/s in, [\d.]+ msgs\/s out$/,
      );
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });
});
