/**
 * Issue 9 items 9 and 10: tokens that no request could ever match are refused at start-up, and
 * ALLOWED_ORIGINS is read and compared the way browsers serialise an `Origin`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { normalizeOrigin } from '../../src/config/origin.js';
import { ConfigError } from '../../src/core/errors.js';
import { type ExitResult, runToExit } from '../support/run-to-exit.js';
import { upgradeStatus } from '../support/upgrade.js';
import { startTestGateway } from './helpers.js';

const entry = fileURLToPath(new URL('../../src/roles/serve-main.ts', import.meta.url));

function configMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.message.includes('\n'), false, 'one line');
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

/** Runs `ws-manager serve` with `env`; resolves with its exit code and stderr. */
function serve(env: Record<string, string>): Promise<ExitResult> {
  return runToExit(entry, [], { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', PORT: '0', ...env });
}

const TOKEN_EXPECTED = 'expected a non-empty token of visible ASCII characters, without whitespace';

describe('METRICS_TOKEN and ADMIN_TOKEN', () => {
  it('refuses whitespace, or only whitespace, in one line that does not show the token', () => {
    for (const name of ['METRICS_TOKEN', 'ADMIN_TOKEN']) {
      for (const value of ['has space', '   ', 'tab\there', 'trailing-newline\n', ' leading']) {
        const message = configMessage(() => loadConfig({ [name]: value }));
        assert.equal(
          message,
          `${name}=(hidden, ${value.length} characters, with whitespace) is not valid: ${TOKEN_EXPECTED}`,
        );
      }
      assert.equal(
        configMessage(() => loadConfig({ [name]: 'päss' })),
        `${name}=(hidden, 4 characters) is not valid: ${TOKEN_EXPECTED}`,
        'Node reads header bytes as Latin-1: a non-ASCII token could never match',
      );
      assert.equal(
        loadConfig({ [name]: 'a-Z_0.9~+/=' })[name === 'ADMIN_TOKEN' ? 'adminToken' : 'metricsToken'],
        'a-Z_0.9~+/=',
      );
    }
    assert.equal(
      configMessage(() => resolveConfig({ adminToken: 'has space' })),
      `adminToken (ADMIN_TOKEN)=(hidden, 9 characters, with whitespace) is not valid: ${TOKEN_EXPECTED}`,
    );
  });

  it('stops `serve` with exit code 2 and that one line', async () => {
    const result = await serve({ METRICS_TOKEN: '   ' });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `ws-manager: METRICS_TOKEN=(hidden, 3 characters, with whitespace) is not valid: ${TOKEN_EXPECTED}\n`,
    );
    assert.equal(result.stdout, '');
  });
});

describe('ALLOWED_ORIGINS', () => {
  it('normalises origins as browsers send them', () => {
    assert.deepEqual(
      loadConfig({ ALLOWED_ORIGINS: 'https://App.Example.com:443, HTTP://LOCALHOST:8080/' }).allowedOrigins,
      ['https://app.example.com', 'http://localhost:8080'],
    );
    assert.deepEqual(resolveConfig({ allowedOrigins: ['https://App.Example.com:443'] }).allowedOrigins, [
      'https://app.example.com',
    ]);
    assert.equal(normalizeOrigin('http://example.com:80'), 'http://example.com');
    assert.equal(normalizeOrigin('https://example.com:8443'), 'https://example.com:8443');
    assert.equal(normalizeOrigin('https://[::1]:443'), 'https://[::1]');
    assert.equal(normalizeOrigin('https://bücher.example'), 'https://xn--bcher-kva.example');
  });

  it('refuses at start a value that is not an origin, in one line', () => {
    for (const value of [
      'https://app.example.com/path',
      'https://app.example.com/?',
      'https://app.example.com?q=1',
      'https://app.example.com#top',
      'https://user:pw@app.example.com',
      'https://user@app.example.com',
      'ftp://app.example.com',
      'ws://app.example.com',
      'null',
      'app.example.com',
      'https:app.example.com',
      'https://',
      'https://a.example,https://b.example/x',
    ]) {
      const message = configMessage(() => loadConfig({ ALLOWED_ORIGINS: value }));
      assert.ok(
        message.startsWith(`ALLOWED_ORIGINS=${JSON.stringify(value)} is not valid: expected `),
        message,
      );
    }
    const typed = configMessage(() => resolveConfig({ allowedOrigins: ['https://a.example/x'] }));
    assert.ok(
      typed.startsWith('allowedOrigins (ALLOWED_ORIGINS)=["https://a.example/x"] is not valid'),
      typed,
    );
  });

  it('admits a browser’s lowercased Origin for a mixed-case configured origin, over a real port', async () => {
    const gateway = await startTestGateway({ allowedOrigins: ['https://App.Example.com'] });
    const upgrade = (origin: string) => upgradeStatus(`${gateway.wsUrl}/ws/btcusdt@trade`, { origin });
    try {
      assert.equal(await upgrade('https://app.example.com'), 101, 'what a browser sends');
      assert.equal(await upgrade('https://APP.example.com:443'), 101, 'compared normalised');
      assert.equal(await upgrade('http://app.example.com'), 403, 'another scheme is another origin');
      assert.equal(await upgrade('https://app.example.com:8443'), 403, 'another port is another origin');
      assert.equal(await upgrade('null'), 403, 'an opaque origin');
    } finally {
      await gateway.close();
    }
  });
});
