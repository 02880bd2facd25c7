/**
 * The simulator's one port: a plain request goes to the REST API when its parsed path is under
 * `/api/v3/`, else to the control API; upgrades parse their target with the same parser.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

/** Sends `<method> <target>` as written (fetch would normalise it) and returns the status, head and body. */
function get(
  port: number,
  target: string,
  method = 'GET',
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(all)?.[1] ?? 0),
        head: split < 0 ? all : all.slice(0, split),
        body: split < 0 ? '' : all.slice(split + 4),
      });
    });
    socket.write(
      `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });
}

describe('simulator HTTP routing', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ symbols: ['btcusdt'] });
  });
  after(() => sim.close());

  it('serves REST calls by their path, absolute-form included', async () => {
    for (const target of ['/api/v3/ping', `http://127.0.0.1:${sim.port}/api/v3/ping`, '/api/v3/ping?x=1']) {
      const res = await get(sim.port, target);
      assert.deepEqual([res.status, res.body], [200, '{}'], target);
    }
    const unknown = await get(sim.port, '/api/v3/nope');
    assert.equal(unknown.status, 404);
    assert.deepEqual(JSON.parse(unknown.body), {
      code: -5000,
      msg: 'Path /api/v3/nope, Method GET is invalid',
    });
  });

  it('leaves paths that only look like the REST prefix to the control API', async () => {
    for (const target of ['//api/v3/ping', '/api%2Fv3/ping', '/api/v3', '/API/v3/ping']) {
      const res = await get(sim.port, target);
      assert.equal(res.status, 404, target);
      assert.match(JSON.parse(res.body).error, /^No route /, target);
    }
    assert.equal((await get(sim.port, '/stats')).status, 200);
    assert.equal((await get(sim.port, `http://127.0.0.1:${sim.port}/stats`)).status, 200);
  });

  it('names the methods a control path allows by the path it parsed', async () => {
    for (const target of ['/stats', `http://127.0.0.1:${sim.port}/stats`]) {
      const res = await get(sim.port, target, 'POST');
      assert.equal(res.status, 405, target);
      assert.match(res.head, /^allow: GET, HEAD$/im, target);
    }
    const drop = await get(sim.port, '/stats/../faults/drop');
    assert.equal(drop.status, 405);
    assert.match(drop.head, /^allow: POST$/im);
  });
});
