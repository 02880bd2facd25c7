import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';
import { DEFAULTS, resolveOptions, type WSManagerOptions } from '../../src/manager/options.js';

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
