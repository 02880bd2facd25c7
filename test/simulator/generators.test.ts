import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStreamName } from '../../src/exchange/binance/streams.js';
import { RollingWindow } from '../../src/limits/rolling-window.js';
import { formatFixed, percentChange } from '../../src/simulator/generators/decimal.js';
import { createGenerator } from '../../src/simulator/generators/event-generator.js';
import { candleBounds } from '../../src/simulator/generators/kline-generator.js';

describe('simulator building blocks', () => {
  it('formats integer units as fixed-point decimal strings without floats', () => {
    assert.equal(formatFixed(6_500_001_000_000), '65000.01000000');
    assert.equal(formatFixed(1), '0.00000001');
    assert.equal(formatFixed(0), '0.00000000');
    assert.equal(formatFixed(-150_000_000), '-1.50000000');
    assert.equal(formatFixed(123_456_789_012_345_678_901n), '1234567890123.45678901');
    assert.equal(percentChange(101, 100), '1.00');
    assert.equal(percentChange(99, 100), '-1.00');
  });

  it('bounds candles in UTC, weeks from Monday and months by the calendar', () => {
    const t = Date.UTC(2024, 1, 15, 13, 45, 30, 500); // Thursday 15 Feb 2024
    assert.deepEqual(candleBounds('1s', t), [
      Date.UTC(2024, 1, 15, 13, 45, 30),
      Date.UTC(2024, 1, 15, 13, 45, 30, 999),
    ]);
    assert.deepEqual(candleBounds('15m', t), [
      Date.UTC(2024, 1, 15, 13, 45),
      Date.UTC(2024, 1, 15, 13, 59, 59, 999),
    ]);
    assert.deepEqual(candleBounds('4h', t), [
      Date.UTC(2024, 1, 15, 12),
      Date.UTC(2024, 1, 15, 15, 59, 59, 999),
    ]);
    assert.deepEqual(candleBounds('1w', t), [Date.UTC(2024, 1, 12), Date.UTC(2024, 1, 18, 23, 59, 59, 999)]);
    assert.deepEqual(candleBounds('1M', t), [Date.UTC(2024, 1, 1), Date.UTC(2024, 1, 29, 23, 59, 59, 999)]);
  });

  it('closes a kline with "x":true when its interval ends', () => {
    const gen = createGenerator(parseStreamName('btcusdt@kline_1s')!, 1, ['btcusdt'], 0);
    const t0 = Date.UTC(2024, 0, 1, 0, 0, 0, 100);
    const open = JSON.parse(gen.next(t0)) as { k: { x: boolean; t: number } };
    const closing = JSON.parse(gen.next(t0 + 1000)) as { k: { x: boolean; t: number } };
    const next = JSON.parse(gen.next(t0 + 1001)) as { k: { x: boolean; t: number } };
    assert.equal(open.k.x, false);
    assert.deepEqual([closing.k.x, closing.k.t], [true, open.k.t]);
    assert.deepEqual([next.k.x, next.k.t], [false, open.k.t + 1000]);
  });

  it('never closes a kline that ended before the last one: after a gap the current candle opens', () => {
    type K = { E: number; k: { x: boolean; t: number; T: number } };
    const t0 = Date.UTC(2024, 0, 1, 0, 0, 0, 100);
    const quiet = createGenerator(parseStreamName('btcusdt@kline_1s')!, 1, ['btcusdt'], 0);
    quiet.next(t0);
    const later = JSON.parse(quiet.next(t0 + 5000)) as K;
    assert.deepEqual([later.k.x, later.k.t], [false, t0 - 100 + 5000], 'no close of a candle 4 s old');

    const idle = createGenerator(parseStreamName('btcusdt@kline_1m')!, 1, ['btcusdt'], 0);
    idle.next(t0);
    idle.skip(100);
    const back = JSON.parse(idle.next(t0 + 30_000)) as K;
    assert.equal(back.k.x, false);
    assert.equal(back.k.t, t0 - 100);
  });

  it('advances sequence ids when events are skipped', () => {
    const gen = createGenerator(parseStreamName('btcusdt@trade')!, 1, ['btcusdt'], 0);
    const first = (JSON.parse(gen.next(1)) as { t: number }).t;
    gen.skip(10);
    assert.equal((JSON.parse(gen.next(2)) as { t: number }).t, first + 11);
  });

  it('enforces a strict rolling window', () => {
    const window = new RollingWindow(5, 1000);
    for (let t = 0; t < 5; t++) assert.equal(window.tryRecord(t * 100), true);
    assert.equal(window.tryRecord(999), false, 'a sixth frame inside the first second');
    assert.equal(window.tryRecord(1000), true, 'the first frame has left the window');
    assert.equal(window.tryRecord(1050), false, 'frames at 100..400 and 1000 are still inside');
    assert.equal(window.tryRecord(1100), true);
  });
});
