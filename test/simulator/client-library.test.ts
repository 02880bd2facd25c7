import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

interface ConnectorStream {
  trade(symbol: string): void;
  subscribe(stream: string | string[]): void;
  disconnect(): void;
  isConnected(): boolean;
}
type ConnectorStreamCtor = new (options: Record<string, unknown>) => ConnectorStream;

const require = createRequire(import.meta.url);
const { WebsocketStream } = require('@binance/connector') as { WebsocketStream: ConnectorStreamCtor };
interface BinanceWsClient {
  on(event: 'message', listener: (message: Record<string, unknown>) => void): void;
  on(event: 'response', listener: (response: Record<string, unknown>) => void): void;
  subscribe(streams: string[], wsKey: string): Promise<unknown>;
  closeAll(force?: boolean): void;
}
type BinanceWsClientCtor = new (
  options: Record<string, unknown>,
  logger: Record<string, () => void>,
) => BinanceWsClient;
const { WebsocketClient } = require('binance') as { WebsocketClient: BinanceWsClientCtor };
const silent = { debug() {}, info() {}, warn() {}, error() {}, log() {}, trace() {} };

describe('an unmodified Binance client library against the simulator', () => {
  it('@binance/connector WebsocketStream subscribes and receives trades', async () => {
    const sim = await startSimulator({ rate: 50 });
    const received: Array<Record<string, unknown>> = [];
    const client = new WebsocketStream({
      wsURL: sim.url,
      logger: silent,
      callbacks: { message: (text: string) => received.push(JSON.parse(text) as Record<string, unknown>) },
    });
    try {
      client.trade('btcusdt');
      await waitFor('trades through the library', () => received.length >= 3, 5000);
      assert.equal(received[0]!['e'], 'trade');
      assert.equal(received[0]!['s'], 'BTCUSDT');
      // A live SUBSCRIBE over the open connection, the library's second path.
      client.subscribe('ethusdt@trade');
      await waitFor('ETHUSDT trades', () => received.some((m) => m['s'] === 'ETHUSDT'), 5000);
      assert.ok(received.some((m) => m['result'] === null && typeof m['id'] === 'number'));
    } finally {
      client.disconnect();
      await sim.close();
    }
  });

  it('@binance/connector with combinedStreams receives wrapped trades', async () => {
    const sim = await startSimulator({ rate: 50 });
    const received: Array<{ stream?: string; data?: Record<string, unknown> }> = [];
    const client = new WebsocketStream({
      wsURL: sim.url,
      combinedStreams: true,
      logger: silent,
      callbacks: { message: (text: string) => received.push(JSON.parse(text) as (typeof received)[number]) },
    });
    try {
      client.subscribe(['btcusdt@trade', 'ethusdt@aggTrade']);
      await waitFor(
        'both streams',
        () =>
          received.some((m) => m.stream === 'btcusdt@trade') &&
          received.some((m) => m.stream === 'ethusdt@aggTrade'),
        5000,
      );
      assert.equal(received.find((m) => m.stream === 'btcusdt@trade')?.data?.['e'], 'trade');
    } finally {
      client.disconnect();
      await sim.close();
    }
  });

  it('binance (tiagosiebler) WebsocketClient with a wsUrl override subscribes and receives trades', async () => {
    const sim = await startSimulator({ rate: 50 });
    const client = new WebsocketClient({ wsUrl: sim.url }, silent);
    const trades: Array<Record<string, unknown>> = [];
    const responses: Array<Record<string, unknown>> = [];
    client.on('message', (m) => {
      if (m['e'] === 'trade') trades.push(m);
    });
    client.on('response', (r) => responses.push(r));
    try {
      await client.subscribe(['btcusdt@trade'], 'main');
      await waitFor('trades through the library', () => trades.length >= 3, 5000);
      assert.equal(trades[0]!['s'], 'BTCUSDT');
      assert.equal(trades[1]!['t'], (trades[0]!['t'] as number) + 1);
      assert.equal(responses[0]?.['result'], null);
    } finally {
      client.closeAll(true);
      await sim.close();
    }
  });
});
