/**
 * `npm run bench -- soak`: many downstream clients held by one gateway process (WSManager, the
 * simulator upstream in a process of its own), against a floor measured in the same run: a bare `ws`
 * server (bench/soak-floor.ts) that sends the same frames to the same clients with batched writes.
 *
 * Profiles (SOAK_PROFILES, default `a,b,c`; client count of a and c from SOAK_CLIENTS, default 18000):
 * - a: SOAK_CLIENTS clients, each on 1 of 1,000 streams (500 symbols × trade, aggTrade) at 1 event/s;
 * - b: 10,000 clients on 100 busy streams (50 symbols × trade, aggTrade) at 10 events/s each;
 * - c: the clients of a dropped and reconnecting at once (as after a load balancer moved them).
 * Per side and profile: RSS and heap of the server process alone (read from /proc/<pid> and its
 * metrics), CPU, event-loop delay p50/p99/max, delivery latency (receipt minus the payload's event
 * time) p50/p99, clients silent during the window, clients closed by the server, connects per second
 * accepted and refused, and for the gateway what upstream saw (gaps, connection attempts).
 *
 * The gateway runs from dist/ (built first), as the Docker image runs it. The clients
 * (bench/soak-clients.ts) run in SOAK_CLIENT_PROCESSES forked processes (default 4, more so that none
 * holds over 5,000 sockets), spread over source addresses from 127.0.1.0 up, 100 clients per address,
 * so every process stays far under the 20,000 open files one process may hold here. The gateway and the
 * floor hold one descriptor per client: Node raises its soft limit to the hard one at start, and the
 * bench says so when that is below the client count.
 * Bounded: every wait has a deadline; everything it starts is stopped when it ends.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ConnectedReport, SoakJob, SoakReport } from './soak-clients.js';
import { nextMessage, percentile } from './support.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const CLIENTS = Number(process.env['SOAK_CLIENTS'] ?? 18_000);
const PROCESSES = Number(process.env['SOAK_CLIENT_PROCESSES'] ?? 4);
const PROFILES = (process.env['SOAK_PROFILES'] ?? 'a,b,c').split(',').map((p) => p.trim());
const WINDOW_MS = Number(process.env['SOAK_WINDOW_MS'] ?? 20_000);
const PER_ADDRESS = 100;
const TICK = 100; // clock ticks per second, for /proc/<pid>/stat

interface Server {
  readonly pid: number;
  readonly port: number;
  /** The gateway's Prometheus text as name → value; the floor's event-loop delay under the same names. */
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

function symbols(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `s${String(i).padStart(4, '0')}usdt`);
}

async function startSimulator(
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

async function startGatewayProcess(upstreamUrl: string, maxClients: number): Promise<Server> {
  const port = await freePort();
  // SOAK_GATEWAY_ARGS: extra node arguments for the gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const extra = (process.env['SOAK_GATEWAY_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, here('../dist/src/cli.js'), 'serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      USE_NEW_WS_MANAGER: 'true',
      UPSTREAM_URL: upstreamUrl,
      MAX_CLIENTS: String(maxClients + 1000),
      MAX_UPSTREAM_STREAMS: '5000',
      LOG_LEVEL: 'warn',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('the gateway did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: child.pid!,
    port,
    async metrics() {
      const text = await (await fetch(`${base}/api/ws/metrics?format=prometheus`)).text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line === '') continue;
        const space = line.lastIndexOf(' ');
        const name = line.slice(0, space);
        values.set(name, (values.get(name) ?? 0) + Number(line.slice(space + 1)));
      }
      return values;
    },
    close: () => stop(child),
  };
}

async function startFloorProcess(upstreamUrl: string, streams: string[]): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', here('soak-floor.ts'), upstreamUrl, streams.join(',')],
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
      const loop = (await (await fetch(`http://127.0.0.1:${port}/loop`)).json()) as Record<string, number>;
      return new Map(Object.entries(loop));
    },
    close: () => stop(child),
  };
}

/** RSS (bytes) and CPU seconds (user + system) of a process, from /proc. */
function processUsage(pid: number): { rss: number; cpu: number; fds: number } {
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

interface Clients {
  readonly children: ChildProcess[];
  connect(): Promise<ConnectedReport>;
  reconnect(): Promise<ConnectedReport>;
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

function startClients(port: number, paths: string[], total: number): Clients {
  const processes = Math.max(PROCESSES, Math.ceil(total / 5000));
  const children: ChildProcess[] = [];
  const jobs: SoakJob[] = [];
  let address = 0;
  for (let p = 0; p < processes; p++) {
    const clients = Math.floor(total / processes) + (p < total % processes ? 1 : 0);
    const addresses: string[] = [];
    for (let i = 0; i < Math.ceil(clients / PER_ADDRESS); i++, address++) {
      addresses.push(`127.0.${1 + Math.floor(address / 256)}.${address % 256}`);
    }
    // Client i of this process takes path (offset + i), so the streams stay evenly spread overall.
    const offset = p * Math.floor(total / processes);
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
    async reconnect() {
      const started = Date.now();
      return sum(await all<ConnectedReport>('reconnect'), Date.now() - started);
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

const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const ms = (seconds: number | undefined) => (seconds === undefined ? 'n/a' : (seconds * 1000).toFixed(1));

interface ProfileResult {
  readonly line: string;
}

/** One side of a profile: starts the server, connects the clients, measures a window, optionally the storm. */
async function runSide(
  side: 'gateway' | 'floor',
  upstreamUrl: string,
  streams: string[],
  clients: number,
  storm: boolean,
): Promise<ProfileResult[]> {
  const server =
    side === 'gateway'
      ? await startGatewayProcess(upstreamUrl, clients)
      : await startFloorProcess(upstreamUrl, streams);
  const lines: ProfileResult[] = [];
  const pool = startClients(
    server.port,
    streams.map((s) => `/ws/${s}`),
    clients,
  );
  try {
    const idle = processUsage(server.pid);
    if (idle.fds < clients + 500) {
      lines.push({
        line: `${side}: open files limited to ${idle.fds}, below ${clients} clients; raise ulimit -n`,
      });
    }
    const connected = await pool.connect();
    await new Promise((r) => setTimeout(r, 3000));
    const before = await server.metrics();
    const usage0 = processUsage(server.pid);
    const window = await pool.window(WINDOW_MS);
    const usage1 = processUsage(server.pid);
    const after = await server.metrics();
    const lat = window.latencies.sort((a, b) => a - b);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const heap = after.get('nodejs_heap_size_used_bytes');
    const loopDelay = (m: Map<string, number>, which: readonly string[]) =>
      which.map((q) => ms(m.get(`nodejs_eventloop_lag_${q}_seconds`))).join('/');
    const upstream = (d: (name: string) => number) =>
      side === 'gateway'
        ? `; upstream gaps ${d('ws_manager_message_gaps_total')}, attempts ${d('ws_manager_upstream_connect_attempts_total')}, errors ${d('ws_manager_errors_total')}`
        : '';
    const attempts = (r: ConnectedReport) =>
      `attempts refused ${JSON.stringify(r.refused)}, failed ${r.failed}, timed out ${r.timedOut}`;
    lines.push({
      line:
        `${side}: ${connected.open}/${clients} connected in ${(connected.ms / 1000).toFixed(1)} s ` +
        `(${Math.round(connected.open / (connected.ms / 1000))}/s; ${attempts(connected)}); ` +
        `RSS ${(usage1.rss / 2 ** 20).toFixed(0)} MiB, ${kib((usage1.rss - idle.rss) / Math.max(1, connected.open))} KiB/client over idle ${(idle.rss / 2 ** 20).toFixed(0)} MiB` +
        (heap !== undefined ? `, heap ${kib(heap / Math.max(1, connected.open))} KiB/client` : '') +
        `; CPU ${(((usage1.cpu - usage0.cpu) / (WINDOW_MS / 1000)) * 100).toFixed(0)}% of a core; ` +
        `delivered ${Math.round(window.frames / (WINDOW_MS / 1000))}/s, silent ${window.silent}, closed ${window.closedByServer}` +
        `${side === 'gateway' ? `, slow disconnects ${delta('ws_gateway_slow_client_disconnects_total')}` : ''}; ` +
        `latency p50/p99 ${percentile(lat, 50)}/${percentile(lat, 99)} ms; ` +
        `loop delay p50/p99/max ${loopDelay(after, ['p50', 'p99', 'max'])} ms${upstream(delta)}`,
    });
    if (storm) {
      const m0 = await server.metrics();
      const back = await pool.reconnect();
      const m1 = await server.metrics();
      await new Promise((r) => setTimeout(r, 2000));
      const check = await pool.window(5000);
      const m2 = await server.metrics();
      lines.push({
        line:
          `${side} storm: ${back.open}/${clients} back in ${(back.ms / 1000).toFixed(1)} s (${attempts(back)}), ` +
          `loop delay p99/max ${loopDelay(m1, ['p99', 'max'])} ms; then silent ${check.silent}, closed ${check.closedByServer}, ` +
          `loop delay p99/max ${loopDelay(m2, ['p99', 'max'])} ms${upstream((name) => (m2.get(name) ?? 0) - (m0.get(name) ?? 0))}`,
      });
    }
  } finally {
    await pool.close();
    await server.close();
  }
  return lines;
}

async function profile(name: string, symbolCount: number, rate: number, clients: number, storm: boolean) {
  const list = symbols(symbolCount);
  const streams = list.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);
  const simulator = await startSimulator(list, rate);
  try {
    process.stdout.write(
      `profile ${name}: ${clients} clients on ${streams.length} streams at ${rate} events/s each\n`,
    );
    // Floor first, then the gateway: one round per side (each side holds the machine for its clients).
    for (const side of ['floor', 'gateway'] as const) {
      for (const r of await runSide(side, simulator.url, streams, clients, storm))
        process.stdout.write(`  ${r.line}\n`);
    }
  } finally {
    await stop(simulator.child);
  }
}

// The gateway runs as the image runs it: the compiled dist/ (tsx's transform keeps function names by
// defining a `name` on every closure, which alone adds about 3 KB per client).
const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) throw new Error(`npm run build failed (${build.status})`);
const started = Date.now();
if (PROFILES.includes('a') || PROFILES.includes('c'))
  await profile(PROFILES.includes('c') ? 'a+c' : 'a', 500, 1, CLIENTS, PROFILES.includes('c'));
if (PROFILES.includes('b')) await profile('b', 50, 10, Math.min(CLIENTS, 10_000), false);
process.stdout.write(`soak: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
