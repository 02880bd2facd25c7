import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isValidStreamName,
  parseStreamName,
  sequenceRange,
  sequenceRangeIn,
} from '../../src/exchange/binance/streams.js';

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

  it('reads the same sequence ranges from the payload bytes, top-level members only', () => {
    const cases: Array<[kind: string, payload: string]> = [
      ['trade', '{"e":"trade","E":1,"s":"BTCUSDT","t":12345,"p":"1.0","q":"2","T":1,"m":true,"M":true}'],
      ['trade', '{"e":"trade","s":"A\\"t\\":5","t":9}'],
      ['trade', ' { "t" : 4 , "x" : [ {"t":1} , "}" ] } '],
      ['trade', '{"k":{"t":1},"t":2}'],
      ['trade', '{"t":2,"t":3}'],
      ['trade', '{"t":"7"}'],
      ['trade', '{"t":null}'],
      ['trade', '{"x":1}'],
      ['trade', '{}'],
      ['trade', '{"t":1.5}'],
      ['trade', '{"t":-1}'],
      ['trade', '{"t":1e3}'],
      ['trade', '{"t":12345678901234567}'],
      ['trade', '{"\\u0074":8}'],
      ['trade', '[1,2]'],
      ['trade', 'not json'],
      ['trade', '{"t":5'],
      ['aggTrade', '{"e":"aggTrade","a":77,"t":3}'],
      ['depth', '{"e":"depthUpdate","U":10,"u":12,"b":[["1","2"]],"a":[]}'],
      ['depth', '{"U":10}'],
      ['bookTicker', '{"u":400900217,"s":"BNBUSDT","b":"25.3","B":"31.2","a":"25.4","A":"40.6"}'],
      ['kline', '{"e":"kline","k":{"t":1}}'],
    ];
    for (const [kind, payload] of cases) {
      const bytes = Buffer.from(`xx${payload}yy`);
      let data: unknown;
      try {
        data = JSON.parse(payload);
      } catch {
        data = undefined;
      }
      const expected =
        typeof data === 'object' && data !== null
          ? sequenceRange(kind, data as Record<string, unknown>)
          : undefined;
      assert.deepEqual(sequenceRangeIn(kind, bytes, 2, bytes.length - 2), expected, `${kind} ${payload}`);
    }
  });
});
