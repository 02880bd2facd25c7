/** Request ids read from the raw text, so unsigned 64-bit ids keep every digit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseControlMessage, topLevelValueText } from '../../src/exchange/binance/control-protocol.js';

describe('request id token', () => {
  it('finds the top-level value, not a nested key or one inside a string', () => {
    const text =
      '{"params":["x\\"id\\":1",{"id":2}],"method":"LIST_SUBSCRIPTIONS" , "id" : 18446744073709551615 }';
    assert.equal(topLevelValueText(text, 'id'), '18446744073709551615');
  });

  it('takes the last duplicate key, as JSON.parse does', () => {
    const parsed = parseControlMessage('{"method":"LIST_SUBSCRIPTIONS","id":1,"id":9223372036854775807}');
    assert.ok(parsed.ok);
    assert.equal(parsed.request.id, 9223372036854775807n);
  });

  it('keeps string and null ids as they are', () => {
    for (const [text, id] of [
      ['"abc-1"', 'abc-1'],
      ['null', null],
    ] as const) {
      const parsed = parseControlMessage(`{"method":"LIST_SUBSCRIPTIONS","id":${text}}`);
      assert.ok(parsed.ok, text);
      assert.equal(parsed.request.id, id);
    }
  });
});
