/**
 * Clustered mode (docs/scale-out.md):
 * 1. Added latency: 1,000 clients on one stream at 50 events/s (50,000 msgs/s delivered), through a
 *    single-process gateway (WSManager upstream) and through a clustered gateway (simulator → ingest
 *    node → nats-server → gateway), measured in the same run with the same client process
 *    (bench/gateway-clients.ts). Latency is client receipt minus the event time E (millisecond clock).
 *    Then the same with 10 clients, where fan-out is negligible, for the cost of the extra hops alone.
 * 2. Publish capacity: the most events per second one ingest node publishes, fed by a simulator at
 *    rate 'max' on one stream, counted from its ws_manager_cluster_published_total over a window.
 * The simulator runs in a child process (bench/gateway-sim.ts), the clients in a forked one, the ingest
 * node of case 1 in a child process, and nats-server in its own: the server measured runs here alone.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { DEMAND_BUCKET, kvTokenOf } from '../src/cluster/subjects.js';
import { silentLogger } from '../src/core/log.js';
import { startGateway } from '../src/roles/start-gateway.js';
import { startIngest } from '../src/roles/start-ingest.js';
import type { ClientsResult } from './gateway-clients.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { median, nextMessage, percentile } from './support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const STREAM = 'btcusdt@trade';
const CLIENTS = 1000;
const RATE = 50;
const WARMUP_MS = 2000;
const WINDOW_MS = 4000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => resolve(s.destroy() !== undefined));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startNats(): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const store = mkdtempSync(join(tmpdir(), 'ws-manager-bench-nats-'));
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
    stdio: 'ignore',
  });
  const failed = await Promise.race([
    new Promise<boolean>((r) => child.once('error', () => r(true))),
    waitForPort(port).then(() => false),
  ]);
  if (failed) return undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      rmSync(store, { recursive: true, force: true });
    },
  };
}

interface Latency {
  readonly msgsPerSecond: number;
  /** Mean of the millisecond samples: resolves differences below the clock's 1 ms step. */
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly closedEarly: number;
}

async function measure(url: string, clients: number): Promise<Latency> {
  const child = fork(join(HERE, 'gateway-clients.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = nextMessage(child);
    child.send({ url, clients });
    await ready;
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const done = nextMessage<ClientsResult>(child);
    child.send({ type: 'measure', windowMs: WINDOW_MS });
    const result = await done;
    const sorted = result.latencies.sort((a, b) => a - b);
    return {
      msgsPerSecond: result.received / result.seconds,
      mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      closedEarly: result.closedEarly,
    };
  } finally {
    child.kill();
  }
}

const GATEWAY_LIMITS = {
  port: 0,
  maxClients: 10_000,
  clientSendQueueBytes: 1024 * 1024 * 1024,
  sendQueueTotalBytes: 64 * 1024 * 1024 * 1024,
  clientConnectAttemptsPerIp: 1_000_000,
  useNewWsManager: true,
};

/**
 * Rounds per side, alternating, and each round's order swapped (single first, then clustered first),
 * so that load from other processes on the machine and any drift over the run hit both alike.
 */
const ROUNDS = 5;
const CAPACITY_WINDOWS = 3;
/** A few clients: fan-out costs next to nothing, so what remains is the cost of the extra hops. */
const HOP_CLIENTS = 10;
const HOP_ROUNDS = 3;

async function latency(natsUrl: string): Promise<string[]> {
  const simulator = await startSimulatorProcess({ rate: RATE });
  const single = await startGateway(
    { ...GATEWAY_LIMITS, upstreamUrl: simulator.url },
    { logger: silentLogger() },
  );
  const ingestPort = await freePort();
  const ingest = spawn(process.execPath, ['--import', 'tsx', CLI, 'ingest'], {
    env: {
      ...process.env,
      NATS_URL: natsUrl,
      UPSTREAM_URL: simulator.url,
      NODE_ID: 'bench-ingest',
      PORT: String(ingestPort),
      LOG_LEVEL: 'warn',
      LEASE_TTL_SECONDS: '3',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(ingestPort);
  const clustered = await startGateway(
    { ...GATEWAY_LIMITS, natsUrl, nodeId: 'bench-gateway', leaseTtlSeconds: 3 },
    { logger: silentLogger() },
  );
  // The first tick of the ingest node only announces it; leases follow one tick later.
  await new Promise((r) => setTimeout(r, 2500));
  // Both gateways stay up; the idle one costs nothing (no clients: no stream, no demand).
  const compare = async (clients: number, count: number) => {
    const rounds: { single: Latency; clustered: Latency }[] = [];
    for (let i = 0; i < count; i++) {
      const singleFirst = i % 2 === 0;
      const first = await measure(`${(singleFirst ? single : clustered).wsUrl}/ws/${STREAM}`, clients);
      const second = await measure(`${(singleFirst ? clustered : single).wsUrl}/ws/${STREAM}`, clients);
      rounds.push(singleFirst ? { single: first, clustered: second } : { single: second, clustered: first });
    }
    return rounds;
  };
  const full = await compare(CLIENTS, ROUNDS);
  const hops = await compare(HOP_CLIENTS, HOP_ROUNDS);
  await clustered.close();
  await single.close();
  const exited = new Promise((r) => ingest.once('exit', r));
  ingest.kill('SIGTERM');
  await exited;
  await simulator.close();
  return [
    ...report(full, CLIENTS, 'added latency'),
    'Latency: client receipt minus the event time E (both millisecond clocks, same client process for both paths), one event in ten.',
    '',
    ...report(hops, HOP_CLIENTS, 'cost of the extra hops alone (fan-out negligible)'),
  ];
}

function report(rounds: { single: Latency; clustered: Latency }[], clients: number, title: string): string[] {
  const row = (side: string, r: Latency) =>
    `${side.padEnd(16)} | ${r.msgsPerSecond.toFixed(0).padStart(16)} | ${r.mean.toFixed(2).padStart(7)} | ${String(r.p50).padStart(6)} | ${String(r.p99).padStart(6)}${r.closedEarly ? ` (${r.closedEarly} closed)` : ''}`;
  const all = (side: 'single' | 'clustered', key: 'mean' | 'p50' | 'p99') => rounds.map((r) => r[side][key]);
  const med = (side: 'single' | 'clustered', key: 'mean' | 'p50' | 'p99') => median(all(side, key));
  const spread = (side: 'single' | 'clustered', key: 'p50' | 'p99') =>
    `${Math.min(...all(side, key))}–${Math.max(...all(side, key))}`;
  const added = (key: 'mean' | 'p50' | 'p99') => med('clustered', key) - med('single', key);
  const summary = (side: 'single' | 'clustered') =>
    `median p50 ${med(side, 'p50')} ms (min–max ${spread(side, 'p50')}), p99 ${med(side, 'p99')} ms (${spread(side, 'p99')}), mean ${med(side, 'mean').toFixed(2)} ms`;
  return [
    `${title}: ${clients} clients on ${STREAM} at ${RATE} events/s (${clients * RATE} msgs/s), ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up, ${rounds.length} rounds alternating which side goes first`,
    '',
    'path             | delivered msgs/s | mean ms | p50 ms | p99 ms',
    ':--------------- | ---------------: | ------: | -----: | -----:',
    ...rounds.flatMap((r, i) => {
      const lines = [row(`single #${i + 1}`, r.single), row(`clustered #${i + 1}`, r.clustered)];
      return i % 2 === 0 ? lines : lines.reverse();
    }),
    '',
    `single:    ${summary('single')}`,
    `clustered: ${summary('clustered')}`,
    `added by the clustered path (medians): p50 ${added('p50')} ms, p99 ${added('p99')} ms, mean ${added('mean').toFixed(2)} ms${clients === CLIENTS ? ' (target: p99 ≤ 2 ms)' : ''}.`,
  ];
}

async function publishCapacity(natsUrl: string): Promise<string[]> {
  const simulator = await startSimulatorProcess({ rate: 'max' });
  // Demand as a gateway would declare it, without a gateway taking CPU in this process.
  const nc = await connect({ servers: natsUrl });
  const demand = await new Kvm(nc).create(DEMAND_BUCKET, { ttl: 15_000, history: 1 });
  await demand.put(`${kvTokenOf(STREAM)}.bench`, '1');
  const ingest = await startIngest(
    { port: 0, natsUrl, upstreamUrl: simulator.url, nodeId: 'bench-capacity', leaseTtlSeconds: 3 },
    { logger: silentLogger() },
  );
  const published = async () =>
    Number(/^ws_manager_cluster_published_total (\S+)$/m.exec(await ingest.registry.metrics())?.[1] ?? 0);
  await new Promise((r) => setTimeout(r, 2500 + WARMUP_MS));
  const rates: number[] = [];
  for (let i = 0; i < CAPACITY_WINDOWS; i++) {
    const before = await published();
    const start = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    rates.push(((await published()) - before) / ((performance.now() - start) / 1000));
  }
  await ingest.close();
  await nc.close();
  await simulator.close();
  return [
    `publish capacity of one ingest node: one stream fed at rate 'max', ${CAPACITY_WINDOWS} windows of ${WINDOW_MS / 1000} s`,
    '',
    `  ${rates.map((r) => r.toFixed(0)).join(', ')} events/s published (median ${median(rates).toFixed(0)}; WSManager parse + one NATS publish with headers each)`,
  ];
}

const hardStop = setTimeout(() => {
  process.stderr.write('cluster bench exceeded 300 s\n');
  process.exit(1);
}, 300_000);
hardStop.unref();
const nats = await startNats();
if (nats === undefined) {
  process.stdout.write('skipped: nats-server is not on PATH (Debian/Ubuntu: apt-get install nats-server)\n');
} else {
  try {
    const lines = [...(await latency(nats.url)), '', ...(await publishCapacity(nats.url))];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await nats.close();
  }
}
