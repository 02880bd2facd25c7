import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carriesFeed, nodeEntry } from '../../src/cluster/settings-agreement.js';
import { leaseKey } from '../../src/cluster/shard-leases.js';
import {
  BINANCE_FEED,
  feedNames,
  HISTORY_SUBJECTS,
  kvTokenOf,
  subjectOf,
  venueOfFeed,
} from '../../src/cluster/subjects.js';

test("Binance's names are those of a Binance-only cluster", () => {
  assert.equal(BINANCE_FEED.subjectOf('btcusdt@trade'), 'md.binance.btcusdt@trade');
  assert.equal(BINANCE_FEED.subjectOf('btcusdt@trade'), subjectOf('btcusdt@trade'));
  assert.equal(BINANCE_FEED.leaseKey(7), 'shard.7');
  assert.equal(leaseKey(7), 'shard.7');
  assert.equal(
    BINANCE_FEED.demandKey('btcusdt@trade', 'gw-1-ab12'),
    `${kvTokenOf('btcusdt@trade')}.gw-1-ab12`,
  );
  assert.equal(BINANCE_FEED.demandFilter, '>');
});

test('a Bybit market has subjects, lease keys and demand keys of its own', () => {
  const spot = feedNames('bybit.spot');
  const linear = feedNames('bybit.linear');
  assert.equal(spot.subjectOf('publicTrade.BTCUSDT'), 'md.bybit.spot.publicTrade.BTCUSDT');
  assert.equal(spot.streamOfSubject('md.bybit.spot.publicTrade.BTCUSDT'), 'publicTrade.BTCUSDT');
  assert.equal(spot.streamOfSubject('md.bybit.linear.publicTrade.BTCUSDT'), undefined);
  assert.equal(spot.leaseKey(3), 'shard.bybit.spot.3');
  assert.notEqual(spot.leaseKey(3), linear.leaseKey(3));
  const key = spot.demandKey('orderbook.50.BTCUSDT', 'gw-1-ab12');
  assert.equal(key, 'bybit.spot.orderbook=2e50=2eBTCUSDT.gw-1-ab12');
  assert.deepEqual(spot.demandOf(key), { stream: 'orderbook.50.BTCUSDT', owner: 'gw-1-ab12' });
  assert.equal(spot.demandFilter, 'bybit.spot.>');
  assert.equal(venueOfFeed('bybit.spot'), 'bybit');
  // Every venue's subjects are kept by the one history stream.
  assert.ok(HISTORY_SUBJECTS.includes('md.binance.>'));
  assert.ok(HISTORY_SUBJECTS.includes('md.bybit.>'));
});

test("a feed's demand watch takes its own keys only", () => {
  const spot = feedNames('bybit.spot');
  const linear = feedNames('bybit.linear');
  const binanceKey = BINANCE_FEED.demandKey('btcusdt@trade', 'gw-1-ab12');
  const spotKey = spot.demandKey('publicTrade.BTCUSDT', 'gw-1-ab12');
  assert.equal(BINANCE_FEED.demandOf(spotKey), undefined);
  assert.equal(linear.demandOf(spotKey), undefined);
  assert.equal(spot.demandOf(binanceKey), undefined);
  assert.deepEqual(BINANCE_FEED.demandOf(binanceKey), { stream: 'btcusdt@trade', owner: 'gw-1-ab12' });
  for (const bad of ['', '.', 'token.', '.owner', 'bybit.spot.', 'bybit.spot.token']) {
    assert.equal(spot.demandOf(bad), undefined, bad);
  }
});

test('feed ids are subject and key tokens', () => {
  for (const bad of ['', 'Bybit', 'bybit.', 'by bit', 'bybit.*', 'bybit.>']) {
    assert.throws(() => feedNames(bad), /Not a feed id/, bad);
  }
});

test('a node entry lists the feeds its node carries; one that lists none carries Binance', () => {
  const both = nodeEntry({ SHARD_COUNT: 8 }, ['binance', 'bybit.spot']);
  assert.ok(carriesFeed(both, 'binance'));
  assert.ok(carriesFeed(both, 'bybit.spot'));
  assert.ok(!carriesFeed(both, 'bybit.linear'));
  const older = JSON.stringify({ at: 1, settings: { SHARD_COUNT: 8 } });
  assert.ok(carriesFeed(older, 'binance'));
  assert.ok(!carriesFeed(older, 'bybit.spot'));
  assert.ok(carriesFeed(String(Date.now()), 'binance'));
  assert.ok(!carriesFeed('not json', 'bybit.spot'));
});
