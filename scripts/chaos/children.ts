/**
 * Every process the failure matrix starts, in one registry, so that all of them are killed when a row
 * ends, when the harness fails, and when the harness itself is interrupted or exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';
import { waitFor } from '../../test/support/wait-for.js';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last 4 KiB the process wrote (stdout and stderr), for error messages. */
  output(): string;
  exited(): boolean;
  /** Sends `signal` and resolves once the process is gone (SIGKILL after `graceMs`). */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<Child>();

/** SIGKILLs every process still running; synchronous, so it also works from an `exit` handler. */
export function killEverything(): void {
  for (const child of live) if (!child.exited()) child.process.kill('SIGKILL');
}

process.on('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(130);
  });
}

export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Child {
  const proc = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4096);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.on('error', (error) => keep(Buffer.from(`cannot start ${name}: ${error.message}\n`)));
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const child: Child = {
    name,
    process: proc,
    output: () => output,
    exited,
    async stop(signal, graceMs = 20_000) {
      if (exited() || proc.pid === undefined) return;
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      const force = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.kill(signal);
      await gone;
      clearTimeout(force);
    },
  };
  live.add(child);
  proc.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every running process started through startChild and waits until they are gone. */
export async function stopEverything(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop('SIGKILL')));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The tests' polling helper (test/support/wait-for.ts), under the name the harness reads well with. */
export const until = waitFor;

export async function waitForPort(port: number, what: string, timeoutMs = 30_000): Promise<void> {
  await until(
    `${what} listening on 127.0.0.1:${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = tcpConnect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    timeoutMs,
  );
}
