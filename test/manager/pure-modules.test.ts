import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptBudget } from '../../src/manager/attempt-budget.js';
import { backoffDelay } from '../../src/manager/backoff.js';
import { GapDetector } from '../../src/manager/gap-detector.js';
import { RollingWindow } from '../../src/rolling-window.js';

test('backoff: full jitter below min(cap, base * 2^attempt)', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    backoffDelay(0, policy, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(0, policy, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(1, policy, () => 0.5),
    100,
  );
  assert.equal(
    backoffDelay(3, policy, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelay(4, policy, () => 0.5),
    500,
    'capped at maxDelayMs',
  );
  assert.equal(
    backoffDelay(5000, policy, () => 0.999),
    999,
    '2^attempt overflow still capped',
  );
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(backoffDelay(2, policy, Math.random));
  assert.ok(seen.size > 50, 'delays are spread, not fixed');
  for (const d of seen) assert.ok(d >= 0 && d < 400);
});

test('rolling window limiter: never more than limit within any window', () => {
  const limiter = new RollingWindow(4, 1000);
  const taken: number[] = [];
  for (let t = 0; t < 5000; t += 7) if (limiter.tryRecord(t)) taken.push(t);
  for (let i = 4; i < taken.length; i++)
    assert.ok(taken[i]! - taken[i - 4]! >= 1000, `window breached at ${taken[i]}`);
  assert.ok(taken.length >= 18 && taken.length <= 20, `paced at ~4/s, got ${taken.length}`);
  const fresh = new RollingWindow(2, 1000);
  assert.equal(fresh.waitMs(0), 0);
  fresh.tryRecord(0);
  fresh.tryRecord(10);
  assert.equal(fresh.waitMs(500), 500);
  assert.equal(fresh.tryRecord(999), false);
  assert.equal(fresh.tryRecord(1000), true);
  assert.equal(fresh.used(1000), 2);
});

test('attempt budget: limit per window, then wait until the oldest expires', () => {
  const budget = new AttemptBudget(3, 60_000);
  assert.ok(budget.tryTake(0));
  assert.ok(budget.tryTake(1));
  assert.ok(budget.tryTake(2));
  assert.equal(budget.tryTake(3), false);
  assert.equal(budget.waitMs(3), 59_997);
  assert.ok(budget.tryTake(60_000));
  assert.equal(budget.used(60_000), 3);
});

test('gap detector: in order, gap, duplicate; depth ranges', () => {
  const trades = new GapDetector(true);
  assert.deepEqual(trades.check({ first: 10, last: 10 }), { kind: 'in-order' });
  assert.deepEqual(trades.check({ first: 11, last: 11 }), { kind: 'in-order' });
  assert.deepEqual(trades.check({ first: 15, last: 15 }), {
    kind: 'gap',
    expected: 12,
    received: 15,
    missed: 3,
  });
  assert.deepEqual(trades.check({ first: 14, last: 14 }), { kind: 'duplicate' });
  assert.equal(trades.lastId, 15);
  const depth = new GapDetector(true);
  depth.check({ first: 1, last: 5 });
  assert.deepEqual(depth.check({ first: 6, last: 9 }), { kind: 'in-order' });
  assert.deepEqual(depth.check({ first: 12, last: 20 }), {
    kind: 'gap',
    expected: 10,
    received: 12,
    missed: 2,
  });
  const book = new GapDetector(false);
  book.check({ first: 100, last: 100 });
  assert.deepEqual(
    book.check({ first: 180, last: 180 }),
    { kind: 'in-order' },
    'bookTicker ids jump without gaps',
  );
  assert.deepEqual(book.check({ first: 150, last: 150 }), { kind: 'duplicate' });
});
