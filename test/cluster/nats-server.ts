/**
 * A real nats-server with JetStream for tests: ephemeral port on 127.0.0.1, a temporary store
 * directory, stopped (and the directory removed) at the end. Missing binary: skipped loudly locally,
 * a failure under CI=true (.ci/run installs Debian's nats-server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { binaryOf } from '../support/system-tools.js';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** What the server wrote to stderr so far (its log). */
  log(): string;
  /** SIGKILLs the server and starts it again on the same port and store. */
  restart(): Promise<void>;
  /** SIGKILLs the server (start() brings it back on the same port and store). */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface NatsServerOptions {
  /** A configuration file's text (e.g. an authorization block); address, port and store stay the test's. */
  readonly config?: string;
  /** Environment of the server, for variables the configuration refers to. */
  readonly env?: Record<string, string>;
}

export async function startNatsServer(
  t: TestContext,
  options: NatsServerOptions = {},
): Promise<NatsServer | undefined> {
  const binary = binaryOf(t, ['nats-server'], "Debian's nats-server package");
  if (binary === undefined) return undefined;
  const store = mkdtempSync(join(tmpdir(), 'ws-manager-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    const file = join(store, 'nats.conf');
    writeFileSync(file, options.config);
    configArgs.push('-c', file);
  }
  const launch = async () => {
    child = spawn(binary, [...configArgs, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await waitForPort(port);
  };
  const kill = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    log: () => log,
    async restart() {
      await kill();
      await launch();
    },
    kill,
    start: launch,
    async stop() {
      await kill();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept on port ${port} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
