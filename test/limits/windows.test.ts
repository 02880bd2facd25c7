/**
 * The fixed window, the Retry-After pause and the weighted answer, with plain counters for clocks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BINANCE_WEIGHT_ANSWERS, BINANCE_WEIGHT_BUDGET } from '../../src/exchange/binance/weight-budget.js';
import { FixedWindow, MINUTE_MS } from '../../src/limits/fixed-window.js';
import { RetryAfterPause } from '../../src/limits/retry-after.js';
import { WeightBudget } from '../../src/limits/weight-budget.js';
import { chargeRequest } from '../../src/limits/weighted-answer.js';

describe('fixed window', () => {
  it('counts within a clock-aligned window and starts again at the next', () => {
    const window = new FixedWindow(1000);
    assert.equal(window.advance(1500), true, 'the first window begins');
    window.used += 7;
    assert.equal(window.advance(1999), false);
    assert.equal(window.used, 7);
    assert.equal(window.msToEnd(1500), 500);
    assert.equal(window.advance(2000), true);
    assert.equal(window.used, 0);
    assert.equal(window.windowsSince(4100), 2);
  });

  it('takes a higher count from elsewhere only while in the same window', () => {
    const window = new FixedWindow(1000);
    window.advance(0);
    window.used = 5;
    window.raiseTo(3, 10);
    assert.equal(window.used, 5, 'a lower count is ignored');
    window.raiseTo(9, 20);
    assert.equal(window.used, 9);
    window.raiseTo(50, 1000);
    assert.equal(window.used, 9, 'a count read after the window ended is ignored');
  });

  it('is the window of the per-minute budgets', () => {
    assert.equal(BINANCE_WEIGHT_BUDGET.windowMs, MINUTE_MS);
  });
});

describe('Retry-After pause', () => {
  it('lengthens, never shortens, and ends when its time has passed', () => {
    const pause = new RetryAfterPause();
    assert.equal(pause.remainingMs(0), 0);
    assert.equal(pause.lengthen(100, 5000), true);
    assert.equal(pause.remainingMs(1100), 4000);
    assert.equal(pause.lengthen(200, 1000), false, 'a shorter pause leaves the longer one');
    assert.equal(pause.endsAt, 5100);
    assert.equal(pause.lengthen(3000, 5000), true);
    assert.equal(pause.remainingMs(8000), 0);
  });
});

describe('weighted answer', () => {
  const options = { limit: 10, windowMs: 1000, requestsBeforeBan: 0, banMs: 5000 };

  it('gives the used weight on a served request, and 429 then 418 with Retry-After and the venue body', () => {
    let now = 200;
    const budget = new WeightBudget(options, () => now);
    const charge = (weight: number) => chargeRequest(budget, BINANCE_WEIGHT_ANSWERS, 'a', weight);
    assert.deepEqual(charge(6), {
      status: 200,
      headers: { 'x-mbx-used-weight-1m': '6', 'x-mbx-used-weight': '6' },
    });
    const over = charge(6);
    assert.equal(over.status, 429);
    assert.deepEqual(Object.entries(over.headers), [
      ['x-mbx-used-weight-1m', '12'],
      ['x-mbx-used-weight', '12'],
      ['retry-after', '1'],
    ]);
    assert.equal(over.status === 429 && over.error.code, -1003);
    assert.match(JSON.stringify(over.status === 429 && over.error), /current limit is 10 request weight/);
    now = 300;
    const banned = charge(1);
    assert.equal(banned.status, 418);
    assert.equal(banned.headers['retry-after'], '5');
    assert.match(JSON.stringify(banned.status === 418 && banned.error), /IP banned until 5300\./);
  });
});
