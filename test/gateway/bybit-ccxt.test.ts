/**
 * ccxt pro's `bybit`, unmodified, with its `urls` pointed at the gateway (REST base `/bybit`, WebSocket
 * `/bybit/v5/public/{spot,linear}`): it loads markets through the gateway's REST routes and watches
 * trades, order books and candles through its WebSocket protocol. ccxt opens `ws://` URLs only after
 * `loadHttpProxyAgent()` (its documented call for non-TLS sockets).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ccxt from 'ccxt';
import type { RunningGateway } from '../../src/gateway/index.js';
import { startTestGateway } from './helpers.js';

let gateway: RunningGateway;
const exchanges: InstanceType<typeof ccxt.pro.bybit>[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'bybit'] });
});

after(async () => {
  for (const exchange of exchanges) await exchange.close();
  await gateway.close();
});

async function ccxtBybit(): Promise<InstanceType<typeof ccxt.pro.bybit>> {
  const exchange = new ccxt.pro.bybit({
    urls: {
      api: {
        public: `${gateway.url}/bybit`,
        ws: {
          public: {
            spot: `${gateway.wsUrl}/bybit/v5/public/spot`,
            linear: `${gateway.wsUrl}/bybit/v5/public/linear`,
          },
        },
      },
    },
    // The categories the gateway serves: ccxt would also load inverse and option markets.
    options: { fetchMarkets: { types: ['spot', 'linear'] } },
  });
  exchanges.push(exchange);
  await exchange.loadHttpProxyAgent();
  await exchange.loadMarkets();
  return exchange;
}

function upstreamHolders(topic: string): number {
  return gateway.simulator!.bybitStats().filter((s) => s.topics.includes(topic)).length;
}

describe('ccxt pro bybit through the gateway', () => {
  it('loads spot and linear markets from the gateway', async () => {
    const exchange = await ccxtBybit();
    assert.deepEqual(Object.keys(exchange.markets ?? {}).sort(), [
      'BNB/USDT',
      'BNB/USDT:USDT',
      'BTC/USDT',
      'BTC/USDT:USDT',
      'ETH/USDT',
      'ETH/USDT:USDT',
      'SOL/USDT',
      'SOL/USDT:USDT',
      'XRP/USDT',
      'XRP/USDT:USDT',
    ]);
  });

  it('watches trades, an order book and candles on spot and trades on linear', async () => {
    const exchange = await ccxtBybit();
    const trades = await exchange.watchTrades('BTC/USDT');
    assert.ok(trades.length >= 1);
    for (const trade of trades) {
      assert.equal(trade.symbol, 'BTC/USDT');
      assert.ok(trade.price! > 0 && trade.amount! > 0);
      assert.ok(trade.side === 'buy' || trade.side === 'sell');
    }

    const book = await exchange.watchOrderBook('ETH/USDT');
    assert.ok(book.bids.length >= 1 && book.asks.length >= 1);
    assert.ok(book.bids[0]![0]! < book.asks[0]![0]!);
    for (let i = 1; i < book.bids.length; i++) assert.ok(book.bids[i]![0]! < book.bids[i - 1]![0]!);
    for (let i = 1; i < book.asks.length; i++) assert.ok(book.asks[i]![0]! > book.asks[i - 1]![0]!);

    const candles = await exchange.watchOHLCV('BTC/USDT', '1m');
    assert.ok(candles.length >= 1);
    const [time, open, high, low, close, volume] = candles[candles.length - 1]!;
    assert.equal(time! % 60_000, 0);
    assert.ok(low! <= open! && open! <= high! && low! <= close! && close! <= high! && volume! >= 0);

    const linear = await exchange.watchTrades('BTC/USDT:USDT');
    assert.ok(linear.length >= 1 && linear.every((t) => t.symbol === 'BTC/USDT:USDT'));
  });

  it('gives a second ccxt client of the same book a book of its own, on one upstream subscription', async () => {
    const [first, second] = [await ccxtBybit(), await ccxtBybit()];
    let a = await first.watchOrderBook('SOL/USDT');
    let b = await second.watchOrderBook('SOL/USDT');
    // Each book moves on its own socket: step the one behind until both applied the same update (the
    // venue's `ts`, 50 ms apart at this rate), then they must hold the same levels: the later client's
    // book started from a snapshot, not from deltas alone.
    for (let i = 0; i < 100 && a.timestamp !== b.timestamp; i++) {
      if (a.timestamp! < b.timestamp!) a = await first.watchOrderBook('SOL/USDT');
      else b = await second.watchOrderBook('SOL/USDT');
    }
    assert.equal(a.timestamp, b.timestamp);
    const levels = (side: [number, number][]) => side.map(([price, amount]) => [price, amount]);
    assert.ok(a.bids.length >= 10 && a.asks.length >= 10);
    assert.deepEqual(levels(b.bids as [number, number][]), levels(a.bids as [number, number][]));
    assert.deepEqual(levels(b.asks as [number, number][]), levels(a.asks as [number, number][]));
    const topics = gateway
      .simulator!.bybitStats()
      .flatMap((s) => s.topics.filter((t) => t.endsWith('.SOLUSDT')));
    assert.equal(topics.length, 1);
    assert.equal(upstreamHolders(topics[0]!), 1);
  });
});
