/**
 * SIGTERM to one gateway replica (a child process running `ws-manager serve` with NATS_URL): it drains
 * and exits; the other replica's clients keep receiving without a gap, and the stopped one's clients
 * reconnect to the other replica and receive.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { spawnRole } from './processes.js';
import { startSmallCluster } from './small-cluster.js';
import { contiguousTradeIds } from './trades.js';

const SYMBOLS = ['stopaausdt', 'stopbbusdt', 'stopccusdt'];
const STREAMS = SYMBOLS.map((s) => `${s}@trade`);

it('SIGTERM of a gateway replica leaves the other untouched; the stopped one’s clients move over and receive', async (t) => {
  const cluster = await startSmallCluster(t, { symbols: SYMBOLS });
  if (cluster === undefined) return;
  const { nats, gateway: other } = cluster;
  const stopped = await spawnRole('serve', 'stopped', {
    NATS_URL: nats.url,
    SHARD_COUNT: '4',
    SHUTDOWN_TIMEOUT_SECONDS: '3',
  });
  const clients: TestClient[] = [];
  cluster.closeLater(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stopped.kill('SIGKILL');
  });
  const stoppedWs = stopped.url.replace('http:', 'ws:');
  const steady = await Promise.all(STREAMS.map((s) => openClient(`${other.wsUrl}/ws/${s}`)));
  const moving = await Promise.all(STREAMS.map((s) => openClient(`${stoppedWs}/ws/${s}`)));
  clients.push(...steady, ...moving);
  const pauses = steady.map(() => ({ last: Date.now(), longest: 0 }));
  steady.forEach((c, i) => {
    c.ws.on('message', () => {
      const p = pauses[i]!;
      p.longest = Math.max(p.longest, Date.now() - p.last);
      p.last = Date.now();
    });
  });
  await waitFor('every client receiving', () => clients.every((c) => c.messages.length >= 10), 20_000);
  for (const p of pauses) p.longest = 0;

  const exited = new Promise<number | null>((resolve) => stopped.child.once('exit', (code) => resolve(code)));
  stopped.child.kill('SIGTERM');
  const closes = await Promise.all(moving.map((c) => c.closed));
  assert.ok(
    closes.every((c) => c.code === 1001),
    `clients closed with 1001 (going away): ${JSON.stringify(closes)}`,
  );
  assert.equal(await exited, 0, `exit code 0; output: ${stopped.output().slice(-2000)}`);
  const moved = await Promise.all(STREAMS.map((s) => openClient(`${other.wsUrl}/ws/${s}`)));
  clients.push(...moved);
  await waitFor('moved clients receiving', () => moved.every((c) => c.messages.length >= 10), 10_000);

  STREAMS.forEach((stream, i) => {
    assert.equal(
      contiguousTradeIds(steady[i]!.messages, stream).gaps,
      0,
      `${stream}: no gap on the other replica`,
    );
    assert.equal(
      contiguousTradeIds(moved[i]!.messages, stream).gaps,
      0,
      `${stream}: moved client contiguous`,
    );
    assert.ok(
      pauses[i]!.longest < 1000,
      `${stream}: longest pause ${pauses[i]!.longest} ms on the other replica`,
    );
  });
});
