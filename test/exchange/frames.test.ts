/** The one reader of Binance market-stream frames, shared by WSManager (combined) and legacy (raw). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combinedFrame,
  type FrameHandler,
  readCombinedFrame,
  readRawFrame,
} from '../../src/exchange/binance/frames.js';

type Seen = [string, ...unknown[]];

function read(reader: (frame: Buffer, handler: FrameHandler) => void, text: string): Seen[] {
  const seen: Seen[] = [];
  const frame = Buffer.from(text);
  reader(frame, {
    event: (stream, data, bytes) => {
      assert.equal(bytes, frame, 'the event carries the frame it came in');
      seen.push(['event', stream, data]);
    },
    shutdown: () => seen.push(['shutdown']),
    reply: (id, error) => seen.push(['reply', id, error]),
    malformed: (detail) => seen.push(['malformed', detail]),
  });
  return seen;
}

describe('readCombinedFrame', () => {
  it('unwraps the combined-stream envelope', () => {
    assert.deepEqual(read(readCombinedFrame, '{"stream":"btcusdt@trade","data":{"e":"trade","t":7}}'), [
      ['event', 'btcusdt@trade', { e: 'trade', t: 7 }],
    ]);
  });

  it('recognises serverShutdown wrapped and bare', () => {
    const wrapped = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}';
    assert.deepEqual(read(readCombinedFrame, wrapped), [['shutdown']]);
    assert.deepEqual(read(readCombinedFrame, '{"e":"serverShutdown","E":1}'), [['shutdown']]);
  });

  it('reads replies: success, the documented flat error and the nested error servers send', () => {
    assert.deepEqual(read(readCombinedFrame, '{"result":null,"id":3}'), [['reply', 3, undefined]]);
    assert.deepEqual(read(readCombinedFrame, '{"code":2,"msg":"Invalid request","id":4}'), [
      ['reply', 4, { code: 2, msg: 'Invalid request' }],
    ]);
    assert.deepEqual(read(readCombinedFrame, '{"error":{"code":2,"msg":"invalid stream"},"id":5}'), [
      ['reply', 5, { code: 2, msg: 'invalid stream' }],
    ]);
  });

  it('reports what is neither an event, a notice nor a reply', () => {
    const cases: [string, string][] = [
      ['this is not JSON', 'frame that is not JSON'],
      ['42', 'frame that is not a JSON object'],
      ['null', 'frame that is not a JSON object'],
      ['{"stream":"btcusdt@trade"}', 'frame of stream btcusdt@trade without data'],
      ['{"id":"7","result":null}', 'JSON object that is neither an event nor a reply'],
      ['{"e":"trade","t":1}', 'JSON object that is neither an event nor a reply'],
    ];
    for (const [text, detail] of cases)
      assert.deepEqual(read(readCombinedFrame, text), [['malformed', detail]], text);
  });
});

describe('readRawFrame', () => {
  it('passes any JSON on as the stream event, except the shutdown notice', () => {
    assert.deepEqual(read(readRawFrame, '{"e":"trade","t":7}'), [['event', undefined, { e: 'trade', t: 7 }]]);
    assert.deepEqual(read(readRawFrame, '[1,2]'), [['event', undefined, [1, 2]]]);
    assert.deepEqual(read(readRawFrame, '{"e":"serverShutdown","E":1}'), [['shutdown']]);
    assert.deepEqual(read(readRawFrame, '{"e":'), [['malformed', 'frame that is not JSON']]);
  });
});

describe('combinedFrame', () => {
  it('wraps payload bytes in the envelope that readCombinedFrame unwraps', () => {
    const frame = combinedFrame('btcusdt@trade', Buffer.from('{"e":"trade","t":7}'));
    assert.equal(frame.toString(), '{"stream":"btcusdt@trade","data":{"e":"trade","t":7}}');
    assert.deepEqual(read(readCombinedFrame, frame.toString()), [
      ['event', 'btcusdt@trade', { e: 'trade', t: 7 }],
    ]);
  });
});

describe('readCombinedFrame for a handler that reads some streams unparsed', () => {
  function readUnparsed(text: string, parsed: readonly string[]): Seen[] {
    const seen: Seen[] = [];
    const frame = Buffer.from(text);
    readCombinedFrame(frame, {
      event: (stream, data) => seen.push(['event', stream, data]),
      readsData: (stream) => parsed.includes(stream),
      unparsedEvent: (stream, bytes, start, end) => {
        assert.equal(bytes, frame, 'the event carries the frame it came in');
        seen.push(['unparsed', stream, bytes.toString('utf8', start, end)]);
      },
      shutdown: () => seen.push(['shutdown']),
      reply: (id, error) => seen.push(['reply', id, error]),
      malformed: (detail) => seen.push(['malformed', detail]),
    });
    return seen;
  }

  it('hands on the payload bytes of a stream nobody parses, and parses the others', () => {
    const text = '{"stream":"btcusdt@trade","data":{"e":"trade","t":7} }\n';
    assert.deepEqual(readUnparsed(text, []), [['unparsed', 'btcusdt@trade', '{"e":"trade","t":7}']]);
    assert.deepEqual(readUnparsed(text, ['btcusdt@trade']), [
      ['event', 'btcusdt@trade', { e: 'trade', t: 7 }],
    ]);
  });

  it('parses whatever is not laid out as Binance sends events', () => {
    assert.deepEqual(readUnparsed('{"data":{"t":7},"stream":"btcusdt@trade"}', []), [
      ['event', 'btcusdt@trade', { t: 7 }],
    ]);
    assert.deepEqual(readUnparsed('{"stream":"!serverShutdown","data":{}}', []), [['shutdown']]);
    assert.deepEqual(readUnparsed('{"stream":"btcusdt@trade","data":}', []), [
      ['malformed', 'frame that is not JSON'],
    ]);
  });

  it('does not check the payload of a stream nobody parses', () => {
    assert.deepEqual(readUnparsed('{"stream":"btcusdt@trade","data":nope}', []), [
      ['unparsed', 'btcusdt@trade', 'nope'],
    ]);
    assert.deepEqual(readUnparsed('{"stream":"btcusdt@trade","data":{"t":7}', []), [
      ['unparsed', 'btcusdt@trade', '{"t":7'],
    ]);
  });
});
