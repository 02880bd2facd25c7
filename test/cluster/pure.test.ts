/** The pure rules of the clustered mode: shard hashing, rendezvous ownership, ordering, KV key tokens. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KV } from '@nats-io/kv';
import { liveNodeEntries, refuseToDisagree } from '../../src/cluster/settings-agreement.js';
import { offeredTo, offerValue } from '../../src/cluster/shard-leases.js';
import { preferredOwner, shardOf } from '../../src/cluster/shards.js';
import {
  awaitsOldLine,
  candleFollows,
  changesLine,
  confirms,
  judge,
  OLD_LINE_QUIET_MS,
  outlives,
} from '../../src/cluster/stream-order.js';
import { kvTokenOf, streamOfKvToken } from '../../src/cluster/subjects.js';
import { refillWindow } from '../../src/cluster/takeover-refill.js';
import { binance } from '../../src/exchange/binance/index.js';
import { captureLogger } from '../manager/helpers.js';

describe('shards and rendezvous ownership', () => {
  it('spreads streams over every shard', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 1600; i++) counts[shardOf(`s${i}usdt@trade`, 16)]!++;
    assert.ok(Math.min(...counts) > 50, `each shard gets a share: ${counts.join(',')}`);
  });

  it('moves only the shards a node leaving held, and agrees regardless of order', () => {
    const nodes = ['a', 'b', 'c'];
    const before = Array.from({ length: 64 }, (_, s) => preferredOwner(s, nodes));
    assert.deepEqual(
      before,
      Array.from({ length: 64 }, (_, s) => preferredOwner(s, [...nodes].reverse())),
    );
    for (const owner of nodes)
      assert.ok(before.filter((n) => n === owner).length > 10, `${owner} owns a share`);
    const after = Array.from({ length: 64 }, (_, s) => preferredOwner(s, ['a', 'c']));
    for (let s = 0; s < 64; s++) if (before[s] !== 'b') assert.equal(after[s], before[s], `shard ${s} stays`);
  });
});

describe('per-stream ordering at the gateway', () => {
  it('delivers the next sequence, drops duplicates and superseded owners, finds gaps and resets', () => {
    assert.deepEqual(judge({ lastSeq: undefined, epoch: 0 }, 7, 3), { kind: 'deliver' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 8, 3), { kind: 'deliver' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 8, 9), { kind: 'deliver' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 7, 3), { kind: 'duplicate' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 8, 2), { kind: 'duplicate' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 11, 3), { kind: 'gap', from: 8, to: 10 });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 1, 9), { kind: 'reset' });
    // A lower epoch is a stale owner, unless the current one has been silent for a lease TTL.
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 1, 1, false), { kind: 'duplicate' });
    assert.deepEqual(judge({ lastSeq: 7, epoch: 3 }, 1, 1, true), { kind: 'reset' });
  });

  it('waits for the next event before leaving the current epoch and sequence', () => {
    const state = { lastSeq: 7, epoch: 3 };
    const lineOf = (seq: number, epoch: number) => changesLine(state, judge(state, seq, epoch), epoch);
    assert.equal(lineOf(8, 3), false, 'the next event of the current line');
    assert.equal(lineOf(8, 9), true, 'a higher epoch');
    assert.equal(lineOf(9007199254740000, 3), true, 'a jump nothing filled');
    assert.equal(lineOf(1, 9), true, 'a restart');
    assert.equal(changesLine({ lastSeq: undefined, epoch: 0 }, { kind: 'deliver' }, 9), true, 'the first');
    assert.equal(confirms({ seq: 8, epoch: 9 }, 9, 9), true);
    assert.equal(confirms({ seq: 8, epoch: 9 }, 9, 3), false);
    assert.equal(confirms({ seq: 8, epoch: 9 }, 10, 9), false);
  });
});

describe('a successor owner at the gateway (planned handover)', () => {
  it('a higher epoch numbering from at or below the last sequence is a switch, a lower one a stale owner', () => {
    const state = { lastSeq: 40, epoch: 3 };
    assert.deepEqual(judge(state, 12, 9), { kind: 'switch' });
    assert.deepEqual(judge(state, 40, 9), { kind: 'switch' });
    assert.deepEqual(judge(state, 41, 9), { kind: 'deliver' });
    assert.deepEqual(judge(state, 12, 3), { kind: 'duplicate' });
    assert.deepEqual(
      judge({ lastSeq: 12, epoch: 9 }, 41, 3),
      { kind: 'duplicate' },
      'the old owner after the switch',
    );
    assert.equal(changesLine(state, judge(state, 12, 9), 9), true, 'held until its next event confirms it');
  });

  it("a successor's pending line outlives the old owner's events for the bound, nothing else does", () => {
    const state = { lastSeq: 40, epoch: 3 };
    assert.equal(outlives({ epoch: 9, at: 1000 }, state, 1500, 2000), true);
    assert.equal(outlives({ epoch: 9, at: 1000 }, state, 3000, 2000), true, 'at the bound');
    assert.equal(outlives({ epoch: 9, at: 1000 }, state, 3001, 2000), false, 'past the bound');
    assert.equal(outlives({ epoch: 3, at: 1000 }, state, 1001, 2000), false, 'a jump of the same epoch');
    assert.equal(outlives({ epoch: 2, at: 1000 }, state, 1001, 2000), false);
  });

  it('the switch waits while the old line still publishes ids before the successor first one', () => {
    assert.equal(awaitsOldLine(100, 105, 10, 50, 2000), true, 'ids 101-104 still due from the old line');
    assert.equal(awaitsOldLine(100, 101, 10, 50, 2000), false, 'the successor continues the ids');
    assert.equal(awaitsOldLine(100, 90, 10, 50, 2000), false, 'an overlap: dropped by ids after the switch');
    assert.equal(awaitsOldLine(100, 105, OLD_LINE_QUIET_MS, 50, 2000), false, 'the old line went quiet');
    assert.equal(awaitsOldLine(100, 105, 10, 2000, 2000), false, 'the bound passed');
    assert.equal(awaitsOldLine(100, undefined, 10, 50, 2000), false, 'no ids to compare');
  });

  it('a candle update follows a later candle or the same one still open, nothing the other owner closed', () => {
    assert.equal(candleFollows(Number.NEGATIVE_INFINITY, false, 60_000), true, 'the first');
    assert.equal(candleFollows(60_000, false, 60_000), true, 'the open candle goes on');
    assert.equal(candleFollows(60_000, false, 120_000), true, 'the next candle');
    assert.equal(candleFollows(60_000, true, 60_000), false, 'an update of a candle already closed');
    assert.equal(candleFollows(120_000, false, 60_000), false, 'an earlier candle');
  });
});

describe('lease offers', () => {
  it('names the successor, and a holder id is no offer', () => {
    assert.equal(offeredTo(offerValue('node-a', 'node-b')), 'node-b');
    assert.equal(offeredTo('node-a'), undefined);
  });
});

describe('the window a dead owner left (takeover refill)', () => {
  const window = (stream: string, after: object, first: unknown) =>
    refillWindow(binance.history, binance.sequence, binance.streams.parse(stream)!, after, first);

  it('trade and aggTrade: the ids between the last event in the history and the first live one', () => {
    assert.deepEqual(window('btcusdt@trade', { e: 'trade', t: 100 }, { e: 'trade', t: 160 }), {
      from: 101,
      to: 160,
    });
    assert.deepEqual(window('btcusdt@aggTrade', { e: 'aggTrade', a: 7 }, { e: 'aggTrade', a: 9 }), {
      from: 8,
      to: 9,
    });
    assert.equal(
      window('btcusdt@trade', { e: 'trade', t: 100 }, { e: 'trade', t: 101 }),
      undefined,
      'contiguous',
    );
    assert.equal(window('btcusdt@trade', { e: 'trade', t: 100 }, { e: 'trade', t: 90 }), undefined, 'behind');
    assert.equal(window('btcusdt@trade', {}, { e: 'trade', t: 90 }), undefined, 'no id in the history');
  });

  it('kline: the candle whose closing update never came, and candles skipped', () => {
    const k = (t: number, x: boolean) => ({ e: 'kline', k: { t, x } });
    const stream = 'btcusdt@kline_1m';
    assert.deepEqual(window(stream, k(60_000, false), k(120_000, false)), { from: 60_000, to: 120_000 });
    assert.deepEqual(window(stream, k(60_000, true), k(240_000, false)), { from: 120_000, to: 240_000 });
    assert.equal(window(stream, k(60_000, true), k(120_000, false)), undefined, 'closed, then the next');
    assert.equal(window(stream, k(60_000, false), k(60_000, false)), undefined, 'the same candle goes on');
  });

  it('kinds without a public history have no window', () => {
    assert.equal(window('btcusdt@depth', { U: 1, u: 5 }, { U: 9, u: 12 }), undefined);
    assert.equal(window('btcusdt@bookTicker', { u: 1 }, { u: 9 }), undefined);
  });
});

describe('KV key tokens of stream names', () => {
  it('round-trips every Binance stream shape through the KV key alphabet', () => {
    for (const stream of ['btcusdt@trade', '!miniTicker@arr', 'ethusdt@depth20@100ms', 'bnbusdt@kline_1m']) {
      const token = kvTokenOf(stream);
      assert.match(token, /^[-_=a-zA-Z0-9]+$/);
      assert.equal(streamOfKvToken(token), stream);
    }
  });
});

describe('listing the node bucket', () => {
  /** A KV whose key listing never finishes, as a listing left waiting for the server can. */
  function stalledNodes(): { kv: KV; stopped: () => boolean } {
    let stopped = false;
    const keys = {
      stop() {
        stopped = true;
      },
      async *[Symbol.asyncIterator]() {
        while (!stopped) await new Promise((r) => setTimeout(r, 10));
      },
    };
    return { kv: { keys: async () => keys } as unknown as KV, stopped: () => stopped };
  }

  it('is abandoned after its timeout instead of stalling a start or a lease tick', async () => {
    const { kv, stopped } = stalledNodes();
    const started = Date.now();
    await assert.rejects(liveNodeEntries(kv, 'a', 100), /took longer than 100 ms/);
    assert.ok(Date.now() - started < 1000);
    assert.ok(stopped(), 'the listing is stopped');
  });

  it('lets a process start with a warning when the settings cannot be compared in time', async () => {
    const { logger, lines } = captureLogger();
    const { kv } = stalledNodes();
    await refuseToDisagree(kv, 'a', { SHARD_COUNT: 8 }, logger, 100);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['Shared cluster settings not compared at start'],
    );
  });
});
