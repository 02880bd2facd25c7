/**
 * `npm run cluster`: the clustered mode on loopback for trying it out — nats-server with JetStream, the
 * simulator as the exchange, two ingest nodes and two gateways. Ctrl-C stops everything.
 *
 * Ports (CLUSTER_BASE_PORT, default 3000): gateways base and base+1, ingest nodes base+100 and base+101,
 * NATS base+1222 (4222 by default). Needs nats-server on PATH (Debian/Ubuntu: apt-get install nats-server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const base = Number(process.env['CLUSTER_BASE_PORT'] ?? 3000);
if (!Number.isInteger(base) || base < 1024 || base > 60_000) {
  process.stderr.write(
    `CLUSTER_BASE_PORT=${JSON.stringify(process.env['CLUSTER_BASE_PORT'])} is not valid: expected an integer from 1024 to 60000\n`,
  );
  process.exit(2);
}
const natsPort = base + 1222;
const natsUrl = `nats://127.0.0.1:${natsPort}`;
const store = mkdtempSync(join(tmpdir(), 'ws-manager-cluster-'));
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function start(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('error', (error) => {
    process.stderr.write(`cluster: cannot start ${name}: ${error.message}\n`);
    void stop(1);
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`cluster: ${name} exited (${signal ?? code}); stopping everything\n`);
    void stop(1);
  });
  children.push({ name, child });
  return child;
}

async function waitForPort(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.destroy() !== undefined));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const simulator = await startSimulator({ host: '127.0.0.1', port: 0 });

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Gateways and ingest nodes first (they drain and release their leases), NATS last.
  const roles = children.filter((c) => c.name !== 'nats-server');
  await Promise.all(roles.map(({ child }) => exit(child, 'SIGTERM')));
  await Promise.all(children.map(({ child }) => exit(child, 'SIGTERM')));
  await simulator.close();
  rmSync(store, { recursive: true, force: true });
  process.exit(code);
}

function exit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  start('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', store]);
  await waitForPort(natsPort, 'nats-server');
  const common = { NATS_URL: natsUrl, UPSTREAM_URL: simulator.url, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  for (const i of [0, 1]) {
    start(`ingest-${i}`, process.execPath, ['--import', 'tsx', CLI, 'ingest'], {
      ...common,
      NODE_ID: `ingest-${i}`,
      PORT: String(base + 100 + i),
    });
  }
  for (const i of [0, 1]) {
    start(`gateway-${i}`, process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      ...common,
      NODE_ID: `gateway-${i}`,
      PORT: String(base + i),
      USE_NEW_WS_MANAGER: 'true',
    });
  }
  await Promise.all(
    [0, 1].flatMap((i) => [waitForPort(base + i, 'gateway'), waitForPort(base + 100 + i, 'ingest')]),
  );
  process.stdout.write(
    [
      '',
      `cluster ready: NATS ${natsUrl}, simulator ${simulator.url}`,
      `  gateways: ws://127.0.0.1:${base}/ws/btcusdt@trade and ws://127.0.0.1:${base + 1}/ws/btcusdt@trade`,
      `  ingest metrics: http://127.0.0.1:${base + 100}/api/ws/metrics and http://127.0.0.1:${base + 101}/api/ws/metrics`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (error) {
  process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  await stop(1);
}
