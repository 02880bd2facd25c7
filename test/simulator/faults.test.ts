import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { upgradeRefusal, upgradeStatus } from '../support/upgrade.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('simulator faults', () => {
  let sim: Simulator;
  // Refusals end by the simulator's clock: the tests move it past them instead of waiting.
  const clock = aheadClock();
  before(async () => {
    sim = await startSimulator({ rate: 50, limits: { maxMessagesPerSecond: 100 }, clock: clock.now });
  });
  after(() => sim.close());
  // Every test starts without connections left over from the previous one.
  beforeEach(() => waitFor('every connection closed', () => sim.stats().openConnections === 0));

  it('drops every connection cleanly with the requested code', async () => {
    const a = await connect(`${sim.url}/ws/btcusdt@trade`);
    const b = await connect(`${sim.url}/stream`);
    assert.equal(sim.dropConnections({ code: 4000, reason: 'maintenance' }), 2);
    assert.deepEqual(await a.done, { code: 4000, reason: 'maintenance' });
    assert.deepEqual(await b.done, { code: 4000, reason: 'maintenance' });
    await waitFor('every connection closed', () => sim.stats().openConnections === 0);
  });

  it('drops one connection abruptly, without a close frame', async () => {
    const a = await connect(`${sim.url}/ws`);
    const b = await connect(`${sim.url}/ws`);
    const ids = sim.stats().connections.map((c) => c.id);
    assert.equal(sim.dropConnections({ id: ids[0]!, abrupt: true }), 1);
    assert.equal((await a.done).code, 1006);
    assert.equal(b.closed, undefined);
    assert.equal(sim.dropConnections({ id: 'no-such-connection' }), 0);
    await b.close();
  });

  it('stalls a connection: no events, no pong, TCP still open', async () => {
    const c = await connect(`${sim.url}/ws/btcusdt@trade`);
    await waitFor('more than 2 frames', () => c.frames.length > 2);
    assert.equal(sim.stall(), 1);
    await idle(50);
    const seen = c.frames.length;
    let pong = false;
    c.ws.on('pong', () => {
      pong = true;
    });
    c.ws.ping('are you there');
    await idle(400);
    assert.equal(c.frames.length, seen);
    assert.equal(pong, false);
    assert.equal(c.ws.readyState, c.ws.OPEN);
    assert.equal(sim.stats().connections[0]?.stalled, true);
    // A new connection is served normally.
    const fresh = await connect(`${sim.url}/ws/btcusdt@trade`);
    await waitFor('a frame', () => fresh.frames.length > 0);
    await Promise.all([c.close(), fresh.close()]);
  });

  it('refuses new connections for a while with 429 or 503', async () => {
    sim.refuseConnections(300, 503);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 503);
    clock.advance(350);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
    sim.refuseConnections(300);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 429);
    sim.refuseConnections(0);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
  });

  it('sends Retry-After with refusals: the time left by default, or the seconds asked for', async () => {
    sim.refuseConnections(2500, 503);
    assert.deepEqual(await upgradeRefusal(`${sim.url}/ws`), { status: 503, retryAfter: '3' });
    sim.refuseConnections(60_000, 429, 7);
    assert.deepEqual(await upgradeRefusal(`${sim.url}/ws`), { status: 429, retryAfter: '7' });
    sim.refuseConnections(60_000, 503, null);
    assert.deepEqual(await upgradeRefusal(`${sim.url}/ws`), { status: 503, retryAfter: undefined });
    sim.refuseConnections(0);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
  });

  it('bans with 418 and Retry-After, like Binance after repeated 429s', async () => {
    sim.refuseConnections(300, 418, 120);
    assert.deepEqual(await upgradeRefusal(`${sim.url}/stream`), { status: 418, retryAfter: '120' });
    clock.advance(350);
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
  });

  it('sends malformed frames', async () => {
    const c = await connect(`${sim.url}/ws`);
    assert.equal(sim.sendMalformed({ count: 4 }), 1);
    await waitFor('4 frames', () => c.frames.length === 4);
    const unparsable = c.frames.filter((f) => {
      try {
        JSON.parse(f);
        return false;
      } catch {
        return true;
      }
    });
    assert.ok(unparsable.length >= 2, 'at least truncated JSON and plain text');
    assert.equal(c.closed, undefined);
    await c.close();
  });

  it('delays every outgoing frame by the injected latency, keeping order', async () => {
    const c = await connect(`${sim.url}/ws`);
    sim.setLatency(300);
    try {
      const started = Date.now();
      c.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
      c.send({ method: 'GET_PROPERTY', params: ['combined'], id: 2 });
      await waitFor('2 frames', () => c.frames.length === 2);
      assert.ok(Date.now() - started >= 250, `replied after ${Date.now() - started} ms`);
      assert.deepEqual(
        c.json().map((m) => (m as { id: number }).id),
        [1, 2],
      );
    } finally {
      sim.setLatency(0);
    }
    await c.close();
  });

  it('announces serverShutdown, then closes with 1001', async () => {
    const raw = await connect(`${sim.url}/ws/btcusdt@trade`);
    const combined = await connect(`${sim.url}/stream?streams=btcusdt@trade`);
    assert.equal(sim.announceShutdown({ closeAfterMs: 100 }), 2);
    assert.equal((await raw.done).code, 1001);
    assert.equal((await combined.done).code, 1001);
    assert.ok(raw.json().some((m) => (m as { e?: string }).e === 'serverShutdown'));
    assert.ok(combined.json().some((m) => (m as { stream?: string }).stream === '!serverShutdown'));
  });

  it('rejects bad fault arguments with TypeErrors that name them', () => {
    assert.throws(() => sim.dropConnections({ code: 1005 }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: /^drop options.code/,
    });
    assert.throws(() => sim.refuseConnections(-1), { message: /^refuse ms must be an integer/ });
    assert.throws(() => sim.refuseConnections(10, 500 as 503), {
      message: /^refuse status must be 429, 418 or 503/,
    });
    assert.throws(() => sim.setLatency(1.5), TypeError);
    assert.throws(() => sim.sendMalformed({ count: 0 }), { message: /^malformed options.count/ });
    assert.throws(() => sim.stall({ id: 5 as unknown as string }), { message: /^stall options.id/ });
    assert.throws(() => sim.announceShutdown({ closeAfter: 1 } as never), {
      message: /^shutdown options.closeAfter must be one of the keys/,
    });
  });
});
