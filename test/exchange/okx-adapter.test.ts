/** The OKX adapter's pure parts: names and endpoints, control text, frame reading, the book rule, trade ids. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExchangeError, FrameHandler } from '../../src/exchange/exchange.js';
import { okx } from '../../src/exchange/okx/index.js';

test('stream names: channel:instId, candles on business, everything else on public', () => {
  assert.deepEqual(okx.streams.parse('trades:BTC-USDT'), {
    name: 'trades:BTC-USDT',
    kind: 'trades',
    symbol: 'BTC-USDT',
    param: undefined,
  });
  assert.deepEqual(okx.streams.parse('candle1H:BTC-USDT-SWAP'), {
    name: 'candle1H:BTC-USDT-SWAP',
    kind: 'candle',
    symbol: 'BTC-USDT-SWAP',
    param: '1H',
  });
  for (const bad of [
    'trades',
    'trades:btc-usdt',
    'trade:BTC-USDT',
    'candle7m:BTC-USDT',
    ':BTC-USDT',
    'books:BTC',
  ])
    assert.equal(okx.streams.isValid(bad), false, bad);
  assert.equal(okx.endpoints.routeOf?.('candle1m:BTC-USDT'), 'business');
  assert.equal(okx.endpoints.routeOf?.('books:BTC-USDT'), 'public');
  assert.equal(okx.endpoints.connectionUrl('ws://h/okx', 'business'), 'ws://h/okx/ws/v5/business');
  assert.equal(okx.endpoints.connectionUrl('ws://h/okx'), 'ws://h/okx/ws/v5/public');
  assert.equal(okx.endpoints.restBaseFor('wss://ws.okx.com:8443'), 'https://www.okx.com');
  assert.equal(okx.endpoints.restBaseFor('ws://127.0.0.1:9/okx'), 'http://127.0.0.1:9/okx');
});

test('a subscribe packs {channel, instId} args and carries our id', () => {
  assert.equal(
    okx.control.encode('subscribe', ['trades:BTC-USDT', 'candle1m:ETH-USDT'], 7),
    '{"id":"7","op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"candle1m","instId":"ETH-USDT"}]}',
  );
});

function read(text: string, readsData?: boolean): string[] {
  const calls: string[] = [];
  const handler: FrameHandler = {
    event: (stream) => calls.push(`event ${stream}`),
    shutdown: () => calls.push('shutdown'),
    reply: (id: number, error: ExchangeError | undefined) =>
      calls.push(`reply ${id} ${error === undefined ? 'ok' : `${String(error.code)} ${String(error.msg)}`}`),
    heartbeat: () => calls.push('heartbeat'),
    malformed: (detail) => calls.push(`malformed ${detail}`),
    ...(readsData === undefined
      ? {}
      : {
          readsData: () => readsData,
          unparsedEvent: (stream: string, frame: Buffer, start: number, end: number) =>
            calls.push(`unparsed ${stream} ${end - start === frame.length}`),
        }),
  };
  okx.frames.read(Buffer.from(text), handler);
  return calls;
}

test('frames: pushes, acknowledgements, errors, the 64008 notice, the text pong', () => {
  const push = '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"5","count":"1"}]}';
  assert.deepEqual(read(push), ['event trades:BTC-USDT']);
  assert.deepEqual(read(push, false), ['unparsed trades:BTC-USDT true']);
  assert.deepEqual(read(push, true), ['event trades:BTC-USDT']);
  assert.deepEqual(
    read('{"id":"3","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a"}'),
    ['reply 3 ok'],
  );
  assert.deepEqual(read('{"id":"4","event":"error","code":"60018","msg":"doesn\'t exist","connId":"a"}'), [
    "reply 4 60018 doesn't exist",
  ]);
  assert.deepEqual(read('{"event":"notice","code":"64008","msg":"upgrade","connId":"a"}'), ['shutdown']);
  assert.deepEqual(read('pong'), ['heartbeat']);
  assert.deepEqual(read('{"event":"error","code":"60012","msg":"Illegal request"}'), [
    'malformed error 60012 without a request id of ours: Illegal request',
  ]);
  assert.deepEqual(read('nope'), ['malformed frame that is not JSON']);
  assert.deepEqual(read('{"arg":{"channel":"trades"},"data":[]}').length, 1);
});

test('trades: ids contiguous, an aggregated item covers count ids ending at its tradeId', () => {
  assert.equal(okx.sequence.ruleOf('trades'), 'contiguous');
  assert.equal(okx.sequence.ruleOf('books'), undefined);
  const one = { data: [{ tradeId: '100', count: '1' }] };
  assert.deepEqual(okx.sequence.range('trades', one), { first: 100, last: 100 });
  const agg = { data: [{ tradeId: '110', count: '3' }, { tradeId: '111' }] };
  assert.deepEqual(okx.sequence.range('trades', agg), { first: 108, last: 111 });
  const bytes = Buffer.from(`xx${JSON.stringify(agg)}yy`);
  assert.deepEqual(okx.sequence.rangeIn('trades', bytes, 2, bytes.length - 2), { first: 108, last: 111 });
  assert.equal(okx.history.refillBy('trades'), 'ids');
  assert.equal(okx.history.refillBy('candle'), 'candles');
});

test('books: prevSeqId continues the book, a snapshot resets, the no-change update is stale', () => {
  const { book } = okx;
  assert.equal(book.diffStream('BTC-USDT', 50), 'books:BTC-USDT');
  assert.equal(book.diffStream('BTC-USDT', 5), 'books5:BTC-USDT');
  assert.equal(book.diffStream('BTC-USDT', 1), 'bbo-tbt:BTC-USDT');
  const update = (prevSeqId: number, seqId: number) =>
    book.readDiff({
      arg: {},
      action: 'update',
      data: [{ asks: [], bids: [], prevSeqId, seqId, checksum: 0 }],
    })!;
  assert.equal(book.step(update(10, 12), 10), 'apply');
  assert.equal(book.step(update(9, 12), 10), 'apply', 'over a REST snapshot taken between two pushes');
  assert.equal(book.step(update(11, 12), 10), 'gap');
  assert.equal(book.step(update(10, 10), 10), 'stale');
  const snapshot = book.readDiff({
    action: 'snapshot',
    data: [{ asks: [], bids: [], prevSeqId: -1, seqId: 3 }],
  })!;
  assert.deepEqual([snapshot.resets, snapshot.last], [true, 3]);
  assert.equal(book.readDiff({ data: [{ asks: [], bids: [], seqId: 4, ts: '1' }] })!.resets, true, 'books5');
  assert.equal(book.readDiff({ data: [] }), undefined);
});
