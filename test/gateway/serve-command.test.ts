/** `ws-manager serve` as a real child process: configuration errors, --help, and the SIGTERM drain. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { waitFor } from '../support/wait-for.js';
import { listening, serve } from './child-process.js';
import { fetchRaw } from './helpers.js';

describe('serve command', () => {
  it('stops on a bad variable with one line naming it', async () => {
    const child = serve({ USE_NEW_WS_MANAGER: 'yes' });
    const { code } = await child.exited;
    assert.equal(code, 2);
    assert.equal(
      child.stderr(),
      'ws-manager: USE_NEW_WS_MANAGER="yes" is not valid: expected "true" or "false"\n',
    );
    assert.equal(child.stdout(), '');
  });

  it('prints every variable with --help', async () => {
    const child = serve({}, ['--help']);
    assert.equal((await child.exited).code, 0);
    for (const name of ['USE_NEW_WS_MANAGER', 'SHUTDOWN_TIMEOUT_SECONDS', 'CLIENT_SEND_QUEUE_BYTES']) {
      assert.ok(child.stdout().includes(name), name);
    }
  });

  it('drains on SIGTERM: readiness 503, upgrades refused, clients closed with 1001, exit 0 in time', async () => {
    const child = serve({ SHUTDOWN_TIMEOUT_SECONDS: '5', USE_NEW_WS_MANAGER: 'true', LOG_LEVEL: 'info' });
    try {
      const started = await listening(child);
      assert.equal(started.implementation, 'WSManager');
      assert.match(started.upstream, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetchRaw(`${started.url}/readyz`)).status, 200);

      const polite = new WebSocket(`${started.wsUrl}/ws/btcusdt@trade`);
      const politeClosed = new Promise<number>((resolve) => polite.on('close', (code) => resolve(code)));
      await new Promise((resolve) => polite.once('message', resolve));
      // A client that never reads keeps the drain open for its close grace, so readiness can be observed.
      const stubborn = connect(Number(new URL(started.url).port), '127.0.0.1');
      stubborn.on('error', () => {});
      stubborn.write(
        'GET /ws/ethusdt@trade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await waitFor(
        'two clients',
        async () =>
          JSON.parse((await fetchRaw(`${started.url}/api/ws/metrics`)).body).metrics.gateway.clients === 2,
      );
      stubborn.pause();

      const signalledAt = Date.now();
      child.process.kill('SIGTERM');
      // The signal is delivered asynchronously: poll until the child has seen it.
      const ready = await waitFor('readiness 503', async () => {
        const res = await fetchRaw(`${started.url}/readyz`);
        return res.status === 503 ? res : undefined;
      });
      assert.equal(JSON.parse(ready.body).reason, 'draining for shutdown');
      assert.equal((await fetchRaw(`${started.url}/api/ws/metrics`, { method: 'HEAD' })).status, 503);
      const refused = await new Promise<number>((resolve) => {
        const late = new WebSocket(`${started.wsUrl}/ws/btcusdt@trade`);
        late.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        late.on('open', () => resolve(101));
        late.on('error', () => resolve(0));
      });
      assert.ok(refused === 503 || refused === 0, `late upgrade refused (got ${refused})`);
      assert.equal(await politeClosed, 1001);

      const exit = await child.exited;
      stubborn.destroy();
      assert.equal(exit.code, 0, child.stdout() + child.stderr());
      // The child promises to exit within its 5 s deadline; what this process observes also includes
      // signal delivery and process teardown on a loaded machine, hence the margin. Without the drain
      // deadline the stubborn client would hold the child until its hard stop exits it with code 1.
      assert.ok(
        exit.at - signalledAt < 5000 + 2000,
        `exited ${exit.at - signalledAt} ms after SIGTERM (deadline 5 s + 2 s margin)`,
      );
      assert.match(child.stdout(), /"msg":"Gateway stopped"/);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});
