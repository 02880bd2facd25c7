/**
 * The cross-venue view keeps the managers' healing: after every upstream connection is lost for a
 * while, a `Venues.trades` subscriber asking for `recovery: 'backfill'` gets the missed Binance and OKX
 * trades refilled from each venue's REST history, in order and once each, with no `gap` call, while a
 * plain subscriber of the same streams is told the exact gap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import type { GapEvent } from '../../src/core/stream-source.js';
import { binance } from '../../src/exchange/binance/index.js';
import type { Exchange, Trade } from '../../src/exchange/exchange.js';
import { okx } from '../../src/exchange/okx/index.js';
import { Venues, WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

test('missed trades of two venues are refilled into the normalised view, in order and once each', async () => {
  const sim = await startSimulator({ rate: 50 });
  // Short retry delays so the reconnect follows the refusal window at once.
  const manager = (url: string, exchange: Exchange) =>
    new WSManager({
      url,
      exchange,
      idleGraceMs: 0,
      logger: silentLogger(),
      retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY },
    });
  const managers = [manager(sim.url, binance), manager(`${sim.url}/okx`, okx)];
  try {
    const venues = new Venues(managers);
    const trades: Trade[] = [];
    const viewGaps: GapEvent[] = [];
    venues.trades(
      'BTC/USDT',
      { next: (t) => trades.push(t), gap: (g) => viewGaps.push(g) },
      { recovery: 'backfill' },
    );
    // Plain subscribers of the same venue streams only hear of the gaps: their sizes are what the
    // refills must bring back.
    const reported = new Map<string, GapEvent>();
    managers[0]!.subscribe('btcusdt@trade', {
      next: () => {},
      gap: (g) => reported.set('binance', g),
      recovery: 'report',
    });
    managers[1]!.subscribe('trades:BTC-USDT', {
      next: () => {},
      gap: (g) => reported.set('okx', g),
      recovery: 'report',
    });
    const ids = (venue: string) => trades.filter((t) => t.venue === venue).map((t) => Number(t.id));
    await waitFor('trades of both venues', () => ids('binance').length >= 5 && ids('okx').length >= 5);

    // Upgrades refused for 1.5 s: about 75 trades at 50/s are missed on each venue.
    sim.refuseConnections(1500, 503, null);
    sim.dropConnections();
    await waitFor('a gap reported on each venue', () => reported.size === 2, 15_000);
    for (const [venue, gap] of reported) {
      await waitFor(`${venue} refilled and live again`, () => ids(venue).includes(gap.received + 5));
      const got = ids(venue);
      for (let k = 1; k < got.length; k++)
        assert.equal(got[k], got[k - 1]! + 1, `${venue} trade ${k} follows ${k - 1}`);
      assert.ok(gap.missed > 20, `${venue} missed ${gap.missed}`);
      const at = got.indexOf(gap.expected - 1);
      assert.deepEqual(
        got.slice(at, at + gap.missed + 2),
        Array.from({ length: gap.missed + 2 }, (_, k) => gap.expected - 1 + k),
        `${venue}: exactly the missed ids, between the last trade before and the first after`,
      );
    }
    assert.deepEqual(viewGaps, [], 'no gap reaches a backfill subscriber');
  } finally {
    await Promise.all(managers.map((m) => m.destroy()));
    await sim.close();
  }
});
