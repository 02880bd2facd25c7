/**
 * The Bybit v5 adapter's pure parts: the topic codec, the control messages, the frame reader's sorting
 * of events, replies, pongs and junk, the order-book rule, the kline history's candle reading, and the
 * REST base a WebSocket base maps to.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bybitLinear, bybitSpot } from '../../src/exchange/bybit/index.js';
import type { ExchangeError, FrameHandler } from '../../src/exchange/exchange.js';

test('topics: the four public kinds with their parameters, and nothing else', () => {
  const { parse, isValid } = bybitSpot.streams;
  assert.deepEqual(parse('publicTrade.BTCUSDT'), {
    name: 'publicTrade.BTCUSDT',
    kind: 'publicTrade',
    symbol: 'BTCUSDT',
    param: undefined,
  });
  assert.deepEqual(parse('orderbook.200.ETHUSDT')?.param, '200');
  assert.deepEqual(parse('kline.D.BTCUSDT')?.param, 'D');
  assert.equal(parse('tickers.BTCUSDT')?.kind, 'tickers');
  for (const bad of [
    'publicTrade.btcusdt',
    'orderbook.25.BTCUSDT',
    'kline.2.BTCUSDT',
    'tickers',
    'publicTrade.BTCUSDT.x',
    'btcusdt@trade',
    '',
  ])
    assert.equal(isValid(bad), false, bad);
  assert.equal(bybitSpot.streams.isSymbol('BTCUSDT'), true);
  assert.equal(bybitSpot.streams.isSymbol('btcusdt'), false);
});

test('endpoints per category, and the REST base of a WebSocket base', () => {
  assert.equal(
    bybitSpot.endpoints.connectionUrl('wss://stream.bybit.com'),
    'wss://stream.bybit.com/v5/public/spot',
  );
  assert.equal(bybitLinear.endpoints.connectionUrl('ws://h:1/bybit'), 'ws://h:1/bybit/v5/public/linear');
  assert.equal(bybitSpot.endpoints.restBaseFor('wss://stream.bybit.com'), 'https://api.bybit.com');
  assert.equal(
    bybitSpot.endpoints.restBaseFor('wss://stream-testnet.bybit.com'),
    'https://api-testnet.bybit.com',
  );
  assert.equal(bybitSpot.endpoints.restBaseFor('ws://127.0.0.1:9/bybit'), 'http://127.0.0.1:9/bybit');
});

test('control messages: op-style with a string req_id; 10 args per spot subscribe', () => {
  assert.equal(
    bybitSpot.control.encode('subscribe', ['publicTrade.BTCUSDT', 'orderbook.50.BTCUSDT'], 7),
    '{"op":"subscribe","req_id":"7","args":["publicTrade.BTCUSDT","orderbook.50.BTCUSDT"]}',
  );
  assert.deepEqual(JSON.parse(bybitSpot.control.encode('unsubscribe', ['tickers.BTCUSDT'], 8)), {
    op: 'unsubscribe',
    req_id: '8',
    args: ['tickers.BTCUSDT'],
  });
  assert.equal(bybitSpot.control.argsPerMessage, 10);
  assert.equal(bybitSpot.control.encodeList, undefined);
  assert.equal(bybitSpot.limits.argCharsPerConnection, 21_000);
  assert.deepEqual(bybitSpot.limits.connectionAttempts, { limit: 500, windowMs: 300_000 });
  assert.deepEqual(bybitSpot.heartbeat, {
    pongDeadlineMs: undefined,
    pingMessage: '{"op":"ping"}',
    keepAliveMs: 20_000,
    pongTimeoutMs: 10_000,
  });
});

/** Records what the reader called, in order. */
function recorder(readsData?: (stream: string) => boolean): { handler: FrameHandler; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const handler: FrameHandler = {
    event: (stream, data) => calls.push(['event', stream, data]),
    shutdown: () => calls.push(['shutdown']),
    reply: (id: number, error: ExchangeError | undefined) => calls.push(['reply', id, error]),
    heartbeat: () => calls.push(['heartbeat']),
    malformed: (detail) => calls.push(['malformed', detail]),
    ...(readsData === undefined
      ? {}
      : {
          readsData,
          unparsedEvent: (stream: string, frame: Buffer, start: number, end: number) =>
            calls.push(['unparsed', stream, frame.subarray(start, end).toString()]),
        }),
  };
  return { handler, calls };
}

test('frames: events carry the whole envelope; replies, pongs and junk are told apart', () => {
  const { handler, calls } = recorder();
  const read = (text: string) => bybitSpot.frames.read(Buffer.from(text), handler);
  read('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":5,"data":[{"i":"1","T":5}]}');
  read('{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":"3","op":"subscribe"}');
  read(
    '{"success":false,"ret_msg":"error:handler not found,topic:x","conn_id":"c","req_id":"4","op":"subscribe"}',
  );
  read('{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"","op":"ping"}');
  read('{"op":"pong","args":["1"],"conn_id":"c"}');
  read('{"success":false,"ret_msg":"error:x","conn_id":"c","req_id":"","op":"subscribe"}');
  read('not json');
  read('[1]');
  read('{"topic":"publicTrade.BTCUSDT"}');
  assert.deepEqual(calls, [
    [
      'event',
      'publicTrade.BTCUSDT',
      { topic: 'publicTrade.BTCUSDT', type: 'snapshot', ts: 5, data: [{ i: '1', T: 5 }] },
    ],
    ['reply', 3, undefined],
    ['reply', 4, { code: 'error:handler not found,topic:x', msg: 'error:handler not found,topic:x' }],
    ['heartbeat'],
    ['heartbeat'],
    ['malformed', 'subscribe reply without a request id of ours: error:x'],
    ['malformed', 'frame that is not JSON'],
    ['malformed', 'frame that is not a JSON object'],
    ['malformed', 'event of publicTrade.BTCUSDT without data'],
  ]);
  assert.equal(bybitSpot.frames.framesAreCombined, false);
});

test('frames: a topic nobody parses is passed on unparsed, found from its first bytes', () => {
  const { handler, calls } = recorder((stream) => stream === 'tickers.BTCUSDT');
  const trade = '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":5,"data":[]}';
  bybitSpot.frames.read(Buffer.from(trade), handler);
  bybitSpot.frames.read(
    Buffer.from('{"topic":"tickers.BTCUSDT","type":"snapshot","ts":5,"data":{}}'),
    handler,
  );
  assert.deepEqual(calls[0], ['unparsed', 'publicTrade.BTCUSDT', trade]);
  assert.equal(calls[1]![0], 'event');
  assert.equal(bybitSpot.frames.payloadOf(Buffer.from(trade), 'publicTrade.BTCUSDT')?.toString(), trade);
});

test('sequence: no topic carries an id that shows a gap', () => {
  for (const kind of ['publicTrade', 'orderbook', 'kline', 'tickers'])
    assert.equal(bybitSpot.sequence.ruleOf(kind), undefined);
});

test('order book: a snapshot or u=1 resets; u must grow by exactly one', () => {
  const { book } = bybitSpot;
  assert.equal(book.seed, 'stream');
  assert.equal(book.diffStream('BTCUSDT', 20), 'orderbook.50.BTCUSDT');
  assert.equal(book.diffStream('BTCUSDT', 1), 'orderbook.1.BTCUSDT');
  assert.equal(book.diffStream('BTCUSDT', 201), 'orderbook.1000.BTCUSDT');
  const diff = (type: string, u: number) =>
    book.readDiff({ topic: 't', type, ts: 1, data: { s: 'X', b: [['1', '2']], a: [], u } });
  assert.equal(diff('snapshot', 500)?.resets, true);
  assert.equal(diff('delta', 1)?.resets, true);
  const d = diff('delta', 501)!;
  assert.deepEqual([d.first, d.last, d.resets, d.bids], [501, 501, false, [['1', '2']]]);
  assert.equal(book.step(d, 500), 'apply');
  assert.equal(book.step(d, 501), 'stale');
  assert.equal(book.step(d, 499), 'gap');
  assert.equal(book.readDiff({ type: 'delta', data: { u: 'x' } }), undefined);
});

test('kline history: candles are read from the envelope, closed by confirm', () => {
  const { history } = bybitSpot;
  assert.equal(history.refillBy('kline'), 'candles');
  assert.equal(history.refillBy('publicTrade'), undefined);
  const event = {
    topic: 'kline.5.BTCUSDT',
    type: 'snapshot',
    ts: 1,
    data: [{ start: 600_000, confirm: false }],
  };
  assert.equal(history.candleOpenTime(event), 600_000);
  assert.equal(history.candleClosed(event), false);
  assert.equal(history.candleIntervalMs(bybitSpot.streams.parse('kline.5.BTCUSDT')!), 300_000);
  assert.equal(history.candleIntervalMs(bybitSpot.streams.parse('kline.W.BTCUSDT')!), 604_800_000);
  assert.equal(history.candleIntervalMs(bybitSpot.streams.parse('kline.M.BTCUSDT')!), undefined);
});
