/**
 * The process metrics a gateway exports: the open-files count follows the process's real sockets, the
 * event-loop family reads a live histogram, and the families that cost a scrape per socket are absent.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { processMetricsRegistry } from '../../src/roles/process-metrics.js';

function value(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${name} in the scrape`);
  return Number(match[1]);
}

test('process_open_fds counts the open files, also after 400 more sockets', async () => {
  const registry = processMetricsRegistry(new Registry());
  // The listing holds one descriptor of its own while it reads.
  const listed = () => readdirSync('/proc/self/fd').length - 1;
  // The test process itself opens and closes a descriptor now and then (coverage, the runner's channel),
  // so counts taken a moment apart may differ by one or two: the comparisons allow 3.
  const near = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) <= 3, `${what}: ${actual}, expected ${expected}`);
  near(value(await registry.metrics(), 'process_open_fds'), listed(), 'open files');

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted: Socket[] = [];
  server.on('connection', (socket) => accepted.push(socket));
  const before = value(await registry.metrics(), 'process_open_fds');
  const clients = await Promise.all(
    Array.from(
      { length: 200 },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', reject);
        }),
    ),
  );
  while (accepted.length < clients.length) await new Promise((resolve) => setImmediate(resolve));
  try {
    const after = value(await registry.metrics(), 'process_open_fds');
    near(after, listed(), 'open files with the sockets');
    near(after - before, 400, 'both ends of 200 loopback connections');
  } finally {
    for (const socket of [...clients, ...accepted]) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the event-loop family reads its own histogram; per-socket families are not exported', async () => {
  const registry = processMetricsRegistry(new Registry());
  // Block the loop for 200 ms once, so the window's maximum is known to be at least that.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const until = performance.now() + 200;
  while (performance.now() < until) {}
  await new Promise((resolve) => setTimeout(resolve, 30));
  const text = await registry.metrics();
  const max = value(text, 'nodejs_eventloop_lag_max_seconds');
  const p50 = value(text, 'nodejs_eventloop_lag_p50_seconds');
  assert.ok(max >= 0.19, `max ${max} s after a 200 ms block`);
  assert.ok(p50 > 0 && p50 <= max, `p50 ${p50} s within (0, max]`);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
  for (const absent of [
    'nodejs_eventloop_lag_stddev_seconds',
    'nodejs_active_handles',
    'nodejs_active_resources',
    'nodejs_active_requests',
  ]) {
    assert.doesNotMatch(text, new RegExp(`^# TYPE ${absent} `, 'm'), absent);
  }
  // The next window starts empty: the block is not reported twice.
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.ok(value(await registry.metrics(), 'nodejs_eventloop_lag_max_seconds') < 0.19);
});
