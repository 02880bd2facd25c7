import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { upgradeStatus } from '../support/upgrade.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

describe('simulator limits', () => {
  it('caps the streams of one connection, live and in the URL', async () => {
    const sim = await startSimulator({ limits: { maxStreamsPerConnection: 3 } });
    try {
      const c = await connect(`${sim.url}/ws/btcusdt@trade/ethusdt@trade`);
      const reply = await c.request(
        { method: 'SUBSCRIBE', params: ['bnbusdt@trade', 'solusdt@trade'], id: 1 },
        1,
      );
      assert.deepEqual(reply['error'], {
        code: 2,
        msg: 'Invalid request: too many streams, a connection can listen to at most 3',
      });
      assert.deepEqual(
        (await c.request({ method: 'SUBSCRIBE', params: ['bnbusdt@trade', 'btcusdt@trade'], id: 2 }, 2))[
          'result'
        ],
        null,
      );
      assert.deepEqual((await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 3 }, 3))['result'], [
        'btcusdt@trade',
        'ethusdt@trade',
        'bnbusdt@trade',
      ]);
      assert.equal(await upgradeStatus(`${sim.url}/stream?streams=a1@trade/a2@trade/a3@trade/a4@trade`), 400);
      assert.equal(sim.stats().limitBreaches.streams, 2);
      await c.close();
    } finally {
      await sim.close();
    }
  });

  it('closes a flooding connection with 1008 while another carries on', async () => {
    const sim = await startSimulator({ rate: 20, limits: { maxMessagesPerSecond: 5 } });
    try {
      const flooder = await connect(`${sim.url}/ws`);
      const calm = await connect(`${sim.url}/ws/btcusdt@trade`);
      for (let i = 1; i <= 6; i++) flooder.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
      const closed = await flooder.done;
      assert.equal(closed.code, 1008);
      // Exactly five requests were answered before the cut.
      assert.equal(flooder.json().filter((m) => (m as { id?: number }).id !== undefined).length, 5);
      const seen = calm.frames.length;
      await waitFor('the calm connection to keep receiving', () => calm.frames.length > seen + 3, 5000);
      assert.deepEqual((await calm.request({ method: 'LIST_SUBSCRIPTIONS', id: 1 }, 1))['result'], [
        'btcusdt@trade',
      ]);
      assert.equal(calm.closed, undefined);
      assert.equal(sim.stats().limitBreaches.messageRate, 1);
      await calm.close();
    } finally {
      await sim.close();
    }
  });

  it('counts pings and pongs against the message rate', async () => {
    const sim = await startSimulator({ limits: { maxMessagesPerSecond: 5 } });
    try {
      const pinger = await connect(`${sim.url}/ws`);
      for (let i = 0; i < 3; i++) pinger.ws.ping();
      for (let i = 0; i < 3; i++) pinger.ws.pong();
      assert.equal((await pinger.done).code, 1008);
    } finally {
      await sim.close();
    }
  });

  it('refuses upgrades beyond the per-IP attempt budget with 429', async () => {
    const sim = await startSimulator({ limits: { maxConnectionAttempts: 3, attemptWindowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
      assert.equal(await upgradeStatus(`${sim.url}/ws`), 429);
      const stats = sim.stats();
      assert.equal(stats.connectionAttempts, 4);
      assert.equal(stats.limitBreaches.connectionAttempts, 1);
    } finally {
      await sim.close();
    }
  });

  it('lets attempts through again once the window has passed', async () => {
    // A 1 s window instead of 5 minutes.
    const clock = aheadClock();
    const sim = await startSimulator({
      limits: { maxConnectionAttempts: 1, attemptWindowMs: 1000 },
      clock: clock.now,
    });
    try {
      assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
      assert.equal(await upgradeStatus(`${sim.url}/ws`), 429);
      clock.advance(1100);
      assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
    } finally {
      await sim.close();
    }
  });

  it('pings on schedule and closes a connection whose pongs do not echo the ping', async () => {
    // Pings every 100 ms with a 400 ms deadline instead of 20 s and 60 s.
    const sim = await startSimulator({
      limits: { pingIntervalMs: 100, pongTimeoutMs: 400, maxMessagesPerSecond: 50 },
    });
    try {
      const healthy = await connect(`${sim.url}/ws`);
      const silent = await connect(`${sim.url}/ws`, { autoPong: false });
      const wrong = await connect(`${sim.url}/ws`, { autoPong: false });
      wrong.ws.on('ping', () => wrong.ws.pong('not the payload'));
      const [a, b] = await Promise.all([silent.done, wrong.done]);
      assert.deepEqual(a, { code: 1008, reason: 'Pong timeout' });
      assert.deepEqual(b, { code: 1008, reason: 'Pong timeout' });
      assert.ok(silent.pings.length >= 2, 'several pings before the deadline');
      assert.ok(silent.pings[0]!.length > 0, 'pings carry a payload to echo');
      assert.equal(healthy.closed, undefined);
      await healthy.close();
    } finally {
      await sim.close();
    }
  });

  it('announces serverShutdown before the end of the connection lifetime, raw and combined', async () => {
    // A 600 ms lifetime with the notice 300 ms before the end, instead of 24 h.
    const sim = await startSimulator({ limits: { maxLifetimeMs: 600, shutdownNoticeMs: 300 } });
    try {
      const raw = await connect(`${sim.url}/ws`);
      const combined = await connect(`${sim.url}/stream`);
      const [rawClosed, combinedClosed] = await Promise.all([raw.done, combined.done]);
      assert.equal(rawClosed.code, 1001);
      assert.equal(combinedClosed.code, 1001);
      const notice = raw.json()[0] as Record<string, unknown>;
      assert.equal(notice['e'], 'serverShutdown');
      assert.equal(typeof notice['E'], 'number');
      const wrapped = combined.json()[0] as { stream: string; data: Record<string, unknown> };
      assert.equal(wrapped.stream, '!serverShutdown');
      assert.equal(wrapped.data['e'], 'serverShutdown');
    } finally {
      await sim.close();
    }
  });

  it('rejects bad options with a TypeError naming the option', async () => {
    await assert.rejects(startSimulator({ limits: { maxMessagesPerSecond: 0 } }), {
      name: 'InvalidArgumentError',
      code: 'WS_ERR_INVALID_OPTION',
      message: 'limits.maxMessagesPerSecond must be an integer from 1 to 1000000, received 0',
    });
    await assert.rejects(startSimulator({ rate: -1 }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: /^rate must be/,
    });
    await assert.rejects(startSimulator({ symbols: ['BTCUSDT'] }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: /^symbols/,
    });
    await assert.rejects(startSimulator({ limits: { maxLifetimeMs: 100, shutdownNoticeMs: 200 } }), {
      message: /^limits.shutdownNoticeMs must be an integer from 0 to 100/,
    });
    await assert.rejects(startSimulator({ clock: 5 as never }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: /^clock must be a function/,
    });
    await assert.rejects(startSimulator({ port: 70_000 }), (error: unknown) => error instanceof TypeError);
  });
});
