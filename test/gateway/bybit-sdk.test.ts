/**
 * Bybit's own client library (`bybit-api`), unmodified, pointed at the gateway: its WebsocketClient with
 * `wsUrl` set to the gateway's `/bybit/v5/public/<category>` receives trades, order books and candles
 * (with its JSON pings answered, so it never reconnects), and its RestClientV5 with `baseUrl` set to the
 * gateway's `/bybit` reads Bybit's market calls. Behind two SDK clients on one topic, the simulator sees
 * one subscription.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RestClientV5, WebsocketClient } from 'bybit-api';
import type { RunningGateway } from '../../src/gateway/index.js';
import { waitFor } from '../support/wait-for.js';
import { startTestGateway } from './helpers.js';

let gateway: RunningGateway;
const sockets: WebsocketClient[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'bybit'] });
});

after(async () => {
  for (const ws of sockets) ws.closeAll(true);
  await gateway.close();
});

interface Update {
  topic: string;
  type: string;
  data: unknown;
}

/** A WebsocketClient of `category` on the gateway, recording its updates, reconnects and exceptions. */
function sdkClient(category: 'spot' | 'linear') {
  const ws = new WebsocketClient({
    wsUrl: `${gateway.wsUrl}/bybit/v5/public/${category}`,
    // Pings every 400 ms so that a test of a few seconds sees several answered (the SDK's own pong
    // timeout, 1 s, replaces the connection when one is not).
    pingInterval: 400,
  });
  sockets.push(ws);
  const updates: Update[] = [];
  const trouble: string[] = [];
  ws.on('update', (event: Update) => updates.push(event));
  ws.on('reconnect', () => trouble.push('reconnect'));
  ws.on('exception', (event: unknown) => trouble.push(`exception ${JSON.stringify(event)}`));
  return { ws, updates, trouble, of: (topic: string) => updates.filter((u) => u.topic === topic) };
}

describe('bybit-api WebsocketClient through the gateway', () => {
  it('receives trades, an order book and candles on spot, its pings answered', async () => {
    const client = sdkClient('spot');
    const started = Date.now();
    await Promise.all(
      client.ws.subscribeV5(['publicTrade.BTCUSDT', 'orderbook.50.BTCUSDT', 'kline.1.BTCUSDT'], 'spot'),
    );
    await waitFor('trades, book and candles', () =>
      ['publicTrade.BTCUSDT', 'orderbook.50.BTCUSDT', 'kline.1.BTCUSDT'].every(
        (t) => client.of(t).length >= 3,
      ),
    );
    const trades = client.of('publicTrade.BTCUSDT');
    for (const t of trades) {
      assert.equal(t.type, 'snapshot');
      for (const trade of t.data as { s: string; p: string; v: string }[]) {
        assert.equal(trade.s, 'BTCUSDT');
        assert.ok(Number(trade.p) > 0 && Number(trade.v) > 0);
      }
    }
    const book = client.of('orderbook.50.BTCUSDT');
    assert.equal(book[0]!.type, 'snapshot');
    const us = book.map((b) => (b.data as { u: number }).u);
    for (let i = 1; i < us.length; i++) assert.equal(us[i], us[i - 1]! + 1);
    // Stay for more than two ping intervals plus the SDK's pong timeout: no reconnect may happen.
    await waitFor('1.5 s on the connection', () => Date.now() - started > 1_500);
    assert.deepEqual(client.trouble, []);
  });

  it('shares one upstream subscription between two SDK clients on linear', async () => {
    const topic = 'publicTrade.XRPUSDT';
    const first = sdkClient('linear');
    const second = sdkClient('linear');
    await Promise.all(first.ws.subscribeV5(topic, 'linear'));
    await Promise.all(second.ws.subscribeV5(topic, 'linear'));
    await waitFor(
      'trades at both clients',
      () => first.of(topic).length >= 3 && second.of(topic).length >= 3,
    );
    const holders = gateway.simulator!.bybitStats().filter((s) => s.topics.includes(topic));
    assert.equal(holders.length, 1);
    assert.equal(holders[0]!.category, 'linear');
    assert.deepEqual(first.trouble, []);
    assert.deepEqual(second.trouble, []);
  });
});

describe('bybit-api RestClientV5 through the gateway', () => {
  it("reads instruments, the order book, recent trades and candles with the SDK's own calls", async () => {
    const rest = new RestClientV5({ baseUrl: `${gateway.url}/bybit` });
    const instruments = await rest.getInstrumentsInfo({ category: 'spot', symbol: 'ETHUSDT' });
    assert.equal(instruments.retCode, 0);
    assert.deepEqual(
      instruments.result.list.map((i) => i.symbol),
      ['ETHUSDT'],
    );
    const book = await rest.getOrderbook({ category: 'spot', symbol: 'BTCUSDT', limit: 10 });
    assert.equal(book.retCode, 0);
    assert.equal(book.result.s, 'BTCUSDT');
    // A side of the simulator's running book may hold fewer levels than asked at times, never more.
    for (const side of [book.result.b, book.result.a]) assert.ok(side.length >= 1 && side.length <= 10);
    const bids = book.result.b.map(([price]) => Number(price));
    for (let i = 1; i < bids.length; i++) assert.ok(bids[i]! < bids[i - 1]!);
    assert.ok(Number(book.result.a[0]![0]) > bids[0]!);
    const trades = await rest.getPublicTradingHistory({ category: 'spot', symbol: 'BTCUSDT', limit: 20 });
    assert.equal(trades.retCode, 0);
    assert.equal(trades.result.list.length, 20);
    const candles = await rest.getKline({ category: 'linear', symbol: 'BTCUSDT', interval: '1', limit: 4 });
    assert.equal(candles.retCode, 0);
    assert.equal(candles.result.list.length, 4);
  });
});
