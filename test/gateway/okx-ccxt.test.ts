/**
 * ccxt pro's `okx`, unmodified, with its `urls` pointed at the gateway (REST base `/okx`, WebSocket base
 * `/okx/ws/v5`, to which ccxt adds `/public`, or `/business` for candles): it loads markets through the
 * gateway's REST routes and watches trades, order books and candles through OKX's protocol. ccxt opens
 * `ws://` URLs only after `loadHttpProxyAgent()` (its documented call for non-TLS sockets).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ccxt from 'ccxt';
import type { RunningGateway } from '../../src/gateway/index.js';
import { startTestGateway } from './helpers.js';

let gateway: RunningGateway;
const exchanges: InstanceType<typeof ccxt.pro.okx>[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'okx'] });
});

after(async () => {
  for (const exchange of exchanges) await exchange.close();
  await gateway.close();
});

async function ccxtOkx(): Promise<InstanceType<typeof ccxt.pro.okx>> {
  const exchange = new ccxt.pro.okx({
    urls: { api: { rest: `${gateway.url}/okx`, ws: `${gateway.wsUrl}/okx/ws/v5` } },
  });
  exchanges.push(exchange);
  await exchange.loadHttpProxyAgent();
  await exchange.loadMarkets();
  return exchange;
}

function upstreamHolders(stream: string): number {
  return gateway.simulator!.okxStats().filter((s) => s.channels.includes(stream)).length;
}

describe('ccxt pro okx through the gateway', () => {
  it('loads the spot markets from the gateway (the other instrument types come back empty)', async () => {
    const exchange = await ccxtOkx();
    assert.deepEqual(Object.keys(exchange.markets ?? {}).sort(), [
      'BNB/USDT',
      'BTC/USDT',
      'ETH/USDT',
      'SOL/USDT',
      'XRP/USDT',
    ]);
    // SPOT, FUTURES, SWAP and OPTION (twice, one per underlying) were asked: the gateway answered them all.
    assert.equal(gateway.simulator!.okxRestRequests('public/instruments'), 5);
  });

  it('watches trades, an order book and candles', async () => {
    const exchange = await ccxtOkx();
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
    // Further updates apply on it: ccxt rejects one whose prevSeqId is not its book's seqId.
    const nonce = book.nonce!;
    const later = await exchange.watchOrderBook('ETH/USDT');
    assert.ok(later.nonce! > nonce);

    const candles = await exchange.watchOHLCV('BTC/USDT', '1m');
    assert.ok(candles.length >= 1);
    const [time, open, high, low, close, volume] = candles[candles.length - 1]!;
    assert.equal(time! % 60_000, 0);
    assert.ok(low! <= open! && open! <= high! && low! <= close! && close! <= high! && volume! >= 0);
    const business = gateway.simulator!.okxStats().filter((s) => s.channels.includes('candle1m:BTC-USDT'));
    assert.deepEqual(
      business.map((s) => s.route),
      ['business'],
    );
  });

  it('gives a second ccxt client of the same book a book of its own, on one upstream subscription', async () => {
    const [first, second] = [await ccxtOkx(), await ccxtOkx()];
    let a = await first.watchOrderBook('SOL/USDT');
    let b = await second.watchOrderBook('SOL/USDT');
    // Each book moves on its own socket: step the one behind until both applied the same update (its
    // seqId), then they must hold the same levels: the later client's book started from a snapshot.
    for (let i = 0; i < 100 && a.nonce !== b.nonce; i++) {
      if (a.nonce! < b.nonce!) a = await first.watchOrderBook('SOL/USDT');
      else b = await second.watchOrderBook('SOL/USDT');
    }
    assert.equal(a.nonce, b.nonce);
    const levels = (side: [number, number][]) => side.map(([price, amount]) => [price, amount]);
    assert.ok(a.bids.length >= 10 && a.asks.length >= 10);
    assert.deepEqual(levels(b.bids as [number, number][]), levels(a.bids as [number, number][]));
    assert.deepEqual(levels(b.asks as [number, number][]), levels(a.asks as [number, number][]));
    assert.equal(upstreamHolders('books:SOL-USDT'), 1);
  });
});
