import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_RETRY_AFTER_MS,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  refusalPauseMs,
} from '../../src/limits/retry-after.js';
import { RollingWindow } from '../../src/limits/rolling-window.js';
import { UpstreamAdmission } from '../../src/limits/upstream-admission.js';
import { backoffDelay } from '../../src/manager/backoff.js';
import { GapDetector } from '../../src/manager/gap-detector.js';
import { SilenceDetector } from '../../src/manager/silence-detector.js';
import { captureLogger } from './helpers.js';

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

function admissionAt(clock: { now: number }, limit = 3) {
  const { logger, lines } = captureLogger();
  let counted = 0;
  const admission = new UpstreamAdmission({
    limit,
    windowMs: 60_000,
    name: 'WSManager',
    logger,
    now: () => clock.now,
    meter: { attempted: () => counted++ },
  });
  return { admission, lines, counted: () => counted };
}

test('upstream admission: attempt budget per rolling window, then wait until the oldest expires', () => {
  const clock = { now: 0 };
  const { admission, counted } = admissionAt(clock);
  for (const t of [0, 1, 2]) {
    clock.now = t;
    assert.equal(admission.admit(), 0);
  }
  clock.now = 3;
  assert.equal(admission.admit(), 60_997, 'the window plus the 1 s margin for network delay');
  assert.equal(admission.budgetRatio(), 1);
  clock.now = 61_000;
  assert.equal(admission.admit(), 0);
  assert.equal(admission.attempts, 4);
  assert.equal(counted(), 4, 'only admitted attempts are counted');
});

test('Retry-After: delta-seconds and HTTP-date, unreadable values ignored', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  assert.equal(parseRetryAfter('10', now), 10_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 12:02:00 GMT', now), 120_000);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
});

test('Retry-After: which refusals pause, the default without the header, clamping', () => {
  const now = 1_000_000;
  assert.equal(refusalPauseMs(429, '2', now), 2000);
  assert.equal(refusalPauseMs(418, undefined, now), DEFAULT_RETRY_AFTER_MS);
  assert.equal(refusalPauseMs(429, 'garbage', now), DEFAULT_RETRY_AFTER_MS);
  assert.equal(refusalPauseMs(503, '5', now), 5000);
  assert.equal(refusalPauseMs(503, undefined, now), undefined, 'a 503 without Retry-After: ordinary backoff');
  assert.equal(refusalPauseMs(400, '5', now), undefined);
  assert.equal(refusalPauseMs(429, '0', now), 1000, 'at least 1 s');
  assert.equal(refusalPauseMs(418, String(365 * 24 * 3600), now), MAX_RETRY_AFTER_MS, 'at most 3 days');
});

test('upstream admission: a 429 pauses every attempt until Retry-After, logged once at start and once at end', () => {
  const clock = { now: 0 };
  const { admission, lines } = admissionAt(clock, 100);
  admission.refused(429, '2');
  admission.refused(429, '1'); // a shorter wait never shortens the pause
  assert.equal(admission.admit(), 2000);
  assert.match(admission.pauseReason() ?? '', /refused with HTTP 429: no connection attempt for 2 s/);
  clock.now = 1500;
  admission.refused(418, '3'); // a ban during the pause lengthens it
  assert.equal(admission.pausedMs(), 3000);
  assert.match(admission.pauseReason() ?? '', /banned \(HTTP 418\)/);
  clock.now = 4500;
  assert.equal(admission.pausedMs(), 0);
  assert.equal(admission.pauseReason(), undefined);
  assert.equal(admission.admit(), 0);
  const pauseLines = lines.filter((l) => /Retry-After/.test(l.msg));
  assert.equal(pauseLines.length, 2, JSON.stringify(pauseLines));
  assert.equal(pauseLines[0]!['status'], 429);
  assert.equal(admission.attempts, 1);
});

test('silence detector: probes a busy connection after ~10 usual gaps (at least 1 s), backs off when answered', () => {
  const d = new SilenceDetector({ tickMs: 100, factor: 10, floorMs: 1000, alpha: 0.2, minSamples: 4 });
  // Too few samples: no opinion, only the fixed timeout applies.
  d.frame();
  assert.equal(d.tick(), false);
  assert.equal(d.thresholdMs(), Number.POSITIVE_INFINITY);
  // 20 frames per 100 ms tick: a 5 ms usual gap, so the 1 s floor applies.
  for (let i = 0; i < 10; i++) {
    for (let f = 0; f < 20; f++) d.frame();
    assert.equal(d.tick(), false);
  }
  assert.ok(Math.abs(d.expectedGapMs()! - 5) < 1, String(d.expectedGapMs()));
  let ticks = 0;
  while (!d.tick()) ticks++;
  assert.equal(ticks, 9, 'probe due on the 10th silent tick (1 s)');
  d.probeAnswered();
  ticks = 0;
  while (!d.tick()) ticks++;
  assert.equal(ticks, 19, 'after an answered probe, twice as long');
  d.frame();
  d.tick();
  assert.equal(d.thresholdMs(), 1000, 'traffic resets the backoff');
});

test('silence detector: a sparse stream (one frame per 2 s) gets a threshold of ~20 s', () => {
  const d = new SilenceDetector({ tickMs: 250, factor: 10, floorMs: 1000, alpha: 0.2, minSamples: 4 });
  for (let i = 0; i < 6; i++) {
    for (let t = 0; t < 7; t++) assert.equal(d.tick(), false);
    d.frame();
    d.tick();
  }
  assert.equal(Math.round(d.thresholdMs()), 20_000);
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
