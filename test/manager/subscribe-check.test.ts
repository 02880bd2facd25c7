/**
 * The one subscribe() check all three sources make (src/core/subscriber.ts): its order and its errors,
 * and that WSManager and the legacy baseline refuse alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, InvalidArgumentError, StreamError } from '../../src/core/errors.js';
import type { StreamListener, StreamSource } from '../../src/core/stream-source.js';
import { subscriberOf } from '../../src/core/subscriber.js';
import { binance } from '../../src/exchange/binance/index.js';
import { LegacyStreamSource } from '../../src/legacy/legacy-stream-source.js';
import { WSManager } from '../../src/manager/index.js';

const next = () => {};

test('a plain function becomes { next }; a listener object is kept as it is', () => {
  assert.equal(subscriberOf('S', false, binance.streams, 'btcusdt@trade', next).next, next);
  const listener: StreamListener = { next, gap: () => {} };
  assert.equal(subscriberOf('S', false, binance.streams, 'btcusdt@trade', listener), listener);
});

test('refuses after destroy first, then a bad name, then a listener without next', () => {
  const bad = { nope: true } as unknown as StreamListener;
  assert.throws(
    () => subscriberOf('S', true, binance.streams, 'NOT A STREAM', bad),
    (e) =>
      e instanceof StreamError &&
      e.code === ErrorCodes.DESTROYED &&
      e.message === 'S.subscribe() called after destroy()',
  );
  assert.throws(
    () => subscriberOf('S', false, binance.streams, 'NOT A STREAM', bad),
    (e) => e instanceof InvalidArgumentError && e.code === ErrorCodes.INVALID_STREAM,
  );
  assert.throws(
    () => subscriberOf('S', false, binance.streams, 'btcusdt@trade', bad),
    (e) =>
      e instanceof InvalidArgumentError &&
      e.code === ErrorCodes.INVALID_ARGUMENT &&
      /^S\.subscribe\("btcusdt@trade", listener\): listener must be a function or an object with a next\(\) method/.test(
        e.message,
      ),
  );
});

test('WSManager and the legacy baseline refuse the same subscriptions with the same codes', async () => {
  // No socket is opened: every call below is refused before any upstream work.
  const sources: StreamSource[] = [
    new WSManager({ url: 'ws://127.0.0.1:9' }),
    new LegacyStreamSource({ url: 'ws://127.0.0.1:9' }),
  ];
  for (const source of sources) {
    assert.throws(() => source.subscribe('BTCUSDT@trade', next), { code: ErrorCodes.INVALID_STREAM });
    assert.throws(() => source.subscribe('btcusdt@trade', {} as StreamListener), {
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    await source.destroy();
    assert.throws(() => source.subscribe('btcusdt@trade', next), { code: ErrorCodes.DESTROYED });
    assert.throws(() => source.subscribe('not a stream', next), { code: ErrorCodes.DESTROYED });
  }
});
