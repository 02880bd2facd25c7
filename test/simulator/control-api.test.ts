import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { upgradeRefusal, upgradeStatus } from '../support/upgrade.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

describe('simulator HTTP control API', () => {
  let sim: Simulator;
  const post = (path: string, body?: unknown) =>
    fetch(`${sim.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : body === undefined ? null : JSON.stringify(body),
    });

  before(async () => {
    sim = await startSimulator({ rate: 20 });
  });
  after(() => sim.close());
  beforeEach(() => waitFor('every connection closed', () => sim.stats().openConnections === 0));

  it('GET /stats reports connections, streams, messages and breaches', async () => {
    const c = await connect(`${sim.url}/ws/btcusdt@trade`);
    await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 1 }, 1);
    await waitFor('more than 2 frames', () => c.frames.length > 2);
    const res = await fetch(`${sim.httpUrl}/stats`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const stats = (await res.json()) as ReturnType<Simulator['stats']>;
    assert.equal(stats.openConnections, 1);
    assert.ok(stats.connectionAttempts >= 1);
    assert.ok(stats.messagesSent >= 3);
    assert.equal(stats.controlMessagesReceived, 1);
    assert.deepEqual(Object.keys(stats.limitBreaches), ['streams', 'messageRate', 'connectionAttempts']);
    assert.deepEqual(stats.connections[0]?.streams, ['btcusdt@trade']);
    assert.equal(stats.connections[0]?.controlMessagesReceived, 1);
    assert.equal(typeof stats.connections[0]?.openedAt, 'number');
    await c.close();
  });

  it('POST /faults/drop closes one connection or all', async () => {
    const a = await connect(`${sim.url}/ws`);
    const b = await connect(`${sim.url}/ws`);
    const id = sim.stats().connections[0]!.id;
    const res = await post('/faults/drop', { id, code: 4001, reason: 'bye' });
    assert.deepEqual(await res.json(), { dropped: 1 });
    assert.deepEqual(await a.done, { code: 4001, reason: 'bye' });
    assert.deepEqual(await (await post('/faults/drop', { abrupt: true })).json(), { dropped: 1 });
    assert.equal((await b.done).code, 1006);
  });

  it('POST /faults/stall, /faults/malformed, /faults/latency and /faults/shutdown act on connections', async () => {
    const c = await connect(`${sim.url}/ws`);
    assert.deepEqual(await (await post('/faults/malformed', { count: 2 })).json(), { connections: 1 });
    await waitFor('2 frames', () => c.frames.length === 2);
    assert.deepEqual(await (await post('/faults/latency', { ms: 50 })).json(), { latencyMs: 50 });
    assert.deepEqual(await (await post('/faults/latency', { ms: 0 })).json(), { latencyMs: 0 });
    assert.deepEqual(await (await post('/faults/shutdown', { closeAfterMs: 50 })).json(), { announced: 1 });
    assert.equal((await c.done).code, 1001);
    const d = await connect(`${sim.url}/ws`);
    assert.deepEqual(await (await post('/faults/stall')).json(), { stalled: 1 });
    assert.equal(sim.stats().connections[0]?.stalled, true);
    await d.close();
  });

  it('POST /faults/refuse refuses upgrades for the given time', async () => {
    assert.deepEqual(await (await post('/faults/refuse', { ms: 200, status: 503 })).json(), {
      refusingForMs: 200,
      status: 503,
    });
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 503);
    await post('/faults/refuse', { ms: 0 });
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
  });

  it('POST /faults/refuse offers the 418 ban with a chosen Retry-After', async () => {
    assert.deepEqual(await (await post('/faults/refuse', { ms: 5000, status: 418, retryAfterS: 9 })).json(), {
      refusingForMs: 5000,
      status: 418,
      retryAfterS: 9,
    });
    assert.deepEqual(await upgradeRefusal(`${sim.url}/ws`), { status: 418, retryAfter: '9' });
    await post('/faults/refuse', { ms: 0 });
    assert.equal(await upgradeStatus(`${sim.url}/ws`), 101);
  });

  it('answers bad bodies with 400 and a message', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/faults/drop', '{not json', /^Request body is not valid JSON/],
      ['/faults/drop', { code: 'x' }, /^drop options.code must be/],
      [
        '/faults/drop',
        { colour: 'red' },
        /^drop options.colour must be one of the keys id, code, reason, abrupt/,
      ],
      ['/faults/drop', [1], /^drop options must be an object/],
      ['/faults/refuse', {}, /^refuse ms must be an integer/],
      ['/faults/refuse', { ms: 10, status: 500 }, /^refuse status must be 429, 418 or 503, received 500$/],
      [
        '/faults/refuse',
        { ms: 10, retryAfterS: -1 },
        /^refuse retryAfterS must be an integer from 0 to 259200/,
      ],
      ['/faults/latency', { ms: -5 }, /^latency ms must be an integer from 0 to 600000, received -5$/],
      ['/faults/malformed', { count: 'many' }, /^malformed options.count/],
      ['/faults/shutdown', { closeAfterMs: -1 }, /^shutdown options.closeAfterMs/],
      ['/faults/stall', { id: 3 }, /^stall options.id must be a connection id string/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      const json = (await res.json()) as { error: string };
      assert.match(json.error, message);
    }
  });

  it('answers an oversized body with 413', async () => {
    const res = await post('/faults/latency', JSON.stringify({ ms: 1, pad: 'x'.repeat(70_000) }));
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /larger than 65536 bytes/);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    const missing = await fetch(`${sim.httpUrl}/faults/explode`, { method: 'POST' });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /^No route \/faults\/explode/);
    assert.equal((await fetch(`${sim.httpUrl}/`)).status, 404);
    const wrong = await fetch(`${sim.httpUrl}/faults/drop`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    await wrong.body?.cancel();
    const stats = await fetch(`${sim.httpUrl}/stats`, { method: 'DELETE' });
    assert.equal(stats.status, 405);
    assert.equal(stats.headers.get('allow'), 'GET, HEAD');
    await stats.body?.cancel();
  });
});
