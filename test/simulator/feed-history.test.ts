/**
 * The REST history of a sequenced feed: a ring of byte slots that must give back exactly the payloads
 * recorded (past the end of an allocation chunk, after wrapping, and for a payload longer than a slot).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequencedHistory } from '../../src/simulator/rest/feed-history.js';

const payload = (a: number, extra = ''): string =>
  `{"e":"aggTrade","E":${a},"s":"BTCUSDT","a":${a},"p":"1.00000000","q":"2.00000000"${extra},"T":${1000 + a}}`;

describe('SequencedHistory', () => {
  it('keeps the last `capacity` payloads exactly, in order, across chunks and after wrapping', () => {
    const history = new SequencedHistory(1000, 'a');
    for (let a = 1; a <= 2500; a++) history.record(payload(a));
    assert.equal(history.size, 1000);
    assert.equal(history.oldestId, 1501);
    const all = history.latest(1000);
    assert.deepEqual(
      all,
      Array.from({ length: 1000 }, (_, i) => payload(1501 + i)),
    );
    assert.deepEqual(history.fromId(2000, 3), [payload(2000), payload(2001), payload(2002)]);
    assert.deepEqual(history.fromId(10, 1), [payload(1501)], 'older than kept: from the oldest');
    assert.deepEqual(history.fromId(9999, 5), []);
    assert.deepEqual(history.between(1000 + 2100, 1000 + 2102, 10), [
      payload(2100),
      payload(2101),
      payload(2102),
    ]);
  });

  it('keeps a payload longer than a slot whole, and forgets it when its slot is reused', () => {
    const history = new SequencedHistory(3, 'a');
    const long = payload(1, `,"x":"${'y'.repeat(400)}"`);
    history.record(long);
    history.record(payload(2));
    history.record(payload(3));
    assert.deepEqual(history.latest(3), [long, payload(2), payload(3)]);
    history.record(payload(4));
    assert.deepEqual(history.latest(3), [payload(2), payload(3), payload(4)]);
    assert.equal(history.oldestId, 2);
  });

  it('keeps nothing with capacity 0', () => {
    const history = new SequencedHistory(0, 't');
    history.record(payload(1));
    assert.equal(history.size, 0);
    assert.deepEqual(history.latest(5), []);
    assert.ok(Number.isNaN(history.oldestId));
  });
});
