/**
 * `ws-manager serve` in a child process: what an operator gets wrong at start-up is one line naming the
 * variable, its value and the cause, with exit code 2; and a log file whose writes fail never blocks
 * serving or the SIGTERM drain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { listening, serve } from './child-process.js';
import { fetchRaw } from './helpers.js';

let dir: string;
let busy: Server;
let busyPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ws-manager-startup-'));
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
after(() => {
  busy.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('start-up errors', () => {
  const cases: [string, () => Record<string, string>, RegExp][] = [
    [
      'PORT already in use',
      () => ({ PORT: String(busyPort) }),
      /^ws-manager: PORT=\d+ is not valid: the port is already in use \(EADDRINUSE\)$/,
    ],
    [
      'SIMULATOR_PORT already in use',
      () => ({ SIMULATOR_PORT: String(busyPort) }),
      /^ws-manager: SIMULATOR_PORT=\d+ is not valid: the port is already in use \(EADDRINUSE\)$/,
    ],
    [
      // 192.0.2.1 (TEST-NET-1, RFC 5737) is never an address of this machine; binding fails locally.
      'HOST not an address of this machine',
      () => ({ HOST: '192.0.2.1' }),
      /^ws-manager: HOST="192\.0\.2\.1" is not valid: expected an address of this machine .*\(EADDRNOTAVAIL\)$/,
    ],
    [
      'LOG_FILE in a missing folder',
      () => ({ LOG_FILE: join(dir, 'missing', 'gateway.log') }),
      /^ws-manager: LOG_FILE=".*missing\/gateway\.log" is not valid: expected a file that can be opened for appending \(ENOENT\)$/,
    ],
    [
      'LOG_FILE a directory',
      () => ({ LOG_FILE: dir }),
      /^ws-manager: LOG_FILE=".*" is not valid: expected a file that can be opened for appending \(EISDIR\)$/,
    ],
    [
      'TLS files that are not PEM',
      () => ({ TLS_CERT_FILE: join(dir, 'garbage.pem'), TLS_KEY_FILE: join(dir, 'garbage.pem') }),
      /^ws-manager: TLS_CERT_FILE=".*garbage\.pem" and TLS_KEY_FILE=".*garbage\.pem" are not valid: expected a PEM certificate and its private key \(.+\)$/,
    ],
    [
      'a TLS file that is missing',
      () => ({ TLS_CERT_FILE: join(dir, 'none.pem'), TLS_KEY_FILE: join(dir, 'garbage.pem') }),
      /^ws-manager: TLS_CERT_FILE=".*none\.pem" is not valid: expected a readable PEM file \(ENOENT\)$/,
    ],
  ];
  for (const [name, env, expected] of cases) {
    it(`${name}: one line, exit 2`, async () => {
      const child = serve(env());
      const exit = await child.exited;
      assert.equal(exit.code, 2, child.stderr());
      assert.ok(child.stderr().endsWith('\n'), child.stderr());
      const lines = child.stderr().trimEnd().split('\n');
      assert.equal(lines.length, 1, child.stderr());
      assert.match(lines[0]!, expected);
    });
  }
});

describe('LOG_FILE whose writes fail', () => {
  let child: ReturnType<typeof serve> | undefined;
  // A blocked event loop would leave the child (and the requests to it) hanging: the timeout turns that
  // into a failure, and after() ends the child.
  after(() => child?.process.kill('SIGKILL'));

  it('keeps serving, reports once, counts the lost lines, and drains on SIGTERM in time', {
    timeout: 60_000,
  }, async () => {
    // /dev/full accepts open() and fails every write with ENOSPC, as a full disk does.
    const gateway = serve({ LOG_FILE: '/dev/full', LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_SECONDS: '3' });
    child = gateway;
    const started = await listening(gateway);
    assert.equal((await fetchRaw(`${started.url}/healthz`)).status, 200);
    const counted = await waitFor('lost log lines counted', async () => {
      const text = (await fetchRaw(`${started.url}/api/ws/metrics?format=prometheus`)).body;
      const m = /^ws_gateway_log_write_errors_total (\d+)/m.exec(text);
      return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
    });
    assert.ok(counted > 0);
    assert.equal((await fetchRaw(`${started.url}/healthz`)).status, 200, 'still serving');

    const signalledAt = Date.now();
    gateway.process.kill('SIGTERM');
    const exit = await gateway.exited;
    assert.equal(exit.code, 0, gateway.stderr());
    // 3 s deadline plus a margin for signal delivery and process teardown on a loaded machine.
    assert.ok(exit.at - signalledAt < 3000 + 2000, `exited ${exit.at - signalledAt} ms after SIGTERM`);
    const reports = gateway.stderr().match(/cannot write LOG_FILE="\/dev\/full" \(ENOSPC\)/g) ?? [];
    assert.equal(reports.length, 1, gateway.stderr());
  });
});
