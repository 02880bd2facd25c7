import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sliceData } from '../../src/core/combined-frame.js';
import { COMBINED, FrameMessage } from '../../src/manager/stream-message.js';

test('payloadBytes slices the data out of the frame without copying', () => {
  const payload = '{"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"0.10000000","q":"1.5"}';
  const frame = Buffer.from(`{"stream":"btcusdt@trade","data":${payload}}`);
  const message = new FrameMessage('btcusdt@trade', JSON.parse(payload), frame, COMBINED);
  assert.equal(message.frameBytes(), frame, 'frame bytes are the received buffer itself');
  const bytes = message.payloadBytes();
  assert.equal(bytes.toString(), payload);
  assert.equal(bytes.buffer, frame.buffer, 'a view of the frame, not a copy');
  assert.equal(message.payloadBytes(), bytes, 'cached');
});

test('payloadBytes handles arrays, "!" streams, trailing whitespace and non-ASCII', () => {
  const arr = '[{"s":"BTCUSDT","c":"1"},{"s":"ÉTH","c":"2"}]';
  const frame = Buffer.from(`{"stream":"!miniTicker@arr","data":${arr}} \n`);
  assert.equal(sliceData(frame, '!miniTicker@arr')?.toString(), arr);
  const spaced = Buffer.from('{"stream":"btcusdt@trade","data":{"t":1} }');
  assert.equal(sliceData(spaced, 'btcusdt@trade')?.toString(), '{"t":1}');
});

test('payloadBytes falls back to serialising data for another layout', () => {
  const frame = Buffer.from('{"data":{"t":1,"p":"2.50"},"stream":"btcusdt@trade"}');
  assert.equal(sliceData(frame, 'btcusdt@trade'), undefined);
  const message = new FrameMessage('btcusdt@trade', { t: 1, p: '2.50' }, frame, COMBINED);
  assert.equal(message.payloadBytes().toString(), '{"t":1,"p":"2.50"}');
  assert.equal(sliceData(Buffer.from('{"stream":"ethusdt@trade","data":{}}'), 'btcusdt@trade'), undefined);
});
