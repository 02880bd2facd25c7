/** The Binance `Exchange` adapter: what the manager, legacy and cluster code read of the venue through it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binance } from '../../src/exchange/binance/index.js';
import type { BookDiff, FrameHandler, RestAnswer, RestGetter } from '../../src/exchange/exchange.js';

type Seen = [string, ...unknown[]];

function classify(text: string): Seen[] {
  const seen: Seen[] = [];
  const handler: FrameHandler = {
    event: (stream, data) => seen.push(['event', stream, data]),
    shutdown: () => seen.push(['shutdown']),
    reply: (id, error) => seen.push(['reply', id, error]),
    heartbeat: () => seen.push(['heartbeat']),
    malformed: (detail) => seen.push(['malformed', detail]),
  };
  binance.frames.read(Buffer.from(text), handler);
  return seen;
}

function diff(first: number, last: number): BookDiff {
  return { first, last, bids: [], asks: [], resets: false };
}

/** A RestGetter answering every GET with `body`, recording the calls. */
function restAnswering(body: unknown): RestGetter & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    get: (path, query, weight): Promise<RestAnswer> => {
      calls.push([path, query, weight]);
      return Promise.resolve({ ok: true, body });
    },
  };
}

describe('binance adapter: stream codec', () => {
  it('parses names into kind, symbol and parameter', () => {
    const kline = binance.streams.parse('btcusdt@kline_1m');
    assert.equal(kline?.kind, 'kline');
    assert.equal(kline?.symbol, 'btcusdt');
    assert.equal(kline?.param, '1m');
    assert.equal(binance.streams.parse('btcusdt@depth@100ms')?.kind, 'depth');
    assert.equal(binance.streams.parse('!miniTicker@arr')?.symbol, undefined);
  });

  it('validates names and symbols with one grammar', () => {
    assert.equal(binance.streams.isValid('btcusdt@aggTrade'), true);
    for (const bad of ['BTCUSDT@trade', 'btcusdt@nope', '', 42, undefined])
      assert.equal(binance.streams.isValid(bad), false, String(bad));
    assert.equal(binance.streams.isSymbol('btcusdt'), true);
    assert.equal(binance.streams.isSymbol('BTCUSDT'), false);
    assert.equal(binance.streams.isSymbol('b'), false);
  });
});

describe('binance adapter: endpoints and control', () => {
  it('derives the connection URLs and the REST base from the WebSocket base', () => {
    assert.equal(
      binance.endpoints.connectionUrl('wss://stream.binance.com:9443'),
      'wss://stream.binance.com:9443/stream',
    );
    assert.equal(binance.endpoints.singleStreamUrl('ws://h:1', 'btcusdt@trade'), 'ws://h:1/ws/btcusdt@trade');
    assert.equal(binance.endpoints.restBaseFor('wss://stream.binance.com:9443'), 'https://api.binance.com');
    assert.equal(binance.endpoints.restBaseFor('ws://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(binance.endpoints.restBaseFor('wss://elsewhere.example'), undefined);
  });

  it('encodes SUBSCRIBE and UNSUBSCRIBE as {method,params,id}', () => {
    assert.deepEqual(JSON.parse(binance.control.encode('subscribe', ['btcusdt@trade'], 3)), {
      method: 'SUBSCRIBE',
      params: ['btcusdt@trade'],
      id: 3,
    });
    assert.deepEqual(JSON.parse(binance.control.encode('unsubscribe', ['a@trade', 'b@trade'], 4)), {
      method: 'UNSUBSCRIBE',
      params: ['a@trade', 'b@trade'],
      id: 4,
    });
    assert.deepEqual(JSON.parse(binance.control.encodeList?.(5) ?? 'null'), {
      method: 'LIST_SUBSCRIPTIONS',
      id: 5,
    });
  });

  it('states its limits and heartbeat policy as data', () => {
    assert.equal(binance.limits.streamsPerConnection, 1024);
    assert.equal(binance.limits.incomingMessagesPerSecond, 5);
    assert.deepEqual(binance.limits.connectionAttempts, { limit: 300, windowMs: 300_000 });
    assert.equal(binance.limits.usedWeightHeader, 'x-mbx-used-weight-1m');
    assert.equal(binance.control.argsPerMessage, 1024);
    // The server pings; probes are WebSocket ping frames, no keep-alive text.
    assert.equal(binance.heartbeat.pongDeadlineMs, 60_000);
    assert.equal(binance.heartbeat.pingMessage, undefined);
    assert.equal(binance.heartbeat.keepAliveMs, undefined);
  });
});

describe('binance adapter: reply classification and envelope', () => {
  it('tells data, acknowledgements, errors, rotate notices and junk apart', () => {
    assert.deepEqual(classify('{"stream":"btcusdt@trade","data":{"t":1}}'), [
      ['event', 'btcusdt@trade', { t: 1 }],
    ]);
    assert.deepEqual(classify('{"result":null,"id":7}'), [['reply', 7, undefined]]);
    assert.deepEqual(classify('{"error":{"code":2,"msg":"Invalid request"},"id":8}'), [
      ['reply', 8, { code: 2, msg: 'Invalid request' }],
    ]);
    assert.deepEqual(classify('{"stream":"!serverShutdown","data":{"e":"serverShutdown"}}'), [['shutdown']]);
    assert.equal(classify('not json')[0]?.[0], 'malformed');
  });

  it('slices the payload out of a combined frame without copying', () => {
    const frame = Buffer.from('{"stream":"btcusdt@trade","data":{"t":1}}');
    const payload = binance.frames.payloadOf(frame, 'btcusdt@trade');
    assert.equal(payload?.toString(), '{"t":1}');
    assert.equal(payload?.buffer, frame.buffer, 'a view of the same bytes');
    assert.equal(binance.frames.framesAreCombined, true);
  });
});

describe('binance adapter: sequence rule', () => {
  it('judges trade, aggTrade and depth ids contiguous, bookTicker ordered, the rest unsequenced', () => {
    assert.equal(binance.sequence.ruleOf('trade'), 'contiguous');
    assert.equal(binance.sequence.ruleOf('aggTrade'), 'contiguous');
    assert.equal(binance.sequence.ruleOf('depth'), 'contiguous');
    assert.equal(binance.sequence.ruleOf('bookTicker'), 'ordered');
    assert.equal(binance.sequence.ruleOf('kline'), undefined);
    assert.equal(binance.sequence.ruleOf('partialDepth'), undefined);
  });

  it('reads the ids of each kind', () => {
    assert.deepEqual(binance.sequence.range('trade', { t: 5 }), { first: 5, last: 5 });
    assert.deepEqual(binance.sequence.range('aggTrade', { a: 9 }), { first: 9, last: 9 });
    assert.deepEqual(binance.sequence.range('depth', { U: 10, u: 14 }), { first: 10, last: 14 });
    assert.deepEqual(binance.sequence.range('bookTicker', { u: 3 }), { first: 3, last: 3 });
    assert.equal(binance.sequence.range('trade', { t: 'x' }), undefined);
  });

  it('refills trades by id and klines by candle', () => {
    assert.equal(binance.history.refillBy('aggTrade'), 'ids');
    assert.equal(binance.history.refillBy('trade'), 'ids');
    assert.equal(binance.history.refillBy('kline'), 'candles');
    assert.equal(binance.history.refillBy('depth'), undefined);
    const kline = binance.streams.parse('btcusdt@kline_5m')!;
    assert.equal(binance.history.candleIntervalMs(kline), 300_000);
    assert.equal(binance.history.candleIntervalMs(binance.streams.parse('btcusdt@kline_1M')!), undefined);
    assert.equal(binance.history.candleOpenTime({ k: { t: 60_000, x: false } }), 60_000);
    assert.equal(binance.history.candleClosed({ k: { t: 60_000, x: true } }), true);
    assert.equal(binance.history.candleOpenTime({ k: { t: 60_000 } }), undefined);
  });
});

describe('binance adapter: order-book continuity', () => {
  it('reads depth diffs and names the diff stream', () => {
    assert.equal(binance.book.diffStream('btcusdt'), 'btcusdt@depth@100ms');
    assert.deepEqual(binance.book.readDiff({ U: 1, u: 2, b: [['1', '2']], a: [] }), {
      first: 1,
      last: 2,
      bids: [['1', '2']],
      asks: [],
      resets: false,
    });
    assert.equal(binance.book.readDiff({ U: 1, b: [], a: [] }), undefined);
    assert.equal(binance.book.maxDepth, 5000);
  });

  it('applies a diff that covers lastUpdateId + 1, drops older ones, and calls a hole a gap', () => {
    assert.equal(binance.book.step(diff(90, 100), 100), 'stale');
    assert.equal(binance.book.step(diff(95, 105), 100), 'apply', 'the first diff may straddle the snapshot');
    assert.equal(binance.book.step(diff(101, 101), 100), 'apply');
    assert.equal(binance.book.step(diff(102, 110), 100), 'gap');
  });

  it('fetches a snapshot from /api/v3/depth at the weight of its limit', async () => {
    const rest = restAnswering({ lastUpdateId: 7, bids: [['1', '1']], asks: [] });
    const snapshot = await binance.book.fetchSnapshot(rest, 'btcusdt', 1000);
    assert.deepEqual(snapshot, { lastUpdateId: 7, bids: [['1', '1']], asks: [] });
    assert.deepEqual(rest.calls, [['/api/v3/depth', { symbol: 'BTCUSDT', limit: 1000 }, 50]]);
    assert.equal(await binance.book.fetchSnapshot(restAnswering({}), 'btcusdt', 100), undefined);
  });
});
