/**
 * Unified symbols ⇄ each venue's instruments, and each venue's trade payloads read into one `Trade`
 * shape: the pure parts of the cross-venue view.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binance } from '../../src/exchange/binance/index.js';
import { bybitLinear, bybitSpot } from '../../src/exchange/bybit/index.js';
import type { MarketView, Trade, TradeSink } from '../../src/exchange/exchange.js';
import { okx } from '../../src/exchange/okx/index.js';
import { parseUnified, splitConcatenated } from '../../src/exchange/unified-symbol.js';

const market = (view: MarketView | undefined): MarketView => {
  assert.ok(view, 'the adapter has a market part');
  return view;
};
const binanceView = market(binance.market);
const spotView = market(bybitSpot.market);
const linearView = market(bybitLinear.market);
const okxView = market(okx.market);

function venueSymbol(view: MarketView, symbol: string): string {
  const answer = view.toVenue(symbol);
  assert.ok(answer.ok, `${symbol}: ${answer.ok ? '' : answer.reason}`);
  return answer.symbol;
}

function reason(view: MarketView, symbol: string): string {
  const answer = view.toVenue(symbol);
  assert.ok(!answer.ok, `${symbol} should be refused, got ${answer.ok ? answer.symbol : ''}`);
  return answer.reason;
}

class Collect implements TradeSink {
  readonly trades: Trade[] = [];
  trade(trade: Trade): void {
    this.trades.push(trade);
  }
}

describe('unified symbols', () => {
  it('parse BASE/QUOTE, BASE/QUOTE:SETTLE and a dated future', () => {
    assert.deepEqual(parseUnified('BTC/USDT'), {
      base: 'BTC',
      quote: 'USDT',
      settle: undefined,
      expiry: undefined,
    });
    assert.deepEqual(parseUnified('BTC/USD:BTC-250627'), {
      base: 'BTC',
      quote: 'USD',
      settle: 'BTC',
      expiry: '250627',
    });
    for (const bad of [
      'btc/usdt',
      'BTCUSDT',
      'BTC-USDT',
      'BTC/',
      '/USDT',
      'BTC/USDT:',
      'BTC/USDT:USDT-2506',
      42,
      undefined,
    ]) {
      assert.equal(parseUnified(bad), undefined, String(bad));
    }
  });

  it('split concatenated symbols at the longest known quote', () => {
    assert.deepEqual(splitConcatenated('BTCUSDT'), ['BTC', 'USDT']);
    assert.deepEqual(splitConcatenated('BTCFDUSD'), ['BTC', 'FDUSD']);
    assert.deepEqual(splitConcatenated('FDUSDUSDT'), ['FDUSD', 'USDT']);
    assert.deepEqual(splitConcatenated('ETHBTC'), ['ETH', 'BTC']);
    assert.deepEqual(splitConcatenated('USDTTRY'), ['USDT', 'TRY']);
    assert.deepEqual(splitConcatenated('1000PEPEUSDC'), ['1000PEPE', 'USDC']);
    assert.equal(splitConcatenated('USDT'), undefined, 'a quote alone has no base');
    assert.equal(splitConcatenated('BTCXYZ'), undefined, 'an unknown quote is not guessed');
  });

  it('map to and from Binance spot', () => {
    assert.equal(venueSymbol(binanceView, 'BTC/USDT'), 'btcusdt');
    assert.equal(venueSymbol(binanceView, 'ETH/BTC'), 'ethbtc');
    assert.equal(binanceView.fromVenue('btcusdt'), 'BTC/USDT');
    assert.equal(binanceView.fromVenue('bnbfdusd'), 'BNB/FDUSD');
    assert.equal(binanceView.fromVenue('BTCUSDT'), undefined, 'Binance stream symbols are lowercase');
    assert.equal(binanceView.fromVenue('btcxyz'), undefined);
    assert.match(reason(binanceView, 'BTC/USDT:USDT'), /spot only/);
    assert.match(reason(binanceView, 'btcusdt'), /uppercase unified symbol/);
    assert.equal(binanceView.tradeStream('btcusdt'), 'btcusdt@trade');
  });

  it('map to and from Bybit spot and linear, each refusing the other market', () => {
    assert.equal(venueSymbol(spotView, 'BTC/USDT'), 'BTCUSDT');
    assert.equal(venueSymbol(linearView, 'BTC/USDT:USDT'), 'BTCUSDT');
    assert.equal(spotView.fromVenue('BTCUSDT'), 'BTC/USDT');
    assert.equal(linearView.fromVenue('BTCUSDT'), 'BTC/USDT:USDT');
    assert.equal(linearView.fromVenue('BTCPERP'), undefined);
    assert.match(reason(spotView, 'BTC/USDT:USDT'), /bybitLinear serves it/);
    assert.match(reason(linearView, 'BTC/USDT'), /bybitSpot serves it/);
    assert.match(reason(linearView, 'BTC/USDC:USDC'), /USDT-settled perpetuals only/);
    assert.match(reason(linearView, 'BTC/USDT:USDT-250627'), /USDT-settled perpetuals only/);
    assert.equal(spotView.tradeStream('BTCUSDT'), 'publicTrade.BTCUSDT');
  });

  it('map to and from OKX spot, swaps and futures, with the settle currency checked', () => {
    assert.equal(venueSymbol(okxView, 'BTC/USDT'), 'BTC-USDT');
    assert.equal(venueSymbol(okxView, 'BTC/USDT:USDT'), 'BTC-USDT-SWAP');
    assert.equal(venueSymbol(okxView, 'BTC/USD:BTC'), 'BTC-USD-SWAP');
    assert.equal(venueSymbol(okxView, 'BTC/USD:BTC-250627'), 'BTC-USD-250627');
    for (const instId of ['BTC-USDT', 'BTC-USDT-SWAP', 'BTC-USD-SWAP', 'ETH-USDC-SWAP', 'BTC-USD-250627']) {
      const unified = okxView.fromVenue(instId);
      assert.ok(unified !== undefined, instId);
      assert.equal(venueSymbol(okxView, unified), instId, `${instId} → ${unified} → back`);
    }
    assert.equal(okxView.fromVenue('BTC-USD-250627-100000-C'), undefined, 'options are not mapped');
    assert.match(reason(okxView, 'BTC/USDT:BTC'), /settles BTC-USDT contracts in USDT/);
    assert.match(reason(okxView, 'BTC/USD:USD'), /settles BTC-USD contracts in BTC/);
    assert.equal(okxView.tradeStream('BTC-USDT'), 'trades:BTC-USDT');
  });
});

describe('trade readers', () => {
  it('read a Binance trade event, the maker buyer making the taker a seller', () => {
    const sink = new Collect();
    const event = {
      e: 'trade',
      E: 2,
      s: 'BTCUSDT',
      t: 17,
      p: '65000.10',
      q: '0.5',
      T: 1_700_000_000_001,
      m: true,
      M: true,
    };
    assert.equal(binanceView.readTrades(event, 'binance', 'BTC/USDT', false, sink), 0);
    assert.deepEqual(sink.trades, [
      {
        venue: 'binance',
        symbol: 'BTC/USDT',
        id: '17',
        price: '65000.10',
        amount: '0.5',
        side: 'sell',
        timestamp: 1_700_000_000_001,
      },
    ]);
    assert.equal(binanceView.readTrades({ ...event, m: false }, 'binance', 'BTC/USDT', true, sink), 0);
    assert.equal(sink.trades[1]?.side, 'buy');
    assert.equal((sink.trades[1]!.raw as { t: number }).t, 17);
    assert.equal(binanceView.readTrades({ ...event, p: 65000 }, 'binance', 'BTC/USDT', false, sink), 1);
    assert.equal(binanceView.readTrades(null, 'binance', 'BTC/USDT', false, sink), 1);
    assert.equal(sink.trades.length, 2, 'nothing delivered for an unreadable payload');
  });

  it('read every item of a Bybit publicTrade envelope, skipping and counting a bad one', () => {
    const sink = new Collect();
    const envelope = {
      topic: 'publicTrade.BTCUSDT',
      type: 'snapshot',
      ts: 5,
      data: [
        {
          T: 1_700_000_000_002,
          s: 'BTCUSDT',
          S: 'Buy',
          v: '0.01',
          p: '65001',
          L: 'PlusTick',
          i: 'a-1',
          BT: false,
        },
        { T: 1_700_000_000_003, s: 'BTCUSDT', S: 'Hold', v: '0.02', p: '65002', i: 'a-2', BT: false },
        { T: 1_700_000_000_004, s: 'BTCUSDT', S: 'Sell', v: '0.03', p: '65003', i: 'a-3', BT: false },
      ],
    };
    assert.equal(spotView.readTrades(envelope, 'bybit', 'BTC/USDT', false, sink), 1);
    assert.deepEqual(
      sink.trades.map((t) => [t.id, t.price, t.amount, t.side, t.timestamp]),
      [
        ['a-1', '65001', '0.01', 'buy', 1_700_000_000_002],
        ['a-3', '65003', '0.03', 'sell', 1_700_000_000_004],
      ],
    );
    assert.equal(spotView.readTrades({ topic: 'x' }, 'bybit', 'BTC/USDT', false, sink), 1);
  });

  it('read every item of an OKX trades push, the string time made a number', () => {
    const sink = new Collect();
    const push = {
      arg: { channel: 'trades', instId: 'BTC-USDT-SWAP' },
      data: [
        {
          instId: 'BTC-USDT-SWAP',
          tradeId: '130639474',
          px: '42219.9',
          sz: '0.12',
          side: 'buy',
          ts: '1630048897897',
          count: '3',
        },
        { instId: 'BTC-USDT-SWAP', tradeId: '130639475', px: '42219.8', sz: '1', side: 'sell', ts: 'soon' },
      ],
    };
    assert.equal(okxView.readTrades(push, 'okx', 'BTC/USDT:USDT', true, sink), 1);
    assert.equal(sink.trades.length, 1);
    const [trade] = sink.trades;
    assert.deepEqual(
      { ...trade, raw: undefined },
      {
        venue: 'okx',
        symbol: 'BTC/USDT:USDT',
        id: '130639474',
        price: '42219.9',
        amount: '0.12',
        side: 'buy',
        timestamp: 1630048897897,
        raw: undefined,
      },
    );
    assert.equal(trade?.raw, push.data[0]);
  });
});
