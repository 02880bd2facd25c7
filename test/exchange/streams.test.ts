import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidStreamName, parseStreamName, sequenceRange } from '../../src/exchange/binance/streams.js';

describe('Binance stream grammar', () => {
  it('accepts every documented stream form', () => {
    const valid = [
      'btcusdt@trade',
      'btcusdt@aggTrade',
      'btcusdt@bookTicker',
      'btcusdt@miniTicker',
      'btcusdt@ticker',
      'btcusdt@avgPrice',
      'btcusdt@kline_1s',
      'btcusdt@kline_1M',
      'btcusdt@ticker_4h',
      'btcusdt@depth',
      'btcusdt@depth@100ms',
      'btcusdt@depth5',
      'btcusdt@depth20@100ms',
      '!miniTicker@arr',
    ];
    for (const s of valid) assert.ok(isValidStreamName(s), s);
  });

  it('rejects uppercase symbols, unknown kinds and bad parameters', () => {
    const invalid = [
      'BTCUSDT@trade',
      'btcusdt@trades',
      'btcusdt@kline_2m',
      'btcusdt@depth15',
      'btcusdt',
      '',
      '@trade',
    ];
    for (const s of invalid) assert.equal(isValidStreamName(s), false, s);
    assert.equal(isValidStreamName(42), false);
  });

  it('splits a name into kind, symbol and parameter', () => {
    assert.deepEqual(parseStreamName('ethusdt@depth10@100ms'), {
      name: 'ethusdt@depth10@100ms',
      kind: 'partialDepth',
      symbol: 'ethusdt',
      param: '10',
      speedMs: 100,
    });
    assert.equal(parseStreamName('ethusdt@kline_15m')?.param, '15m');
  });

  it('reads sequence ranges from payloads', () => {
    assert.deepEqual(sequenceRange('trade', { t: 7 }), { first: 7, last: 7 });
    assert.deepEqual(sequenceRange('depth', { U: 3, u: 9 }), { first: 3, last: 9 });
    assert.equal(sequenceRange('ticker', { u: 1 }), undefined);
    assert.equal(sequenceRange('trade', { t: '7' }), undefined);
  });
});
