/** The one parser of Binance upgrade paths, shared by the gateway and the simulator. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConnectionPath } from '../../src/exchange/binance/connection-path.js';

describe('parseConnectionPath', () => {
  it('accepts stream paths and label segments', () => {
    const cases: [string, boolean, string[]][] = [
      ['/ws', false, []],
      ['/ws/', false, []],
      ['/ws/0', false, []],
      ['/ws/12/', false, []],
      ['/ws/btcusdt@trade', false, ['btcusdt@trade']],
      ['/ws/btcusdt%40trade/btcusdt@trade', false, ['btcusdt@trade']],
      ['/ws/0/ethusdt@kline_1m/!miniTicker@arr', false, ['ethusdt@kline_1m', '!miniTicker@arr']],
      ['/stream', true, []],
      ['/stream?streams=btcusdt@trade/ethusdt@depth5@100ms', true, ['btcusdt@trade', 'ethusdt@depth5@100ms']],
      // Repeats once, a query on /ws ignored, an absolute-form target read by its path.
      ['/ws/btcusdt@trade/btcusdt@trade?x=1', false, ['btcusdt@trade']],
      ['http://host:9443/ws/btcusdt@trade', false, ['btcusdt@trade']],
      // A trailing slash, an empty list, empty entries, escapes in the query, the first `streams` only.
      ['/stream/', true, []],
      ['/stream?streams=', true, []],
      ['/stream?streams=btcusdt@trade//ethusdt@trade/', true, ['btcusdt@trade', 'ethusdt@trade']],
      ['/stream?streams=btcusdt%40trade%2Fethusdt@trade', true, ['btcusdt@trade', 'ethusdt@trade']],
      ['/stream?streams=btcusdt@trade&streams=ethusdt@trade', true, ['btcusdt@trade']],
    ];
    for (const [path, combined, streams] of cases) {
      assert.deepEqual(parseConnectionPath(path), { ok: true, combined, streams }, path);
    }
  });

  it('refuses mistyped streams (400) and other paths (404)', () => {
    const cases: [string, number, string][] = [
      ['/ws/BTCUSDT@trade', 400, 'invalid_stream'],
      ['/ws/0/btcusdt@trades', 400, 'invalid_stream'],
      ['/stream?streams=0', 400, 'invalid_stream'],
      ['/stream?streams=BTCUSDT@trade', 400, 'invalid_stream'],
      ['/ws/%E0%A4%A', 400, 'path'],
      ['/ws/%ZZ', 400, 'path'],
      ['*', 400, 'path'],
      ['http://[/ws', 400, 'path'],
      ['//ws/btcusdt@trade', 404, 'path'],
      ['/ws0', 404, 'path'],
      ['/', 404, 'path'],
      ['/stream/btcusdt@trade', 404, 'path'],
      ['/streams', 404, 'path'],
    ];
    assert.equal(parseConnectionPath(undefined).ok, false);
    for (const [path, status, reason] of cases) {
      const parsed = parseConnectionPath(path);
      assert.equal(parsed.ok, false, path);
      if (!parsed.ok) assert.deepEqual([parsed.status, parsed.reason], [status, reason], path);
    }
  });
});
