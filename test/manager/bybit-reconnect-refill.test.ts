/**
 * Bybit trades carry no contiguous id, so a lost connection is the only sign that trades were missed:
 * after one, the manager refills its backfill subscribers from the recent-trade window (60 on spot)
 * between the last trade they got and the first one live again. The simulator's trade ids grow by one,
 * which lets the test check exactly what came back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { bybitSpot } from '../../src/exchange/bybit/index.js';
import { WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

interface TradeEnvelope {
  data: { i: string }[];
}

test('after a lost connection, backfill subscribers get the missed trades from the recent-trade window', async () => {
  // 20 trades/s: the 60-trade window covers 3 s; the outage below lasts about 0.5 s.
  const sim = await startSimulator({ rate: 20 });
  const manager = new WSManager({
    url: `${sim.url}/bybit`,
    exchange: bybitSpot,
    logger: silentLogger(),
    retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY },
  });
  const backfilled: number[] = [];
  const live: number[] = [];
  const push = (into: number[]) => (data: unknown) => {
    for (const t of (data as TradeEnvelope).data) into.push(Number(t.i));
  };
  manager.subscribe('publicTrade.BTCUSDT', { next: push(backfilled), recovery: 'backfill' });
  manager.subscribe('publicTrade.BTCUSDT', { next: push(live), recovery: 'report' });
  try {
    await waitFor('trades', () => backfilled.length >= 5);
    sim.refuseConnections(500, 503, null);
    sim.dropConnections();
    // The report subscriber sees the jump the outage left.
    const jump = await waitFor('trades after the outage', () => {
      for (let k = 1; k < live.length; k++) if (live[k]! > live[k - 1]! + 1) return k;
      return undefined;
    });
    const [lastBefore, firstAfter] = [live[jump - 1]!, live[jump]!];
    await waitFor('the backfill subscriber past the outage', () => backfilled.includes(firstAfter + 3));
    const at = backfilled.indexOf(lastBefore);
    assert.deepEqual(
      backfilled.slice(at, at + firstAfter - lastBefore + 1),
      Array.from({ length: firstAfter - lastBefore + 1 }, (_, k) => lastBefore + k),
      'the missed trades came back in order, once each, before the live ones',
    );
    for (let k = 1; k < backfilled.length; k++) assert.equal(backfilled[k], backfilled[k - 1]! + 1);
    assert.ok(firstAfter - lastBefore - 1 > 0, 'the outage lost trades');
  } finally {
    await manager.destroy();
    await sim.close();
  }
});
