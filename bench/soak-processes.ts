/**
 * The processes of the soak (bench/soak.bench.ts, and its small version in the tests): the simulator,
 * the gateway and the floor each in a process of their own, measured from /proc, and the lean clients
 * (bench/soak-clients.ts) forked in several.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectedReport, SoakJob, SoakReport } from './soak-clients.js';
import { nextMessage } from './support.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const PER_ADDRESS = 100;
const TICK = 100; // clock ticks per second, for /proc/<pid>/stat
/**
 * How long a server has to answer for its metrics. Node accepts one connection per event-loop turn, so a
 * server fanning out more than it can carry (its turns seconds long) reaches this request only after the
 * handshakes queued ahead of it, abandoned ones included; past this the bench says so instead of waiting.
 */
const METRICS_TIMEOUT_MS = 15_000;

export interface Server {
  readonly pid: number;
  readonly port: number;
  /**
   * The gateway's Prometheus text as name → value; the floor's event-loop delay under the same names.
   * Rejects when the server has not answered within METRICS_TIMEOUT_MS.
   */
  metrics(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function lineFrom(child: ChildProcess, match: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${match} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = match.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`process exited with ${code}: ${buf.slice(-500)}`)));
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

export function symbols(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `s${String(i).padStart(4, '0')}usdt`);
}

export async function startSimulator(
  symbolList: string[],
  rate: number,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      here('../src/cli.ts'),
      'simulate',
      '--port',
      String(port),
      '--rate',
      String(rate),
      '--symbols',
      symbolList.join(','),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await lineFrom(child, /listening|127\.0\.0\.1/, 30_000);
  return { url: `ws://127.0.0.1:${port}`, child };
}

/**
 * Starts `ws-manager <role>` in a process of its own with `env` on top of the soak's defaults: from
 * dist/ as the image runs it (`compiled`), or from the sources through tsx (tests, where dist/ may be
 * stale). Resolves once it answers /healthz.
 */
export async function startRoleProcess(
  role: 'serve' | 'ingest',
  env: Record<string, string>,
  compiled: boolean,
): Promise<Server> {
  const port = await freePort();
  // SOAK_GATEWAY_ARGS: extra node arguments for gateways, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const extra = role === 'serve' ? (process.env['SOAK_GATEWAY_ARGS'] ?? '').split(' ').filter(Boolean) : [];
  const entry = compiled ? [here('../dist/src/cli.js')] : ['--import', 'tsx', here('../src/cli.ts')];
  const child = spawn(process.execPath, [...extra, ...entry, role], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (child.exitCode !== null) throw new Error(`ws-manager ${role} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`ws-manager ${role} did not answer /healthz within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: child.pid!,
    port,
    async metrics() {
      const text = await (
        await fetch(`${base}/api/ws/metrics?format=prometheus`, {
          signal: AbortSignal.timeout(METRICS_TIMEOUT_MS),
        })
      ).text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line === '') continue;
        const space = line.lastIndexOf(' ');
        const name = line.slice(0, space);
        const value = Number(line.slice(space + 1));
        values.set(name, (values.get(name) ?? 0) + value);
        // A labelled series also adds to its metric's total (every venue, every reason) under the bare name.
        const brace = name.indexOf('{');
        if (brace > 0) values.set(name.slice(0, brace), (values.get(name.slice(0, brace)) ?? 0) + value);
      }
      return values;
    },
    close: () => stop(child),
  };
}

/** A gateway serving through WSManager from `upstreamUrl`, its limits opened for `maxClients`. */
export function startGatewayProcess(
  upstreamUrl: string,
  maxClients: number,
  compiled: boolean,
): Promise<Server> {
  return startRoleProcess('serve', gatewayEnv(maxClients, { UPSTREAM_URL: upstreamUrl }), compiled);
}

/** The settings of a soak gateway: WSManager, room for `maxClients`, and `env`. */
export function gatewayEnv(maxClients: number, env: Record<string, string>): Record<string, string> {
  return {
    USE_NEW_WS_MANAGER: 'true',
    MAX_CLIENTS: String(maxClients + 1000),
    MAX_UPSTREAM_STREAMS: '5000',
    ...env,
  };
}

/** nats-server with JetStream on a free loopback port and a temporary store, removed when stopped. */
export async function startNats(): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'ws-manager-soak-nats-'));
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.destroy() !== undefined));
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('nats-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async close() {
      await stop(child);
      rmSync(store, { recursive: true, force: true });
    },
  };
}

export async function startFloorProcess(upstreamUrl: string, streams: string[]): Promise<Server> {
  // SOAK_FLOOR_ARGS: extra node arguments for the floor, as SOAK_GATEWAY_ARGS for gateways.
  const extra = (process.env['SOAK_FLOOR_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...extra, '--import', 'tsx', here('soak-floor.ts'), upstreamUrl, streams.join(',')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const line = await lineFrom(child, /\{"port":\d+\}/, 30_000);
  const port = (JSON.parse(line) as { port: number }).port;
  return {
    pid: child.pid!,
    port,
    async metrics() {
      const loop = (await (
        await fetch(`http://127.0.0.1:${port}/loop`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) })
      ).json()) as Record<string, number>;
      return new Map(Object.entries(loop));
    },
    close: () => stop(child),
  };
}

/** RSS (bytes) and CPU seconds (user + system) of a process, from /proc. */
export function processUsage(pid: number): { rss: number; cpu: number; fds: number } {
  if (!existsSync(`/proc/${pid}`)) throw new Error(`process ${pid} is gone`);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICK;
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const fds = Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 0);
  return { rss, cpu, fds };
}

/**
 * The main thread of a process, from /proc/<pid>/task/<pid>/schedstat: ms on a CPU, and ms it was
 * runnable but waiting for one. A stalled event loop with the thread waiting is the machine's doing
 * (here: the clients on the same cores), not work of the process.
 */
export function mainThreadTimes(pid: number): { cpuMs: number; waitMs: number } {
  const [cpu, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
  return { cpuMs: Number(cpu) / 1e6, waitMs: Number(wait) / 1e6 };
}

export interface Clients {
  readonly children: ChildProcess[];
  connect(): Promise<ConnectedReport>;
  /** Drops every client (at once, or spread over `spreadMs`); resolves once every process has. */
  drop(spreadMs?: number): Promise<void>;
  /** Drops every client (at once, or spread over `spreadMs`), then connects them all again at once. */
  reconnect(spreadMs?: number): Promise<ConnectedReport>;
  window(ms: number): Promise<SoakReport>;
  close(): Promise<void>;
}

function sum(reports: ConnectedReport[], ms: number): ConnectedReport {
  const refused: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.refused)) refused[k] = (refused[k] ?? 0) + v;
  return {
    type: 'connected',
    open: reports.reduce((a, r) => a + r.open, 0),
    failed: reports.reduce((a, r) => a + r.failed, 0),
    timedOut: reports.reduce((a, r) => a + r.timedOut, 0),
    refused,
    ms,
  };
}

/**
 * Forks the lean clients: `total` sockets over at least `processes` processes of at most 5,000 each,
 * 100 per source address from 127.0.1.0 up, client i on paths[i % paths.length] overall.
 */
export function startClients(port: number, paths: string[], total: number, processes: number): Clients {
  const count = Math.max(processes, Math.ceil(total / 5000));
  const children: ChildProcess[] = [];
  const jobs: SoakJob[] = [];
  let address = 0;
  for (let p = 0; p < count; p++) {
    const clients = Math.floor(total / count) + (p < total % count ? 1 : 0);
    const addresses: string[] = [];
    for (let i = 0; i < Math.ceil(clients / PER_ADDRESS); i++, address++) {
      addresses.push(`127.0.${1 + Math.floor(address / 256)}.${address % 256}`);
    }
    // Client i of this process takes path (offset + i), so the streams stay evenly spread overall.
    const offset = p * Math.floor(total / count);
    const rotated = paths.map((_, i) => paths[(offset + i) % paths.length]!);
    jobs.push({
      type: 'job',
      host: '127.0.0.1',
      port,
      localAddresses: addresses,
      paths: rotated,
      clients,
      concurrency: 50,
      handshakeTimeoutMs: 10_000,
      deadlineMs: 60_000,
    });
    children.push(
      fork(here('soak-clients.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }
  const all = async <T>(type: string, extra?: (i: number) => object): Promise<T[]> =>
    Promise.all(
      children.map((child, i) => {
        const answer = nextMessage<T>(child);
        child.send({ type, ...extra?.(i) });
        return answer;
      }),
    );
  return {
    children,
    async connect() {
      const started = Date.now();
      return sum(await all<ConnectedReport>('job', (i) => jobs[i]!), Date.now() - started);
    },
    async drop(spreadMs = 0) {
      await all('drop', () => ({ spreadMs }));
    },
    async reconnect(spreadMs = 0) {
      const started = Date.now();
      return sum(await all<ConnectedReport>('reconnect', () => ({ spreadMs })), Date.now() - started);
    },
    async window(ms) {
      for (const child of children) child.send({ type: 'measure' });
      await new Promise((r) => setTimeout(r, ms));
      const reports = await all<SoakReport>('report');
      return {
        type: 'report',
        open: reports.reduce((a, r) => a + r.open, 0),
        frames: reports.reduce((a, r) => a + r.frames, 0),
        silent: reports.reduce((a, r) => a + r.silent, 0),
        closedByServer: reports.reduce((a, r) => a + r.closedByServer, 0),
        latencies: reports.flatMap((r) => r.latencies),
      };
    },
    async close() {
      for (const child of children) {
        if (child.connected) child.send({ type: 'stop' });
      }
      await Promise.all(
        children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
      );
    },
  };
}
