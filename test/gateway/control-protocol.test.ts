/** Request ids of live control messages, as both the simulator and the gateway parse them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseControlMessage } from '../../src/exchange/binance/control-protocol.js';

const UNSIGNED =
  '{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}';

describe('control message ids', () => {
  it('refuses negative integers, as the error text says', () => {
    for (const id of ['-1', '-9007199254740991']) {
      const parsed = parseControlMessage(`{"method":"LIST_SUBSCRIPTIONS","id":${id}}`);
      assert.deepEqual(parsed, { ok: false, reply: UNSIGNED }, id);
    }
  });

  it('accepts 0, large unsigned integers, short strings and null', () => {
    for (const id of ['0', '1', '9007199254740991', '"abc-1"', 'null']) {
      const parsed = parseControlMessage(`{"method":"LIST_SUBSCRIPTIONS","id":${id}}`);
      assert.equal(parsed.ok, true, id);
    }
  });
});
