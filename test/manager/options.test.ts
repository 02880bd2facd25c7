import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { ErrorCodes, InvalidArgumentError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { bybitSpot } from '../../src/exchange/bybit/index.js';
import { okx } from '../../src/exchange/okx/index.js';
import { DEFAULTS, type WSManagerOptions } from '../../src/manager/options.js';
import { OPTION_TABLE, resolveOptions } from '../../src/manager/resolve-options.js';

function rejects(options: unknown, name: RegExp): void {
  assert.throws(
    () => resolveOptions(options as WSManagerOptions),
    (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.ok(err instanceof InvalidArgumentError);
      assert.equal(err.code, ErrorCodes.INVALID_OPTION);
      assert.match(err.message, name);
      return true;
    },
  );
}

test('defaults follow the Binance limits', () => {
  const o = resolveOptions({ url: 'wss://stream.binance.com:9443/' });
  assert.equal(o.streamUrl, 'wss://stream.binance.com:9443/stream');
  assert.equal(o.maxStreamsPerConnection, 1024);
  assert.deepEqual(o.pacing, { messages: 4, windowMs: 1000, maxStreamsPerMessage: 1024 });
  assert.deepEqual(o.connectionAttempts, { limit: 300, windowMs: 300_000 });
  assert.ok(o.retry.maxDelayMs <= 30_000);
  assert.ok(o.rotateAfterMs < 24 * 3600_000);
  assert.equal(o.idleGraceMs, DEFAULTS.idleGraceMs);
  assert.ok(Object.isFrozen(o));
});

test("another exchange's limits set the pacing default: one frame below its limit per second", () => {
  assert.equal(resolveOptions({ url: 'wss://stream.bybit.com', exchange: bybitSpot }).pacing.messages, 9);
  assert.equal(resolveOptions({ url: 'wss://ws.okx.com:8443', exchange: okx }).pacing.messages, 9);
  // A given value is still bounded by the exchange's limit.
  rejects(
    { url: 'wss://stream.bybit.com', exchange: bybitSpot, pacing: { messages: 11 } },
    /"pacing" must be at most 10 messages per 1000 ms/,
  );
});

test('bad options throw a TypeError naming option, expectation and value', () => {
  rejects(undefined, /"options"/);
  rejects({ url: 'http://x' }, /"url".*received "http:\/\/x"/);
  rejects({ url: 42 }, /"url".*received 42/);
  rejects(
    { url: 'ws://h', maxStreamsPerConnection: 2000 },
    /"maxStreamsPerConnection" must be an integer from 1 to 1024; received 2000/,
  );
  rejects({ url: 'ws://h', maxStreamsPerConnection: 1.5 }, /maxStreamsPerConnection.*1\.5/);
  rejects({ url: 'ws://h', retry: { maxDelayMs: 60_000 } }, /"retry.maxDelayMs".*60000/);
  rejects({ url: 'ws://h', retry: { baseDelayMs: 0 } }, /"retry.baseDelayMs"/);
  rejects({ url: 'ws://h', retry: { maxAttempts: -1 } }, /"retry.maxAttempts"/);
  rejects({ url: 'ws://h', retry: { healthyAfterMs: -1 } }, /"retry.healthyAfterMs".*-1/);
  rejects(
    { url: 'ws://h', recovery: 'refill' },
    /"recovery" must be "backfill" or "report"; received "refill"/,
  );
  rejects({ url: 'ws://h', restUrl: 'ftp://x' }, /"restUrl" must be an http:\/\/ or https:\/\/ URL/);
  rejects({ url: 'ws://h', restWeightPerMinute: 7000 }, /"restWeightPerMinute".*7000/);
  rejects({ url: 'ws://h', retry: { firstRetryJitterMs: 60_000 } }, /"retry.firstRetryJitterMs".*60000/);
  rejects({ url: 'ws://h', retry: 'fast' }, /"retry" must be an object; received "fast"/);
  rejects({ url: 'ws://h', pacing: { messages: 6 } }, /"pacing".*5 messages per 1000 ms/);
  rejects({ url: 'ws://h', pacing: { messages: 5, windowMs: 900 } }, /"pacing"/);
  rejects({ url: 'ws://h', idleGraceMs: -5 }, /"idleGraceMs".*-5/);
  rejects({ url: 'ws://h', rotateAfterMs: 24 * 3600_000 }, /"rotateAfterMs"/);
  rejects({ url: 'ws://h', random: 0.5 }, /"random" must be a function; received 0.5/);
  rejects({ url: 'ws://h', connectionAttempts: { limit: 0 } }, /"connectionAttempts.limit"/);
});

test('valid tunables are kept as given, Infinity attempts allowed', () => {
  const o = resolveOptions({
    url: 'ws://127.0.0.1:1',
    pacing: { messages: 5, windowMs: 1000, maxStreamsPerMessage: 10 },
    retry: { baseDelayMs: 10, maxDelayMs: 20, maxAttempts: Number.POSITIVE_INFINITY, resetAfterMs: 0 },
    idleGraceMs: 0,
  });
  assert.equal(o.pacing.messages, 5);
  assert.equal(o.retry.maxAttempts, Number.POSITIVE_INFINITY);
  assert.equal(o.idleGraceMs, 0);
});

test('the REST base of the history is derived from the stream URL, or given', () => {
  const rest = (url: string, restUrl?: string) =>
    resolveOptions({ url, ...(restUrl === undefined ? {} : { restUrl }) }).restUrl;
  assert.equal(rest('wss://stream.binance.com:9443'), 'https://api.binance.com');
  assert.equal(rest('wss://data-stream.binance.vision'), 'https://data-api.binance.vision');
  assert.equal(rest('ws://127.0.0.1:9443'), 'http://127.0.0.1:9443');
  assert.equal(rest('wss://example.com/x'), undefined);
  assert.equal(rest('wss://example.com', 'https://api.example.com/'), 'https://api.example.com');
  assert.equal(resolveOptions({ url: 'ws://h' }).recovery, 'report');
});

test('every option comes from one table row: a few more invalid values, each named with its bounds', () => {
  rejects({ url: 'ws://h', registry: {} }, /"registry" must be a prom-client Registry; received \{\}/);
  rejects({ url: 'ws://h', logger: console.log }, /"logger" must be a pino Logger; received a function/);
  rejects(
    { url: 'ws://h', retry: { baseDelayMs: 500, maxDelayMs: 400 } },
    /"retry.maxDelayMs" must be an integer from 500 to 30000; received 400/,
  );
  rejects(
    { url: 'ws://h', retry: { maxAttempts: 2.5 } },
    /"retry.maxAttempts" must be .* or Infinity; received 2.5/,
  );
  rejects({ url: 'ws://h', connectionAttempts: [] }, /"connectionAttempts" must be an object; received \[\]/);
  rejects({ url: 'ws://h', pacing: null }, /"pacing" must be an object; received null/);
  rejects({ url: 'ws://h', now: 'yesterday' }, /"now" must be a function; received "yesterday"/);
  rejects({ url: 'ws://h', restUrl: 42 }, /"restUrl" must be an http:\/\/ or https:\/\/ URL.*received 42/);
  rejects(
    { url: 'ws://h', stallTimeoutMs: 3 },
    /"stallTimeoutMs" must be an integer from 4 to 2147483647; received 3/,
  );
  rejects({ url: 'wss://' }, /"url" must be a ws:\/\/ or wss:\/\/ URL/);
});

test('absent options resolve to DEFAULTS, groups frozen, a given logger and registry kept as they are', () => {
  const logger = silentLogger();
  const registry = new Registry();
  const o = resolveOptions({ url: 'ws://h/', logger, registry });
  assert.equal(o.url, 'ws://h');
  assert.equal(o.logger, logger);
  assert.equal(o.registry, registry);
  assert.equal(o.random, Math.random);
  assert.equal(o.recovery, 'report');
  assert.deepEqual(o.retry, DEFAULTS.retry);
  assert.deepEqual(o.connectionAttempts, DEFAULTS.connectionAttempts);
  for (const key of ['stallTimeoutMs', 'connectTimeoutMs', 'rotateAfterMs', 'rotationTimeoutMs'] as const)
    assert.equal(o[key], DEFAULTS[key], key);
  assert.ok(Object.isFrozen(o.retry) && Object.isFrozen(o.pacing) && Object.isFrozen(o.connectionAttempts));
  assert.ok(resolveOptions({ url: 'ws://h' }).registry instanceof Registry, 'a fresh registry by default');
  assert.notEqual(resolveOptions({ url: 'ws://h' }).registry, resolveOptions({ url: 'ws://h' }).registry);
});

test('docs/manager.md shows the options table as OPTION_TABLE defines it', () => {
  const doc = readFileSync(new URL('../../docs/manager.md', import.meta.url), 'utf8');
  const header = '| option | default | meaning |';
  const lines = doc.slice(doc.indexOf(header)).split('\n');
  const shown = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith('|')),
  );
  assert.deepEqual(shown, [
    header,
    '|---|---|---|',
    ...OPTION_TABLE.map((row) => `| \`${row.name}\` | ${row.shownDefault} | ${row.doc} |`),
  ]);
});
