/** Kline streams follow the simulator's clock over a real socket, also after the stream was released and taken again. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { connect } from './helpers.js';

type Kline = { e: string; E: number; k: { t: number; T: number; x: boolean } };

let sim: Simulator;
const clock = aheadClock();
before(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, rate: 20, clock: clock.now });
});
after(() => sim.close());

describe('klines', () => {
  it('after a release, the first event belongs to the candle of the current time', async () => {
    const c = await connect(`${sim.url}/ws`);
    try {
      await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@kline_1s'], id: 1 }, 1);
      await c.next((m) => m['e'] === 'kline');
      await c.request({ method: 'UNSUBSCRIBE', params: ['btcusdt@kline_1s'], id: 2 }, 2);
      // The simulator's clock moves on: several 1 s candles end while nobody listens.
      clock.advance(2500);
      const from = c.frames.length;
      await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@kline_1s'], id: 3 }, 3);
      const first = await c.next<Kline>((m) => m['e'] === 'kline', 5000, from);
      const now = clock.now();
      assert.ok(first.E <= now && first.E > now - 2000, `E ${first.E} is the current time (${now})`);
      if (first.k.x) {
        // Only the candle that has just ended may still be closed.
        assert.ok(first.E - first.k.T <= 1000, `closed candle ended ${first.E - first.k.T} ms before E`);
      } else {
        assert.ok(first.k.t <= first.E && first.E <= first.k.T, JSON.stringify(first));
      }
    } finally {
      await c.close();
    }
  });
});
