/** Environment configuration: defaults, one-line errors, frozen result, help text and docs in sync. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  configUsage,
  defaultConfig,
  formatDefault,
  loadConfig,
  resolveConfig,
  VARIABLES,
} from '../../src/config/index.js';
import { ConfigError, ErrorCodes } from '../../src/core/errors.js';
import { serveUsage } from '../../src/roles/serve-command.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.code, ErrorCodes.INVALID_CONFIG);
    assert.equal(error.message.includes('\n'), false, 'message is one line');
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs everything locally by default', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.useNewWsManager, false);
    assert.equal(config.upstreamUrl, undefined);
    assert.equal(config.simulatorPort, 0);
    assert.equal(config.shutdownTimeoutSeconds, 10);
    assert.equal(config.clientMaxStreams, 1024);
    assert.equal(config.clientMaxMessagesPerSecond, 5);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.simulatorSymbols));
  });

  it('reads and converts every kind of value', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PORT: '8080',
      USE_NEW_WS_MANAGER: 'true',
      UPSTREAM_URL: 'wss://stream.binance.com:9443/',
      SIMULATOR_SYMBOLS: 'btcusdt, ethusdt',
      SIMULATOR_RATE: 'max',
      ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:8080',
      LOG_LEVEL: 'debug',
      HEALTH_GRACE_SECONDS: '5',
    });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 8080);
    assert.equal(config.useNewWsManager, true);
    assert.equal(config.upstreamUrl, 'wss://stream.binance.com:9443');
    assert.deepEqual(config.simulatorSymbols, ['btcusdt', 'ethusdt']);
    assert.equal(config.simulatorRate, 'max');
    assert.deepEqual(config.allowedOrigins, ['https://app.example.com', 'http://localhost:8080']);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.healthGraceSeconds, 5);
    assert.equal(loadConfig({ USE_NEW_WS_MANAGER: 'false' }).useNewWsManager, false);
    assert.equal(loadConfig({ SIMULATOR_RATE: '2.5' }).simulatorRate, 2.5);
  });

  it('names the variable, the value and what is expected in one line', () => {
    assert.equal(
      configError(() => loadConfig({ USE_NEW_WS_MANAGER: 'yes' })).message,
      'USE_NEW_WS_MANAGER="yes" is not valid: expected "true" or "false"',
    );
    assert.equal(
      configError(() => loadConfig({ PORT: '70000' })).message,
      'PORT="70000" is not valid: expected an integer from 0 to 65535 (0 = a free port)',
    );
    for (const [name, value] of [
      ['USE_NEW_WS_MANAGER', 'TRUE'],
      ['USE_NEW_WS_MANAGER', '1'],
      ['PORT', '-1'],
      ['PORT', '3000abc'],
      ['UPSTREAM_URL', 'http://example.com'],
      ['SIMULATOR_RATE', 'fast'],
      ['SIMULATOR_SYMBOLS', 'BTCUSDT'],
      ['LOG_LEVEL', 'verbose'],
      ['SHUTDOWN_TIMEOUT_SECONDS', '0'],
      ['CLIENT_MAX_STREAMS', '1025'],
      ['ALLOWED_ORIGINS', 'example.com'],
      ['HEALTH_GRACE_SECONDS', '1.5'],
    ] as const) {
      const message = configError(() => loadConfig({ [name]: value })).message;
      assert.ok(message.startsWith(`${name}=${JSON.stringify(value)} is not valid: expected `), message);
    }
    const multiline = configError(() => loadConfig({ PORT: '1\n2' })).message;
    assert.ok(multiline.startsWith('PORT="1\\n2"'), multiline);
  });

  it('refuses a variable set to the empty string instead of reading it as unset', () => {
    // An empty METRICS_TOKEN once meant "no token": metrics served without authentication.
    assert.equal(
      configError(() => loadConfig({ METRICS_TOKEN: '' })).message,
      'METRICS_TOKEN="" is not valid: expected a non-empty token of visible ASCII characters, without whitespace',
    );
    assert.equal(
      configError(() => loadConfig({ ADMIN_TOKEN: '' })).message,
      'ADMIN_TOKEN="" is not valid: expected a non-empty token of visible ASCII characters, without whitespace',
    );
    assert.equal(
      configError(() => loadConfig({ USE_NEW_WS_MANAGER: '' })).message,
      'USE_NEW_WS_MANAGER="" is not valid: expected "true" or "false"',
    );
    for (const v of VARIABLES) {
      const message = configError(() => loadConfig({ [v.env]: '' })).message;
      assert.equal(message, `${v.env}="" is not valid: expected ${v.expected}`);
    }
    assert.equal(loadConfig({}).metricsToken, undefined, 'unset still means the default');
    assert.equal(
      configError(() => resolveConfig({ metricsToken: '' })).message,
      'metricsToken (METRICS_TOKEN)="" is not valid: expected a non-empty token of visible ASCII characters, without whitespace',
    );
  });

  it('defaults MAX_UPSTREAM_STREAMS by implementation; a value that is set wins', () => {
    // Legacy: one upstream socket per client subscription, bounded by Binance's 300 attempts per 5 minutes.
    assert.equal(loadConfig({}).maxUpstreamStreams, 300);
    assert.equal(loadConfig({ USE_NEW_WS_MANAGER: 'false' }).maxUpstreamStreams, 300);
    // WSManager: distinct streams sharing connections of 1024, ten connections' worth.
    assert.equal(loadConfig({ USE_NEW_WS_MANAGER: 'true' }).maxUpstreamStreams, 10_240);
    assert.equal(
      loadConfig({ USE_NEW_WS_MANAGER: 'true', MAX_UPSTREAM_STREAMS: '500' }).maxUpstreamStreams,
      500,
    );
    assert.equal(
      loadConfig({ USE_NEW_WS_MANAGER: 'false', MAX_UPSTREAM_STREAMS: '20000' }).maxUpstreamStreams,
      20_000,
    );
    assert.equal(resolveConfig({}).maxUpstreamStreams, 300);
    assert.equal(resolveConfig({ useNewWsManager: true }).maxUpstreamStreams, 10_240);
    assert.equal(resolveConfig({ useNewWsManager: true, maxUpstreamStreams: 7 }).maxUpstreamStreams, 7);
    assert.equal(defaultConfig().maxUpstreamStreams, 300);
    const help = configUsage();
    assert.ok(help.includes('default: 300 (legacy), 10240 (USE_NEW_WS_MANAGER=true);'), help);
  });

  it('reads UPSTREAM_STALL_TIMEOUT_SECONDS (default 50) and refuses values out of range', () => {
    assert.equal(loadConfig({}).upstreamStallTimeoutSeconds, 50);
    assert.equal(loadConfig({ UPSTREAM_STALL_TIMEOUT_SECONDS: '7' }).upstreamStallTimeoutSeconds, 7);
    const error = configError(() => loadConfig({ UPSTREAM_STALL_TIMEOUT_SECONDS: '0' }));
    assert.match(error.message, /UPSTREAM_STALL_TIMEOUT_SECONDS/);
    assert.match(error.message, /an integer number of seconds from 1 to 3600/);
  });

  it('requires TLS_CERT_FILE and TLS_KEY_FILE together', () => {
    assert.equal(
      configError(() => loadConfig({ TLS_CERT_FILE: '/tmp/cert.pem' })).message,
      'TLS_CERT_FILE is set but TLS_KEY_FILE is not: expected both or neither',
    );
  });

  it('checks typed overrides the same way', () => {
    assert.equal(resolveConfig({ port: 0 }).port, 0);
    assert.match(configError(() => resolveConfig({ port: 1.5 })).message, /^port \(PORT\)=1.5 is not valid/);
    assert.match(
      configError(() => resolveConfig({ useNewWsManager: 'yes' as unknown as boolean })).message,
      /USE_NEW_WS_MANAGER/,
    );
  });
});

describe('documentation of the variables', () => {
  it('lists every variable with its default in --help', () => {
    for (const v of VARIABLES) {
      assert.ok(configUsage().includes(v.env), v.env);
      assert.ok(serveUsage.includes(`  ${v.env}`), v.env);
      assert.ok(serveUsage.includes(`default: ${formatDefault(v.default)}`), `${v.env} default`);
    }
  });

  for (const file of ['docs/configuration.md', 'README.md']) {
    it(`keeps the table in ${file} in sync with the schema`, () => {
      const doc = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
      for (const v of VARIABLES) {
        const row = doc.split('\n').find((line) => line.startsWith(`| \`${v.env}\` |`));
        assert.ok(row, `${file} has a row for ${v.env}`);
        const shown = v.default === undefined ? '(unset)' : `\`${formatDefault(v.default)}\``;
        assert.ok(row.includes(`| ${shown} |`), `${v.env} default ${shown} in ${file}`);
      }
    });
  }
});
