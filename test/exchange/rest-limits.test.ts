/**
 * Binance REST facts shared by the simulator and the gateway: request weights, query rules and the
 * per-IP weight budget (429, then 418 with bans doubling). The budget takes its clock as a parameter,
 * so windows and bans are driven by a plain counter here instead of waiting minutes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryError, requestWeight } from '../../src/exchange/binance/rest-query.js';
import { WeightBudget } from '../../src/limits/weight-budget.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('Binance REST weights and query rules', () => {
  it('weighs /depth by its limit and the other calls by their fixed weight', () => {
    assert.deepEqual(
      ['', 'limit=100', 'limit=101', 'limit=500', 'limit=1000', 'limit=1001', 'limit=99999', 'limit=x'].map(
        (s) => requestWeight('depth', q(`symbol=BTCUSDT&${s}`)),
      ),
      [5, 5, 25, 25, 50, 250, 250, 5],
    );
    assert.deepEqual(
      (['ping', 'time', 'exchangeInfo', 'trades', 'aggTrades', 'klines'] as const).map((e) =>
        requestWeight(e, q('')),
      ),
      [1, 1, 20, 25, 4, 2],
    );
  });

  it('finds the first broken rule of a query, in Binance codes', () => {
    const code = (endpoint: Parameters<typeof queryError>[0], s: string) => queryError(endpoint, q(s))?.code;
    assert.equal(code('ping', 'anything=1'), undefined);
    assert.equal(code('exchangeInfo', ''), undefined);
    assert.equal(code('exchangeInfo', 'symbol=btc'), -1100);
    assert.equal(code('depth', ''), -1102);
    assert.equal(code('depth', 'symbol=BTCUSDT&limit=0'), -1100);
    assert.equal(code('trades', 'symbol=BTCUSDT&limit=5'), undefined);
    assert.equal(code('aggTrades', 'symbol=BTCUSDT&fromId=1&endTime=5'), -1128);
    assert.equal(code('aggTrades', 'symbol=BTCUSDT&startTime=0&endTime=3600001'), -1127);
    assert.equal(code('aggTrades', 'symbol=BTCUSDT&startTime=0&endTime=3600000'), undefined);
    assert.equal(code('klines', 'symbol=BTCUSDT'), -1102);
    assert.equal(code('klines', 'symbol=BTCUSDT&interval=2m'), -1120);
    assert.equal(code('klines', 'symbol=BTCUSDT&interval=1m&startTime=-1'), -1100);
  });
});

describe('WeightBudget', () => {
  const options = { limit: 10, windowMs: 1000, requestsBeforeBan: 2, banMs: 5000 };

  it('refuses with 429 past the limit, bans with 418 after more requests, and doubles a repeat ban', () => {
    let now = 0;
    const budget = new WeightBudget(options, () => now);
    assert.deepEqual(budget.charge('a', 6), { status: 200, used: 6 });
    assert.deepEqual(budget.charge('b', 6), { status: 200, used: 6 }, 'each IP has its own budget');
    now = 400;
    assert.deepEqual(budget.charge('a', 6), { status: 429, used: 12, retryAfterS: 1 });
    assert.equal(budget.charge('a', 1).status, 429);
    assert.equal(budget.charge('a', 1).status, 429);
    assert.deepEqual(budget.charge('a', 1), { status: 418, used: 15, retryAfterS: 5, until: 5400 });
    now = 5399;
    assert.equal(budget.charge('a', 1).status, 418, 'banned until the end, whatever the window');
    now = 5400;
    assert.deepEqual(budget.charge('a', 1), { status: 200, used: 1 });
    for (let i = 0; i < 3; i++) budget.charge('a', 10);
    assert.deepEqual(budget.charge('a', 1), { status: 418, used: 32, retryAfterS: 10, until: 15_400 });
  });

  it('keeps a banned IP banned while 100,000 other IPs fill the table', () => {
    const now = 0;
    const budget = new WeightBudget({ ...options, requestsBeforeBan: 0 }, () => now);
    budget.charge('banned', 11);
    assert.equal(budget.charge('banned', 1).status, 418);
    for (let i = 0; i < 100_000; i++) budget.charge(`other-${i}`, 1);
    assert.equal(budget.size, 100_000, 'the table stays at its cap');
    assert.equal(budget.charge('banned', 1).status, 418, 'the ban outlived the eviction of others');
  });

  it('forgets the IPs it has not seen for two windows, at the first charge of a window', () => {
    let now = 0;
    const budget = new WeightBudget(options, () => now);
    budget.charge('a', 1);
    budget.charge('b', 1);
    now = 3000;
    budget.charge('a', 1);
    assert.equal(budget.size, 1, 'b was forgotten though no new IP came');
  });
});
