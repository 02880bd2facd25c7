/**
 * VENUES and BYBIT_URL: what enables Bybit on the gateway, and the one-line errors for settings that
 * cannot work together (checked by the loader, and once through the serve command's exit code 2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/core/errors.js';
import { serve } from './child-process.js';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail('expected a ConfigError');
}

describe('VENUES and BYBIT_URL', () => {
  it('serve Binance alone by default, and Bybit beside it when listed', () => {
    assert.deepEqual(loadConfig({}).venues, ['binance']);
    const both = loadConfig({ VENUES: ' binance , bybit ', USE_NEW_WS_MANAGER: 'true' });
    assert.deepEqual(both.venues, ['binance', 'bybit']);
    assert.equal(both.bybitUrl, undefined);
    const real = loadConfig({
      VENUES: 'binance,bybit',
      USE_NEW_WS_MANAGER: 'true',
      UPSTREAM_URL: 'wss://stream.binance.com:9443',
      BYBIT_URL: 'wss://stream.bybit.com/',
    });
    assert.equal(real.bybitUrl, 'wss://stream.bybit.com');
  });

  it('refuse values that cannot work, each with one line naming what to set', () => {
    const expected =
      'expected a comma-separated list of binance, bybit, okx, binance included, such as binance,bybit,okx';
    assert.equal(
      errorOf(() => loadConfig({ VENUES: 'bybit' })),
      `VENUES="bybit" is not valid: ${expected}`,
    );
    assert.equal(
      errorOf(() => loadConfig({ VENUES: 'binance,kraken' })),
      `VENUES="binance,kraken" is not valid: ${expected}`,
    );
    assert.equal(
      errorOf(() => loadConfig({ VENUES: 'binance,bybit,bybit' })),
      `VENUES="binance,bybit,bybit" is not valid: ${expected}`,
    );
    assert.equal(
      errorOf(() => loadConfig({ VENUES: 'binance,bybit' })),
      'VENUES includes bybit, which only WSManager serves: expected USE_NEW_WS_MANAGER=true',
    );
    assert.equal(
      errorOf(() =>
        loadConfig({ VENUES: 'binance,bybit', USE_NEW_WS_MANAGER: 'true', UPSTREAM_URL: 'ws://127.0.0.1:9' }),
      ),
      'VENUES includes bybit and UPSTREAM_URL is set but BYBIT_URL is not: expected a Bybit WebSocket base such as wss://stream.bybit.com',
    );
    // Clustered mode carries Bybit too (test/cluster/venue-*.test.ts).
    assert.deepEqual(
      loadConfig({ VENUES: 'binance,bybit', USE_NEW_WS_MANAGER: 'true', NATS_URL: 'nats://127.0.0.1:4222' })
        .venues,
      ['binance', 'bybit'],
    );
    assert.equal(
      errorOf(() => loadConfig({ BYBIT_URL: 'wss://stream.bybit.com' })),
      'BYBIT_URL is set but VENUES does not include bybit: expected VENUES=binance,bybit',
    );
    assert.equal(
      errorOf(() =>
        loadConfig({
          VENUES: 'binance,bybit',
          USE_NEW_WS_MANAGER: 'true',
          BYBIT_URL: 'https://api.bybit.com',
        }),
      ),
      'BYBIT_URL="https://api.bybit.com" is not valid: expected a ws:// or wss:// URL such as wss://stream.bybit.com',
    );
    assert.match(
      errorOf(() => resolveConfig({ venues: ['bybit'] })),
      /^venues \(VENUES\)=\["bybit"\] is not valid: expected /,
    );
  });

  it('stop the serve command with one line and exit code 2', async () => {
    const child = serve({ VENUES: 'binance,bybit' });
    const exit = await child.exited;
    assert.equal(exit.code, 2, child.stderr());
    assert.equal(
      child.stderr(),
      'ws-manager: VENUES includes bybit, which only WSManager serves: expected USE_NEW_WS_MANAGER=true\n',
    );
  });
});
