/**
 * Clustered mode (docs/scale-out.md):
 * 1. Added latency: 1,000 clients on one stream at 50 and at 200 events/s (50,000 and 200,000 msgs/s
 *    delivered), through a single-process gateway (WSManager upstream) and through a clustered gateway
 *    (simulator → ingest node → nats-server → gateway). Each side is measured with only its own
 *    processes running, started fresh for each round (simulator, and for the clustered side nats-server
 *    and the ingest node, as children; the gateway in this process), and the same client process code
 *    (bench/gateway-clients.ts). Sides alternate which goes first. Latency is client receipt minus the
 *    event time E (millisecond clock). Then the same with 10 clients, where fan-out is negligible, for
 *    the cost of the extra hops alone. Each row also shows the CPU each process used in the window
 *    (ms per second; two cores give 2,000) and the machine's load average: the clustered side's two
 *    extra processes wake for every event on the same cores as the gateway and the clients, and other
 *    users of the machine move p99 more than either path does.
 * 2. Publish capacity: the most events per second one ingest node publishes, fed by a simulator at
 *    rate 'max' on one stream, counted from its ws_manager_cluster_published_total over a window.
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
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
/** Events per second on the stream: 50k and 200k msgs/s delivered to the 1,000 clients. */
const RATES = [50, 200] as const;
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

/** The processes of a side, told apart by their command line; the gateway is this process. */
type Role = 'gateway' | 'clients' | 'simulator' | 'ingest' | 'nats-server' | 'other';
const ROLES: readonly Role[] = ['gateway', 'clients', 'simulator', 'ingest', 'nats-server', 'other'];
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function roleOf(commandLine: string): Role {
  if (commandLine.includes('nats-server')) return 'nats-server';
  if (commandLine.includes('gateway-clients')) return 'clients';
  if (commandLine.includes('startSimulator')) return 'simulator';
  if (commandLine.includes(' ingest')) return 'ingest';
  return 'other';
}

/** Descendants of `pid` (Linux /proc), depth first. */
function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    let children: string;
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) {
      found.push(child, ...descendantsOf(child));
    }
  }
  return found;
}

/**
 * CPU milliseconds used so far by this process (the gateway) and by each of its descendants, summed
 * per role: how much of the machine's two cores each side's processes take.
 */
const roles = new Map<number, Role>();

function cpuByRole(): Record<Role, number> {
  const usage = process.cpuUsage();
  const total: Record<Role, number> = {
    gateway: 0,
    clients: 0,
    simulator: 0,
    ingest: 0,
    'nats-server': 0,
    other: 0,
  };
  total.gateway = (usage.user + usage.system) / 1000;
  for (const pid of descendantsOf(process.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      let role = roles.get(pid);
      // Remembered: a child that exited and is not reaped yet has its CPU times but no command line.
      if (role === undefined) {
        role = roleOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
        roles.set(pid, role);
      }
      // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total[role] += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

interface Latency {
  /** CPU ms per second of the window, by process role, and their sum. */
  readonly cpu: Record<Role, number> & { readonly total: number };
  readonly msgsPerSecond: number;
  /** Mean of the millisecond samples: resolves differences below the clock's 1 ms step. */
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly closedEarly: number;
  /** The machine's 1-minute load average at the end of the window (other users' processes included). */
  readonly load: number;
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
    const cpuBefore = cpuByRole();
    const windowStart = performance.now();
    child.send({ type: 'measure', windowMs: WINDOW_MS });
    const result = await done;
    const cpuAfter = cpuByRole();
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const cpu = { total: 0 } as Record<Role, number> & { total: number };
    for (const role of ROLES) {
      cpu[role] = (cpuAfter[role] - cpuBefore[role]) / windowSeconds;
      cpu.total += cpu[role];
    }
    const sorted = result.latencies.sort((a, b) => a - b);
    return {
      cpu,
      msgsPerSecond: result.received / result.seconds,
      mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      closedEarly: result.closedEarly,
      load: loadavg()[0]!,
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

/** Rounds per side, alternating which side goes first, each on fresh processes. */
const ROUNDS = 3;
const CAPACITY_WINDOWS = 3;
/** A few clients: fan-out costs next to nothing, so what remains is the cost of the extra hops. */
const HOP_CLIENTS = 10;
const HOP_ROUNDS = 2;

type Side = 'single' | 'clustered';

/** Starts one side's processes, measures `clients` on it, and stops everything it started. */
async function measureSide(side: Side, rate: number, clients: number): Promise<Latency> {
  const simulator = await startSimulatorProcess({ rate });
  const stops: (() => Promise<unknown>)[] = [() => simulator.close()];
  try {
    let wsUrl: string;
    if (side === 'single') {
      const single = await startGateway(
        { ...GATEWAY_LIMITS, upstreamUrl: simulator.url },
        { logger: silentLogger() },
      );
      stops.unshift(() => single.close());
      wsUrl = single.wsUrl;
    } else {
      const nats = await startNats();
      if (nats === undefined) throw new Error('nats-server is not on PATH');
      stops.unshift(() => nats.close());
      const ingestPort = await freePort();
      const ingest = spawn(process.execPath, ['--import', 'tsx', CLI, 'ingest'], {
        env: {
          ...process.env,
          NATS_URL: nats.url,
          UPSTREAM_URL: simulator.url,
          NODE_ID: 'bench-ingest',
          PORT: String(ingestPort),
          LOG_LEVEL: 'warn',
          LEASE_TTL_SECONDS: '3',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      stops.unshift(async () => {
        const exited = new Promise((r) => ingest.once('exit', r));
        ingest.kill('SIGKILL');
        await exited;
      });
      await waitForPort(ingestPort);
      const clustered = await startGateway(
        { ...GATEWAY_LIMITS, natsUrl: nats.url, nodeId: 'bench-gateway', leaseTtlSeconds: 3 },
        { logger: silentLogger() },
      );
      stops.unshift(() => clustered.close());
      // The first tick of the ingest node only announces it; leases follow one tick later.
      await new Promise((r) => setTimeout(r, 2500));
      wsUrl = clustered.wsUrl;
    }
    return await measure(`${wsUrl}/ws/${STREAM}`, clients);
  } finally {
    for (const stop of stops) await stop();
  }
}

async function compare(rate: number, clients: number, count: number) {
  const rounds: { single: Latency; clustered: Latency }[] = [];
  for (let i = 0; i < count; i++) {
    const order: Side[] = i % 2 === 0 ? ['single', 'clustered'] : ['clustered', 'single'];
    const result: Partial<Record<Side, Latency>> = {};
    for (const side of order) result[side] = await measureSide(side, rate, clients);
    rounds.push({ single: result.single!, clustered: result.clustered! });
  }
  return rounds;
}

/** Prints a finished part at once: a run cut short by the hard stop still shows what it measured. */
function print(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

async function latency(): Promise<void> {
  for (const rate of RATES) {
    print(report(await compare(rate, CLIENTS, ROUNDS), CLIENTS, rate, 'added latency'));
  }
  print([
    'Latency: client receipt minus the event time E (both millisecond clocks, same client process code for both paths), one event in ten; each side on fresh processes of its own.',
    '',
    ...report(
      await compare(RATES[0], HOP_CLIENTS, HOP_ROUNDS),
      HOP_CLIENTS,
      RATES[0],
      'cost of the extra hops alone (fan-out negligible)',
    ),
  ]);
}

/** The roles shown in the CPU column; 'other' (the TypeScript loader's esbuild service) is in the total. */
const CPU_COLUMNS: readonly Role[] = ['gateway', 'clients', 'simulator', 'ingest', 'nats-server'];

function cpuCells(r: Latency): string {
  return `${CPU_COLUMNS.map((role) => r.cpu[role].toFixed(0)).join(' + ')} = ${r.cpu.total.toFixed(0)}`;
}

function report(
  rounds: { single: Latency; clustered: Latency }[],
  clients: number,
  rate: number,
  title: string,
): string[] {
  const row = (side: string, r: Latency) =>
    `${side.padEnd(16)} | ${r.msgsPerSecond.toFixed(0).padStart(16)} | ${r.mean.toFixed(2).padStart(7)} | ${String(r.p50).padStart(6)} | ${String(r.p99).padStart(6)} | ${r.load.toFixed(1).padStart(4)} | ${cpuCells(r)}${r.closedEarly ? ` (${r.closedEarly} closed)` : ''}`;
  const all = (side: 'single' | 'clustered', key: 'mean' | 'p50' | 'p99') => rounds.map((r) => r[side][key]);
  const med = (side: 'single' | 'clustered', key: 'mean' | 'p50' | 'p99') => median(all(side, key));
  const spread = (side: 'single' | 'clustered', key: 'p50' | 'p99') =>
    `${Math.min(...all(side, key))}–${Math.max(...all(side, key))}`;
  const added = (key: 'mean' | 'p50' | 'p99') => med('clustered', key) - med('single', key);
  const summary = (side: 'single' | 'clustered') =>
    `median p50 ${med(side, 'p50')} ms (min–max ${spread(side, 'p50')}), p99 ${med(side, 'p99')} ms (${spread(side, 'p99')}), mean ${med(side, 'mean').toFixed(2)} ms, CPU ${median(rounds.map((r) => r[side].cpu.total)).toFixed(0)} ms per s (two cores: 2,000 at most)`;
  return [
    `${title}: ${clients} clients on ${STREAM} at ${rate} events/s (${clients * rate} msgs/s), ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up, ${rounds.length} rounds alternating which side goes first, fresh processes per side`,
    '',
    `path             | delivered msgs/s | mean ms | p50 ms | p99 ms | load | CPU ms/s: ${CPU_COLUMNS.join(' + ')} = total`,
    ':--------------- | ---------------: | ------: | -----: | -----: | ---: | :--------------------------------',
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
  process.stderr.write('cluster bench exceeded 600 s\n');
  // The side being measured is cut short: its children (nats-server, ingest node, simulator, clients)
  // would outlive this process otherwise.
  for (const pid of descendantsOf(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  process.exit(1);
}, 600_000);
hardStop.unref();
const probe = await startNats();
if (probe === undefined) {
  process.stdout.write('skipped: nats-server is not on PATH (Debian/Ubuntu: apt-get install nats-server)\n');
} else {
  await probe.close();
  await latency();
  const nats = await startNats();
  try {
    print(await publishCapacity(nats!.url));
  } finally {
    await nats?.close();
  }
}
