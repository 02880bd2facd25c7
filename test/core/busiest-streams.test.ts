import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busiest, ranksBefore } from '../../src/core/busiest-streams.js';

interface Row {
  readonly name: string;
  readonly subscribers: number;
}
const subscribersOf = (r: Row) => r.subscribers;
const nameOf = (r: Row) => r.name;

test('ranks by subscribers, then by name in code-unit order', () => {
  assert.equal(ranksBefore(2, 'z', 1, 'a'), true);
  assert.equal(ranksBefore(1, 'a', 2, 'z'), false);
  // Code units, not locale collation: '1' (0x31) sorts before '@' (0x40) and 'B' before 'a'.
  assert.equal(ranksBefore(1, 'a1', 1, 'a@'), true);
  assert.equal(ranksBefore(1, 'B', 1, 'a'), true);
  assert.equal(ranksBefore(1, 'a', 1, 'a'), false);
});

test('the first `limit` equal those of a full sort, whatever the input order', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let trial = 0; trial < 50; trial++) {
    const rows: Row[] = Array.from({ length: 200 }, (_, i) => ({
      name: `s${Math.floor(random() * 1e6)}x${i}@trade`,
      // Few distinct counts: most comparisons fall to the name.
      subscribers: Math.floor(random() * 4),
    }));
    const sorted = [...rows].sort((a, b) =>
      ranksBefore(a.subscribers, a.name, b.subscribers, b.name) ? -1 : 1,
    );
    for (const limit of [0, 1, 5, 200, 300]) {
      assert.deepEqual(busiest(rows, limit, subscribersOf, nameOf), sorted.slice(0, limit), `limit ${limit}`);
    }
  }
});
