import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { upgradeStatus } from '../support/upgrade.js';
import { connect } from './helpers.js';

const DECIMAL = /^-?\d+\.\d{8}$/;

describe('simulator protocol', () => {
  let sim: Simulator;
  before(async () => {
    // A high message budget lets one connection send every kind of bad request in a row.
    sim = await startSimulator({ rate: 50, limits: { maxMessagesPerSecond: 1000 } });
  });
  after(() => sim.close());

  it('serves a raw stream at /ws/<stream> with unwrapped payloads and decimal strings', async () => {
    const c = await connect(`${sim.url}/ws/btcusdt@trade`);
    const trade = await c.next((m) => m['e'] === 'trade');
    assert.equal(trade['s'], 'BTCUSDT');
    assert.equal(typeof trade['t'], 'number');
    assert.match(trade['p'] as string, DECIMAL);
    assert.match(trade['q'] as string, DECIMAL);
    assert.equal(typeof trade['m'], 'boolean');
    assert.equal('stream' in trade, false);
    await c.close();
  });

  it('wraps events of /stream?streams=a/b as {"stream","data"}', async () => {
    const c = await connect(`${sim.url}/stream?streams=btcusdt@trade/ethusdt@aggTrade`);
    const t = await c.next((m) => m['stream'] === 'btcusdt@trade');
    const a = await c.next((m) => m['stream'] === 'ethusdt@aggTrade');
    assert.equal((t['data'] as Record<string, unknown>)['e'], 'trade');
    assert.equal((a['data'] as Record<string, unknown>)['e'], 'aggTrade');
    assert.deepEqual(Object.keys(t), ['stream', 'data']);
    await c.close();
  });

  it('accepts several raw streams at /ws/<a>/<b>', async () => {
    const c = await connect(`${sim.url}/ws/btcusdt@trade/btcusdt@bookTicker`);
    await c.next((m) => m['e'] === 'trade');
    await c.next((m) => typeof m['u'] === 'number' && 'b' in m && 'A' in m);
    assert.deepEqual((await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 1 }, 1))['result'], [
      'btcusdt@trade',
      'btcusdt@bookTicker',
    ]);
    await c.close();
  });

  it('subscribes, lists and unsubscribes live on a bare /ws connection', async () => {
    const c = await connect(`${sim.url}/ws`);
    assert.deepEqual(
      await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@depth'], id: 1 }, 1),
      {
        result: null,
        id: 1,
      },
    );
    await c.next((m) => m['e'] === 'aggTrade');
    await c.next((m) => m['e'] === 'depthUpdate');
    assert.deepEqual(await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 3 }, 3), {
      result: ['btcusdt@aggTrade', 'btcusdt@depth'],
      id: 3,
    });
    assert.deepEqual(await c.request({ method: 'UNSUBSCRIBE', params: ['btcusdt@depth'], id: 312 }, 312), {
      result: null,
      id: 312,
    });
    assert.deepEqual(await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 'list-2' }, 'list-2'), {
      result: ['btcusdt@aggTrade'],
      id: 'list-2',
    });
    await c.close();
  });

  it('reports and switches the combined property with GET_PROPERTY / SET_PROPERTY', async () => {
    const c = await connect(`${sim.url}/stream`);
    assert.deepEqual(await c.request({ method: 'GET_PROPERTY', params: ['combined'], id: 2 }, 2), {
      result: true,
      id: 2,
    });
    await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 4 }, 4);
    await c.next((m) => m['stream'] === 'btcusdt@trade');
    assert.deepEqual(await c.request({ method: 'SET_PROPERTY', params: ['combined', false], id: 5 }, 5), {
      result: null,
      id: 5,
    });
    const mark = c.frames.length;
    await c.next((m) => m['e'] === 'trade', 5000, mark);
    assert.deepEqual(await c.request({ method: 'GET_PROPERTY', params: ['combined'], id: 6 }, 6), {
      result: false,
      id: 6,
    });
    await c.close();
  });

  it('answers bad requests with Binance error codes and keeps the connection', async () => {
    const c = await connect(`${sim.url}/ws`);
    const cases: Array<[string, number, RegExp, unknown]> = [
      ['{"method":"SUBSCRIBE",', 3, /^Invalid JSON: expected value at line 1 column \d+$/, null],
      ['{"params":[],"id":7}', 2, /^Invalid request: missing field `method` at line 1 column \d+$/, 7],
      [
        '{"method":"SUBSCRIBEE","params":[],"id":8}',
        2,
        /^Invalid request: unknown variant `SUBSCRIBEE`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column \d+$/,
        8,
      ],
      [
        '{"method":"SUBSCRIBE","params":[]}',
        2,
        /^Invalid request: request ID must be an unsigned integer$/,
        null,
      ],
      ['{"method":"SUBSCRIBE","params":[],"id":1.5}', 2, /request ID must be an unsigned integer/, null],
      ['{"method":"SUBSCRIBE","params":[],"id":{"a":1}}', 2, /request ID must be an unsigned integer/, null],
      [
        `{"method":"SUBSCRIBE","params":[],"id":"${'x'.repeat(37)}"}`,
        2,
        /request ID must be an unsigned integer/,
        null,
      ],
      ['{"method":"SUBSCRIBE","params":"btcusdt@trade","id":9}', 2, /^Invalid request: /, 9],
      [
        '{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":10}',
        2,
        /^Invalid request: invalid stream$/,
        10,
      ],
      [
        '{"method":"SUBSCRIBE","params":["btcusdt@nope",5],"id":11}',
        2,
        /^Invalid request: invalid stream$/,
        11,
      ],
      ['{"method":"SET_PROPERTY","params":["colour",true],"id":12}', 0, /^Unknown property$/, 12],
      ['{"method":"GET_PROPERTY","params":["colour"],"id":13}', 0, /^Unknown property$/, 13],
      [
        '{"method":"SET_PROPERTY","params":["combined","yes"],"id":14}',
        1,
        /^Invalid value type: expected Boolean$/,
        14,
      ],
      [
        '{"method":"SET_PROPERTY","params":[1,true],"id":15}',
        2,
        /^Invalid request: property name must be a string$/,
        15,
      ],
      [
        '{"method":"GET_PROPERTY","params":[],"id":16}',
        2,
        /^Invalid request: property name must be a string$/,
        16,
      ],
      [
        '{"method":"GET_PROPERTY","params":["combined",1],"id":17}',
        2,
        /^Invalid request: too many parameters$/,
        17,
      ],
      [
        '{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":18}',
        2,
        /^Invalid request: too many parameters$/,
        18,
      ],
      ['[1,2]', 2, /^Invalid request: /, null],
    ];
    for (const [text, code, msg, id] of cases) {
      const before = c.frames.length;
      c.send(text);
      await c.next(() => c.frames.length > before);
      const reply = JSON.parse(c.frames[before]!) as { error: { code: number; msg: string }; id: unknown };
      assert.equal(reply.error.code, code, text);
      assert.match(reply.error.msg, msg, text);
      assert.equal(reply.id, id, text);
    }
    assert.deepEqual(await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 99 }, 99), { result: [], id: 99 });
    assert.equal(c.closed, undefined);
    const counted = sim.stats().connections.map((x) => x.controlMessagesReceived);
    assert.ok(counted.includes(cases.length + 1), `control messages counted: ${counted.join(',')}`);
    await c.close();
  });

  it('rejects an invalid SUBSCRIBE as a whole', async () => {
    const c = await connect(`${sim.url}/ws`);
    await c.request({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@bad'], id: 1 }, 1);
    assert.deepEqual(await c.request({ method: 'LIST_SUBSCRIPTIONS', id: 2 }, 2), { result: [], id: 2 });
    await c.close();
  });

  it('refuses upgrades to invalid streams (400) and unknown paths (404)', async () => {
    assert.equal(await upgradeStatus(`${sim.url}/ws/BTCUSDT@trade`), 400);
    assert.equal(await upgradeStatus(`${sim.url}/stream?streams=btcusdt@trade/nope`), 400);
    assert.equal(await upgradeStatus(`${sim.url}/websocket`), 404);
    assert.equal(await upgradeStatus(`${sim.url}/stream?streams=btcusdt@trade`), 101);
  });
});
