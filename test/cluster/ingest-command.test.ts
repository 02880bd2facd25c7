/** `ws-manager ingest` from the command line: help, and one-line errors for bad or missing settings. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load-config.js';
import { freePort, startNatsServer } from './nats-server.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function run(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('ws-manager ingest', () => {
  it('lists the cluster variables in --help', () => {
    const help = run(['ingest', '--help'], {});
    assert.equal(help.status, 0);
    for (const name of [
      'NATS_URL',
      'NODE_ID',
      'SHARD_COUNT',
      'HISTORY_MAX_MESSAGES',
      'LEASE_TTL_SECONDS',
      'DEMAND_TTL_SECONDS',
      'JETSTREAM_REPLICAS',
    ]) {
      assert.ok(help.stdout.includes(name), name);
    }
    assert.ok(run(['--help'], {}).stdout.includes('ingest'));
  });

  it('refuses to start without NATS_URL, with one line and exit code 2', () => {
    const result = run(['ingest'], {});
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /NATS_URL is not set/);
  });

  it('names NATS_URL when nothing listens there', async () => {
    const port = await freePort();
    const result = run(['ingest'], { NATS_URL: `nats://127.0.0.1:${port}`, PORT: '0' });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`NATS_URL="nats://127.0.0.1:${port}" is not usable`));
  });

  it('names SIMULATOR_PORT when the embedded simulator cannot listen, and exits', async (t) => {
    const nats = await startNatsServer(t);
    if (nats === undefined) return;
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    t.after(async () => {
      busy.close();
      await nats.stop();
    });
    const port = (busy.address() as { port: number }).port;
    const result = run(['ingest'], { NATS_URL: nats.url, PORT: '0', SIMULATOR_PORT: String(port) });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(
      result.stderr.trim(),
      `ws-manager: SIMULATOR_PORT=${port} is not valid: the port is already in use (EADDRINUSE)`,
    );
  });

  it('validates the cluster variables like the others', () => {
    const cases: [string, string, RegExp][] = [
      ['NATS_URL', 'http://x:4222', /^NATS_URL="http:\/\/x:4222" is not valid: expected a nats:\/\//],
      ['NODE_ID', 'a.b', /^NODE_ID="a.b" is not valid: expected 1 to 64 letters/],
      ['SHARD_COUNT', '0', /^SHARD_COUNT="0" is not valid: expected an integer from 1 to 4096/],
      ['HISTORY_MAX_MESSAGES', '10', /^HISTORY_MAX_MESSAGES="10" is not valid/],
      ['HISTORY_MAX_AGE_SECONDS', '-1', /^HISTORY_MAX_AGE_SECONDS="-1" is not valid/],
      [
        'LEASE_TTL_SECONDS',
        '1',
        /^LEASE_TTL_SECONDS="1" is not valid: expected an integer number of seconds from 2/,
      ],
      [
        'DEMAND_TTL_SECONDS',
        '2',
        /^DEMAND_TTL_SECONDS="2" is not valid: expected an integer number of seconds from 3 to 3600/,
      ],
      ['JETSTREAM_REPLICAS', '6', /^JETSTREAM_REPLICAS="6" is not valid: expected an integer from 1 to 5/],
      ['JETSTREAM_REPLICAS', '0', /^JETSTREAM_REPLICAS="0" is not valid: expected an integer from 1 to 5/],
    ];
    for (const [name, value, message] of cases) {
      assert.throws(() => loadConfig({ [name]: value }), { message }, name);
    }
    const ok = loadConfig({ NATS_URL: 'nats://a:4222, tls://b:4222', NODE_ID: 'gw-1', SHARD_COUNT: '64' });
    assert.equal(ok.natsUrl, 'nats://a:4222, tls://b:4222');
    assert.equal(ok.shardCount, 64);
    assert.equal(ok.demandTtlSeconds, 15, 'DEMAND_TTL_SECONDS default');
    assert.equal(ok.jetstreamReplicas, 1, 'JETSTREAM_REPLICAS default');
    assert.equal(loadConfig({ JETSTREAM_REPLICAS: '3' }).jetstreamReplicas, 3);
    assert.equal(loadConfig({}).natsUrl, undefined, 'unset: single-process mode');
  });
});
