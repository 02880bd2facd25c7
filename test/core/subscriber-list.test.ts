import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SubscriberList } from '../../src/core/subscriber-list.js';

/** Calls each member still held, as the sources' delivery loops do. */
function deliver(list: SubscriberList<() => void>): void {
  const members = list.members;
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    if (list.holds(members, member)) member();
  }
}

describe('SubscriberList', () => {
  it('keeps subscription order and its size; the returned function removes once', () => {
    const list = new SubscriberList<string>();
    const removeA = list.add('a');
    list.add('b');
    list.add('c');
    assert.deepEqual(list.members, ['a', 'b', 'c']);
    assert.equal(list.size, 3);
    assert.equal(removeA(), true);
    assert.equal(removeA(), false, 'a second call changes nothing');
    assert.equal(list.remove('zz'), false);
    assert.deepEqual(list.members, ['b', 'c']);
    assert.equal(list.size, 2);
  });

  it('adds a member once', () => {
    const list = new SubscriberList<string>();
    list.add('a');
    list.add('a');
    assert.deepEqual(list.members, ['a']);
  });

  it('builds the members array only after a change, and never mutates one it gave out', () => {
    const list = new SubscriberList<string>();
    list.add('a');
    const before = list.members;
    assert.equal(list.members, before, 'unchanged: the same array');
    list.add('b');
    assert.deepEqual(before, ['a']);
    assert.notEqual(list.members, before);
    assert.equal(list.holds(list.members, 'zz'), true, 'an unchanged list answers without a look-up');
  });

  it('skips a member removed by another during delivery; one added meanwhile waits for the next', () => {
    const list = new SubscriberList<() => void>();
    const calls: string[] = [];
    let removeB = (): boolean => false;
    const late = () => calls.push('late');
    list.add(() => {
      calls.push('a');
      removeB();
      list.add(late);
    });
    removeB = list.add(() => calls.push('b'));
    list.add(() => calls.push('c'));
    deliver(list);
    assert.deepEqual(calls, ['a', 'c']);
    calls.length = 0;
    deliver(list);
    assert.deepEqual(calls, ['a', 'c', 'late']);
  });

  it('clear() returns who was in it; their removes are no-ops and a running loop skips them', () => {
    const list = new SubscriberList<() => void>();
    const calls: string[] = [];
    list.add(() => {
      calls.push('a');
      assert.equal(list.clear().length, 2);
    });
    const removeB = list.add(() => calls.push('b'));
    deliver(list);
    assert.deepEqual(calls, ['a']);
    assert.equal(list.size, 0);
    assert.deepEqual(list.members, []);
    assert.equal(removeB(), false);
  });

  it('keeps order, membership and the skip rule past the size where it switches to a Set', () => {
    const list = new SubscriberList<number>();
    const removes = Array.from({ length: 40 }, (_, i) => list.add(i));
    list.add(7);
    assert.equal(list.size, 40, 'a member already in the list is not added again');
    const during = list.members;
    for (let i = 0; i < 40; i += 2) assert.equal(removes[i]!(), true);
    assert.equal(removes[0]!(), false);
    assert.equal(list.size, 20);
    assert.deepEqual(
      list.members,
      Array.from({ length: 20 }, (_, i) => 2 * i + 1),
    );
    assert.equal(during.length, 40, 'an array given out is never changed');
    assert.equal(list.holds(during, 4), false);
    assert.equal(list.holds(during, 5), true);
    for (let i = 1; i < 40; i += 2) removes[i]!();
    assert.equal(list.size, 0);
    list.add(99);
    assert.deepEqual(list.members, [99]);
  });
});
