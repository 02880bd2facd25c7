/**
 * How a stream holds its subscribers: a lone plain function is held as is, a second subscriber turns
 * the stream's subscribers into a list. These check that every subscribe() stays its own subscription
 * across those forms, and that a removal during a delivery is seen by that delivery.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

const tradeId = (data: unknown): number => (data as { t: number }).t;

test('the same function subscribed twice is two subscriptions, each ended by its own unsubscribe', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const ids: number[] = [];
    const fn = (data: unknown) => ids.push(tradeId(data));
    const first = manager.subscribe('btcusdt@trade', fn);
    const second = manager.subscribe('btcusdt@trade', fn);
    assert.equal(manager.getMetrics().subscribers, 2);
    await waitFor('ten deliveries', () => ids.length >= 10);
    first();
    first();
    assert.equal(manager.getMetrics().subscribers, 1, 'one unsubscribe removed one subscription');
    const twice = ids.length;
    await waitFor('ten more deliveries', () => ids.length >= twice + 10);
    second();
    assert.equal(manager.getMetrics().subscribers, 0);
    // Before the first unsubscribe every event came twice in a row; after it, once.
    for (let i = 0; i + 1 < twice; i += 2)
      assert.equal(ids[i], ids[i + 1], `event ${ids[i]} delivered twice`);
    assert.equal(twice % 2, 0, 'both subscriptions got every event');
    const once = ids.slice(twice);
    for (let i = 1; i < once.length; i++)
      assert.equal(once[i], once[i - 1]! + 1, 'later events once each, in order');
  } finally {
    await manager.destroy();
  }
});

test('a subscriber removed by another during a delivery gets nothing more, that delivery included', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    let removeB: (() => void) | undefined;
    manager.subscribe('ethusdt@trade', (data) => {
      a.push(tradeId(data));
      if (a.length === 5) removeB?.();
    });
    removeB = manager.subscribe('ethusdt@trade', (data) => b.push(tradeId(data)));
    manager.subscribe('ethusdt@trade', (data) => c.push(tradeId(data)));
    await waitFor('ten deliveries to the first subscriber', () => a.length >= 10);
    assert.deepEqual(b, a.slice(0, 4), 'the removed subscriber got the events before its removal only');
    assert.deepEqual(c, a.slice(0, c.length), 'the subscriber after it missed nothing');
    assert.ok(c.length >= 10);
    assert.equal(manager.getMetrics().subscribers, 2);
  } finally {
    await manager.destroy();
  }
});
