/** Ingest nodes and gateways as child processes (so a test can signal one), started through the real commands. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';
import { freePort } from './nats-server.js';

const MAIN = {
  ingest: fileURLToPath(new URL('../../src/roles/ingest-main.ts', import.meta.url)),
  serve: fileURLToPath(new URL('../../src/roles/serve-main.ts', import.meta.url)),
};

export interface IngestProcess {
  readonly nodeId: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** The value of one unlabelled metric from its /api/ws/metrics, or undefined when unreachable. */
  metric(name: string): Promise<number | undefined>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function spawnIngest(nodeId: string, env: Record<string, string>): Promise<IngestProcess> {
  return spawnRole('ingest', nodeId, env);
}

/** `ws-manager ingest` or `ws-manager serve` with `env`, on a free port; resolves once it serves metrics. */
export async function spawnRole(
  role: keyof typeof MAIN,
  nodeId: string,
  env: Record<string, string>,
): Promise<IngestProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN[role]], {
    env: {
      ...process.env,
      ...env,
      NODE_ID: nodeId,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const ingest: IngestProcess = {
    nodeId,
    url,
    child,
    output: () => output,
    async metric(name) {
      try {
        const res = await fetch(`${url}/api/ws/metrics?format=prometheus`);
        const text = await res.text();
        // `name` may end in a label set (`{feed="binance"}`): matched literally.
        const m = new RegExp(`^${name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  try {
    await waitFor(
      `${role} ${nodeId} serving metrics`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${role} ${nodeId} exited: ${output}`);
        return (await ingest.metric('ws_manager_cluster_shard_count{feed="binance"}')) !== undefined;
      },
      30_000,
    );
  } catch (error) {
    // A process that never got ready would keep the test file alive: end it, and say what it printed.
    await ingest.kill('SIGKILL');
    throw new Error(`${String(error)}; it printed: ${output.slice(-2000)}`);
  }
  return ingest;
}
