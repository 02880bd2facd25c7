/** `ws-manager serve` as a real child process, for the tests of start-up, signals and logging. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

const entry = fileURLToPath(new URL('../../src/roles/serve-main.ts', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts the serve command with only PATH, HOST=127.0.0.1, PORT=0 and `env` in its environment. */
export function serve(env: Record<string, string>, args: string[] = []): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { process: child, stdout: () => out, stderr: () => err, exited };
}

/** The parsed "Gateway listening" log line of a started child. */
export async function listening(
  child: Child,
): Promise<{ url: string; wsUrl: string; implementation: string; upstream: string }> {
  const line = await waitFor(
    'the listening line',
    () =>
      child
        .stdout()
        .split('\n')
        .find((l) => l.includes('Gateway listening')),
    20_000,
  );
  return JSON.parse(line) as { url: string; wsUrl: string; implementation: string; upstream: string };
}
