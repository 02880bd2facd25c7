/** The pure rules of the clustered mode: shard hashing, rendezvous ownership, ordering, KV key tokens. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KV } from '@nats-io/kv';
import { liveNodeEntries, refuseToDisagree } from '../../src/cluster/settings-agreement.js';
import { preferredOwner, shardOf } from '../../src/cluster/shards.js';
import { changesLine, confirms, judge } from '../../src/cluster/stream-order.js';
import { kvTokenOf, streamOfKvToken } from '../../src/cluster/subjects.js';
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
