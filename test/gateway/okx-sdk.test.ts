/**
 * OKX's own client library (`okx-api`), unmodified, pointed at the gateway: its WebsocketClient with
 * `wsUrl` set to the gateway's `/okx/ws/v5/public` (or `/business` for candles; the option names one URL
 * for every channel) receives trades and order books (with its text pings answered, so it never
 * reconnects), and its RestClient with `baseUrl` set to the gateway's `/okx` reads OKX's market calls.
 * Behind three SDK clients on one channel, the simulator sees one subscription.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RestClient, WebsocketClient } from 'okx-api';
import type { RunningGateway } from '../../src/gateway/index.js';
import { waitFor } from '../support/wait-for.js';
import { startTestGateway } from './helpers.js';

let gateway: RunningGateway;
const sockets: WebsocketClient[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'okx'] });
});

after(async () => {
  for (const ws of sockets) ws.closeAll(true);
  await gateway.close();
});

interface Update {
  arg?: { channel: string; instId: string };
  action?: string;
  data?: unknown[];
}

/** The SDK logs every connect and close; errors still reach `trouble` through its `exception` events. */
const quiet = { trace: () => {}, info: () => {}, error: () => {} };

/** A WebsocketClient on the gateway's `path`, recording its updates, reconnects and exceptions. */
function sdkClient(path: 'public' | 'business') {
  const ws = new WebsocketClient(
    {
      wsUrl: `${gateway.wsUrl}/okx/ws/v5/${path}`,
      // Pings every 400 ms so that a test of a few seconds sees several answered (the SDK's pong timeout,
      // 1 s here, replaces the connection when one is not).
      pingInterval: 400,
      pongTimeout: 1_000,
    },
    quiet,
  );
  sockets.push(ws);
  const updates: Update[] = [];
  const trouble: string[] = [];
  ws.on('update', (event: Update) => updates.push(event));
  ws.on('reconnect', () => trouble.push('reconnect'));
  ws.on('reconnected', () => trouble.push('reconnected'));
  ws.on('exception', (event: unknown) => trouble.push(`exception ${JSON.stringify(event)}`));
  const of = (channel: string, instId: string) =>
    updates.filter((u) => u.arg?.channel === channel && u.arg.instId === instId);
  return { ws, updates, trouble, of };
}

function upstreamHolders(stream: string): number {
  return gateway.simulator!.okxStats().filter((s) => s.channels.includes(stream)).length;
}

describe('okx-api WebsocketClient through the gateway', () => {
  it('receives trades and an order book on the public path, candles on the business path, its pings answered', async () => {
    const client = sdkClient('public');
    const started = Date.now();
    await Promise.all(
      client.ws.subscribe([
        { channel: 'trades', instId: 'BTC-USDT' },
        { channel: 'books', instId: 'BTC-USDT' },
      ]),
    );
    await waitFor(
      'trades and book updates',
      () => client.of('trades', 'BTC-USDT').length >= 3 && client.of('books', 'BTC-USDT').length >= 3,
    );
    const ids: number[] = [];
    for (const push of client.of('trades', 'BTC-USDT')) {
      for (const trade of push.data as { instId: string; tradeId: string; px: string; sz: string }[]) {
        assert.equal(trade.instId, 'BTC-USDT');
        assert.ok(Number(trade.px) > 0 && Number(trade.sz) > 0);
        ids.push(Number(trade.tradeId));
      }
    }
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);
    const book = client.of('books', 'BTC-USDT');
    assert.equal(book[0]!.action, 'snapshot');
    // The first holder gets the venue's own snapshot only, not one from the gateway's kept book as well.
    assert.equal(book.filter((b) => b.action === 'snapshot').length, 1);
    const seq = book.map((b) => b.data![0] as { seqId: number; prevSeqId: number });
    for (let i = 1; i < seq.length; i++) assert.equal(seq[i]!.prevSeqId, seq[i - 1]!.seqId);

    const candles = sdkClient('business');
    await Promise.all(candles.ws.subscribe({ channel: 'candle1m', instId: 'ETH-USDT' }));
    await waitFor('a candle', () => candles.of('candle1m', 'ETH-USDT').length >= 1);
    const row = candles.of('candle1m', 'ETH-USDT')[0]!.data![0] as string[];
    assert.equal(Number(row[0]) % 60_000, 0);

    // Stay for more than two ping intervals plus the SDK's pong timeout: no reconnect may happen.
    await waitFor('1.5 s on the connection', () => Date.now() - started > 1_500);
    assert.deepEqual(client.trouble, []);
    assert.deepEqual(candles.trouble, []);
  });

  it('shares one upstream subscription between three SDK clients of one channel', async () => {
    const clients = [sdkClient('public'), sdkClient('public'), sdkClient('public')];
    for (const client of clients)
      await Promise.all(client.ws.subscribe({ channel: 'trades', instId: 'XRP-USDT' }));
    await waitFor('trades at every client', () =>
      clients.every((c) => c.of('trades', 'XRP-USDT').length >= 3),
    );
    assert.equal(upstreamHolders('trades:XRP-USDT'), 1);
    // Each client gets the same pushes from when it joined: the last one's are a tail of the first's.
    const ids = (c: (typeof clients)[number]) =>
      c
        .of('trades', 'XRP-USDT')
        .flatMap((u) => (u.data as { tradeId: string }[]).map((t) => Number(t.tradeId)));
    const firstIds = ids(clients[0]!);
    const lastIds = ids(clients[2]!);
    const start = firstIds.indexOf(lastIds[0]!);
    assert.ok(start >= 0);
    assert.deepEqual(lastIds.slice(0, firstIds.length - start), firstIds.slice(start));
    for (const client of clients) assert.deepEqual(client.trouble, []);
  });
});

describe('okx-api RestClient through the gateway', () => {
  it("reads instruments, the order book, trades and candles with the SDK's own calls", async () => {
    const rest = new RestClient({ baseUrl: `${gateway.url}/okx` });
    const instruments = await rest.getInstruments({ instType: 'SPOT' });
    assert.deepEqual(
      instruments.map((i) => i.instId),
      ['BTC-USDT', 'ETH-USDT', 'BNB-USDT', 'SOL-USDT', 'XRP-USDT'],
    );
    const [book] = await rest.getOrderBook({ instId: 'BTC-USDT', sz: '10' });
    assert.equal(book!.bids.length, 10);
    assert.equal(book!.asks.length, 10);
    assert.ok(Number(book!.bids[0]![0]) < Number(book!.asks[0]![0]));
    const trades = await rest.getTrades({ instId: 'BTC-USDT', limit: 20 });
    assert.equal(trades.length, 20);
    const candles = await rest.getCandles({ instId: 'ETH-USDT', bar: '1m', limit: '4' });
    assert.equal(candles.length, 4);
  });
});
