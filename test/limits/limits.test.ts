/**
 * Per-address limiter state: bounded per address whatever the limit, capped in addresses with the
 * documented policy, and swept a few entries at a time. Clocks are plain counters (windows of minutes are
 * not waited for), memory is counted structurally (structural.ts), and work as Map entries visited.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketedWindowPerKey as PerKeyLimit } from '../../src/limits/bucketed-window.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { mapEntriesVisited, structuralBytes } from './structural.js';

describe('per-address upgrade-attempt limit', () => {
  it('gives each key its own window, does not record refusals, never admits more than the limit in a window', () => {
    let now = 0;
    const perKey = new PerKeyLimit(2, 1000, () => now);
    assert.equal(perKey.tryRecord('a'), true);
    assert.equal(perKey.tryRecord('a'), true);
    assert.equal(perKey.tryRecord('a'), false);
    assert.equal(perKey.tryRecord('b'), true, 'another key is not limited by the first');
    now = 999;
    assert.equal(perKey.tryRecord('a'), false, 'a refusal does not move the window');
    // Forgotten once the sub-window of the first attempts (50 ms of 1000) has left the window.
    now = 1050;
    assert.equal(perKey.tryRecord('a'), true);

    const taken: number[] = [];
    for (now = 0; now < 20_000; now += 7) if (perKey.tryRecord('c')) taken.push(now);
    for (let i = 2; i < taken.length; i++)
      assert.ok(taken[i]! - taken[i - 2]! >= 1000, `window breached at ${taken[i]}`);
    assert.ok(taken.length >= 38, `paced at ~2/s, got ${taken.length}`);
  });

  it('keeps per-address memory bounded and independent of the limit', () => {
    const bytesPerAddress = (limit: number): number => {
      const limiter = new PerKeyLimit(limit, 300_000, () => 0);
      const empty = structuralBytes(limiter);
      for (let i = 0; i < 10; i++) limiter.tryRecord(`10.0.0.${i}`);
      return (structuralBytes(limiter) - empty) / 10;
    };
    const binance = bytesPerAddress(300);
    const documentedMaximum = bytesPerAddress(1_000_000);
    assert.equal(documentedMaximum, binance, 'the same state per address whatever the limit');
    assert.ok(documentedMaximum <= 512, `${documentedMaximum} bytes per address`);
  });

  it('costs a new address the same work with 2,000 or 10,000 addresses tracked', () => {
    const visitedPerNewAddress = (tracked: number): number => {
      let now = 0;
      const limiter = new PerKeyLimit(300, 300_000, () => now);
      for (let i = 0; i < tracked; i++) limiter.tryRecord(`a${i}`);
      now = 1000; // every address is still within its window: nothing can be swept
      return (
        mapEntriesVisited(() => {
          for (let i = 0; i < 100; i++) limiter.tryRecord(`b${i}`);
        }) / 100
      );
    };
    const small = visitedPerNewAddress(2_000);
    const large = visitedPerNewAddress(10_000);
    assert.ok(large <= 8, `${large} entries visited per new address among 10,000`);
    assert.ok(large <= small, `${small} among 2,000, ${large} among 10,000`);
  });

  it('at the cap, evicts the longest untouched address and keeps one that is still trying', () => {
    let now = 0;
    const perKey = new PerKeyLimit(2, 300_000, () => now, 100);
    perKey.tryRecord('busy');
    perKey.tryRecord('busy');
    for (let i = 0; i < 1000; i++) {
      now++;
      perKey.tryRecord(`passer-${i}`);
      assert.equal(perKey.tryRecord('busy'), false, `busy is still over its limit after ${i} new addresses`);
    }
    assert.equal(perKey.keys.size, 100);
    assert.ok(perKey.keys.evicted >= 900, `${perKey.keys.evicted} evicted`);
  });
});

describe('HTTP rate limiter (RATE_LIMIT_PER_MINUTE)', () => {
  it('never scans the whole table: a request after a quiet minute visits a few entries', () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now);
    for (let i = 0; i < 20_000; i++) limiter.take(`c${i}`);
    now = 61_000;
    const visited = mapEntriesVisited(() => limiter.take('late'));
    assert.ok(visited <= 8, `${visited} entries visited by one request`);
  });

  it('at the cap, evicts the longest untouched client, not one that keeps asking', () => {
    const limiter = new RateLimiter(2, () => 0);
    limiter.take('active');
    limiter.take('active');
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`passer-${i}`);
      if (i % 1000 === 0) assert.equal(limiter.take('active').allowed, false, `after ${i} new clients`);
    }
    assert.equal(limiter.take('active').allowed, false, 'its spent bucket is remembered');
    assert.equal(limiter.size, 100_000);
  });
});
