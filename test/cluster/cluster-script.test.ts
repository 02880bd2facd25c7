/** `npm run cluster`: the loopback cluster starts, serves clients through both gateways, and Ctrl-C stops it all. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openClient } from '../gateway/helpers.js';
import { binaryOf } from '../support/system-tools.js';
import { waitFor } from '../support/wait-for.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/cluster.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function free(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port whose five derived ports are free now. */
async function basePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [base, base + 1, base + 100, base + 101, base + 1222];
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
}

it('npm run cluster serves through both gateways and stops everything on SIGINT', async (t) => {
  if (binaryOf(t, ['nats-server'], "Debian's nats-server package") === undefined) return;
  const base = await basePort();
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    cwd: REPO,
    env: { ...process.env, CLUSTER_BASE_PORT: String(base) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(`cluster ready (output: ${output})`, () => output.includes('cluster ready'), 60_000);
    for (const port of [base, base + 1]) {
      const client = await openClient(`ws://127.0.0.1:${port}/ws/btcusdt@trade`);
      await waitFor(`events through the gateway on ${port}`, () => client.messages.length >= 3, 20_000);
      await client.close();
    }
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, output.slice(-2000));
  for (const port of [base, base + 1, base + 100, base + 101, base + 1222]) {
    assert.ok(await free(port), `port ${port} released`);
  }
});
