/**
 * The forwarder serves any venue's REST dialect: the calls it answers itself, its clock call and the
 * calls it keeps come from the dialect, not from the forwarder (a made-up venue here).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForwardedAnswer, RestCapability } from '../../src/core/capabilities.js';
import { binanceDialect } from '../../src/exchange/binance/dialect.js';
import type { RestDialect } from '../../src/exchange/dialect.js';
import { RestForwarder } from '../../src/gateway/rest-forwarder.js';

const JSON_TYPE = 'application/json';

const venue: RestDialect = {
  ...binanceDialect.rest,
  prefix: '/v9/',
  endpoints: ['alive', 'clock', 'markets', 'fills'],
  contentType: JSON_TYPE,
  weight: () => 1,
  answerRule: () => ({ maxBytes: 1 << 10, wellFormed: () => true }),
  localAnswers: new Map([['alive', '"yes"']]),
  clock: {
    endpoint: 'clock',
    refreshMs: 1000,
    timeOf: (body) => (JSON.parse(body) as { t: number }).t,
    answer: (ms) => `{"t":${Math.round(ms)}}`,
  },
  keptMs: new Map([['markets', 500]]),
  symbolInfo: (symbol) => ({ endpoint: 'markets', search: `?m=${symbol}` }),
};

/** An exchange whose clock runs 10 s ahead of ours, answering instantly. */
function exchange(now: () => number): RestCapability & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    clientWeightPerMinute: 100,
    async forward(pathAndQuery): Promise<ForwardedAnswer> {
      asked.push(pathAndQuery);
      const body = pathAndQuery === '/v9/clock' ? `{"t":${now() + 10_000}}` : `{"asked":${asked.length}}`;
      return { ok: true, status: 200, contentType: JSON_TYPE, body };
    },
  };
}

describe('RestForwarder with a venue of its own', () => {
  it('answers, times, keeps and forwards as the dialect says', async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const upstream = exchange(now);
    const forwarder = new RestForwarder(upstream, venue, now);
    const get = async (path: string) => {
      const url = new URL(path, 'http://gateway');
      return (await forwarder.answer(url.pathname.slice('/v9/'.length), url)).body;
    };
    assert.equal(await get('/v9/alive'), '"yes"');
    assert.equal(await get('/v9/clock'), '{"t":1010000}');
    clock += 200;
    assert.equal(await get('/v9/clock'), '{"t":1010200}', 'from our clock plus the offset');
    assert.equal(await get('/v9/markets?m=AB'), '{"asked":2}');
    assert.equal(await forwarder.symbolInfo('AB'), await forwarder.symbolInfo('AB'));
    assert.equal((await forwarder.symbolInfo('AB')).body, '{"asked":2}', 'the same query, kept');
    clock += 500;
    assert.equal(await get('/v9/markets?m=AB'), '{"asked":3}', 'asked again once its time is up');
    assert.equal(await get('/v9/fills?m=AB'), '{"asked":4}');
    assert.equal(await get('/v9/fills?m=AB'), '{"asked":5}', 'not kept');
    assert.deepEqual(upstream.asked, [
      '/v9/clock',
      '/v9/markets?m=AB',
      '/v9/markets?m=AB',
      '/v9/fills?m=AB',
      '/v9/fills?m=AB',
    ]);
  });
});
