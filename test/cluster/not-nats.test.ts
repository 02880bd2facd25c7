/**
 * NATS_URL pointing at something that is not NATS: a TCP listener that never says a word, and an HTTP
 * server. Both roles (`ws-manager ingest`, and `ws-manager serve` with NATS_URL) must print one line
 * naming NATS_URL and exit with code 2 within the connect timeout of the listener seeing them connect.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NATS_CONNECT_TIMEOUT_MS } from '../../src/cluster/broker.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** The process must have exited this long after the listener saw it connect. */
const EXIT_WITHIN_MS = NATS_CONNECT_TIMEOUT_MS + 2000;
/** Past this the process is killed and the test reports it as still running. */
const GIVE_UP_MS = 40_000;

interface Listener {
  readonly server: Server;
  /** When the first connection arrived. */
  connectedAt: number | undefined;
}

async function listen(t: TestContext, server: Server): Promise<{ listener: Listener; port: number }> {
  const listener: Listener = { server, connectedAt: undefined };
  server.on('connection', (socket) => {
    listener.connectedAt ??= Date.now();
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  return { listener, port: (server.address() as { port: number }).port };
}

function silentTcp(): Server {
  const server = createServer();
  // Accepts and keeps the socket open without a byte: no NATS INFO ever comes.
  server.on('connection', () => {});
  return server;
}

function http(): Server {
  return createHttpServer((_req, res) => res.end('<html>not NATS</html>'));
}

async function runAgainst(role: 'ingest' | 'serve', port: number) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, role], {
    env: { ...clean, NATS_URL: `nats://127.0.0.1:${port}`, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const giveUp = setTimeout(() => child.kill('SIGKILL'), GIVE_UP_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(giveUp);
  return { code, exitedAt: Date.now(), stderr };
}

// The four cases run at once: each waits out the connect timeout, and they share nothing but the CPU.
describe('NATS_URL pointing at something that is not NATS', { concurrency: true }, () => {
  for (const role of ['ingest', 'serve'] as const) {
    for (const [kind, make] of [
      ['a silent TCP listener', silentTcp],
      ['an HTTP server', http],
    ] as const) {
      it(`${role}: ${kind} gives one line and exit 2 within the connect timeout`, async (t) => {
        const { listener, port } = await listen(t, make());
        const result = await runAgainst(role, port);
        const after = listener.connectedAt === undefined ? undefined : result.exitedAt - listener.connectedAt;
        t.diagnostic(
          `exit code ${result.code} ${after} ms after connecting; stderr: ${result.stderr.trim()}`,
        );
        assert.equal(result.code, 2, `exit code (null: still running after ${GIVE_UP_MS} ms)`);
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(`^ws-manager: NATS_URL="nats://127.0.0.1:${port}" is not usable`),
        );
        assert.ok(after !== undefined && after <= EXIT_WITHIN_MS, `exited ${after} ms after connecting`);
      });
    }
  }
});
