/**
 * `npm run bench -- soak`: many downstream clients held by one gateway process (WSManager, the
 * simulator upstream in a process of its own), against a floor measured in the same run: a bare `ws`
 * server (bench/soak-floor.ts) that sends the same frames to the same clients with batched writes.
 *
 * Profiles (SOAK_PROFILES, default `a,b,c`; client count of a and c from SOAK_CLIENTS, default 18000;
 * SOAK_ROUNDS rounds each, default 2, the side that goes first alternating):
 * - a: SOAK_CLIENTS clients, each on 1 of 1,000 streams (500 symbols × trade, aggTrade) at 1 event/s;
 * - b: 10,000 clients on 100 busy streams (50 symbols × trade, aggTrade) at 10 events/s each;
 * - c: the clients of a dropped and reconnecting at once (as after a load balancer moved them);
 * - d (only when named): SOAK_CLUSTER_CLIENTS clients (default 100,000) over 6 clustered gateway
 *   processes, 2 ingest nodes and nats-server on this host, on the streams of a.
 * Per side and profile: RSS and heap of the server process alone (read from /proc/<pid> and its
 * metrics), CPU, event-loop delay p50/p99/max, delivery latency (receipt minus the payload's event
 * time) p50/p99, clients silent during the window, clients closed by the server, connects per second
 * accepted and refused, and for the gateway what upstream saw (gaps, connection attempts). For the
 * storm also how long the server's main thread ran and how long it waited for a CPU (its schedstat)
 * and the clients' CPU: the loop delay is wall time, and on these shared cores a turn can last far
 * longer than the work in it.
 * SOAK_SIDES (default `floor,gateway`) measures one side alone; SOAK_GATEWAY_ARGS and SOAK_FLOOR_ARGS
 * pass node arguments to the server processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * The gateway runs from dist/ (built first), as the Docker image runs it. The clients
 * (bench/soak-clients.ts) run in SOAK_CLIENT_PROCESSES forked processes (default 4, more so that none
 * holds over 5,000 sockets), spread over source addresses from 127.0.1.0 up, 100 clients per address,
 * so every process stays far under the 20,000 open files one process may hold here. The gateway and the
 * floor hold one descriptor per client: Node raises its soft limit to the hard one at start, and the
 * bench says so when that is below the client count.
 * Bounded: every wait has a deadline; everything it starts is stopped when it ends. A side that cannot
 * carry its profile's fan-out falls behind upstream, each turn of its event loop then lasts seconds, and
 * Node accepts one connection per turn: handshakes time out and the ramp ends at its deadline with clients
 * left unconnected, and metrics the server does not answer in time print as unanswered.
 */
import { spawnSync } from 'node:child_process';
import type { ConnectedReport } from './soak-clients.js';
import {
  type Clients,
  gatewayEnv,
  mainThreadTimes,
  processUsage,
  type Server,
  startClients,
  startFloorProcess,
  startGatewayProcess,
  startNats,
  startRoleProcess,
  startSimulator,
  stop,
  symbols,
} from './soak-processes.js';
import { percentile } from './support.js';

const CLIENTS = Number(process.env['SOAK_CLIENTS'] ?? 18_000);
const PROCESSES = Number(process.env['SOAK_CLIENT_PROCESSES'] ?? 4);
const PROFILES = (process.env['SOAK_PROFILES'] ?? 'a,b,c').split(',').map((p) => p.trim());
const WINDOW_MS = Number(process.env['SOAK_WINDOW_MS'] ?? 20_000);
/** Rounds per profile (SOAK_ROUNDS); each measures both sides, the side that goes first alternating. */
const ROUNDS = Number(process.env['SOAK_ROUNDS'] ?? 2);
/**
 * The storm drops every client at once (SOAK_DROP_SPREAD_MS=0, as when a load balancer's process dies),
 * or spread over that many ms (as a load balancer's soft stop that spreads its closes); either way they
 * all reconnect at once after.
 */
const DROP_SPREAD_MS = Number(process.env['SOAK_DROP_SPREAD_MS'] ?? 0);
/** Sides measured (SOAK_SIDES, default both): `gateway`, `floor`. */
const SIDES = (process.env['SOAK_SIDES'] ?? 'floor,gateway').split(',').map((s) => s.trim());

const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const ms = (seconds: number | undefined) => (seconds === undefined ? 'n/a' : (seconds * 1000).toFixed(1));

interface ProfileResult {
  readonly line: string;
}

/** The server's metrics, or undefined when it left them unanswered (see Server.metrics). */
const metricsOf = (server: Server) => server.metrics().catch(() => undefined);

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
      ? await startGatewayProcess(upstreamUrl, clients, true)
      : await startFloorProcess(upstreamUrl, streams);
  const lines: ProfileResult[] = [];
  const pool = startClients(
    server.port,
    streams.map((s) => `/ws/${s}`),
    clients,
    PROCESSES,
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
    const before = await metricsOf(server);
    const usage0 = processUsage(server.pid);
    const window = await pool.window(WINDOW_MS);
    const usage1 = processUsage(server.pid);
    const after = await metricsOf(server);
    const lat = window.latencies.sort((a, b) => a - b);
    // Counted changes between two answers; n/a when the server left either unanswered.
    const change = (m0: Map<string, number> | undefined, m1: Map<string, number> | undefined) =>
      m0 && m1
        ? (name: string) => String((m1.get(name) ?? 0) - (m0.get(name) ?? 0))
        : (_name: string) => 'n/a';
    const delta = change(before, after);
    const heap = after?.get('nodejs_heap_size_used_bytes');
    const loopDelay = (m: Map<string, number> | undefined, which: readonly string[]) =>
      m ? `${which.map((q) => ms(m.get(`nodejs_eventloop_lag_${q}_seconds`))).join('/')} ms` : 'unanswered';
    const upstream = (d: (name: string) => string) =>
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
        `loop delay p50/p99/max ${loopDelay(after, ['p50', 'p99', 'max'])}${upstream(delta)}`,
    });
    if (storm) {
      const m0 = await metricsOf(server);
      const thread0 = mainThreadTimes(server.pid);
      const clientCpu0 = pool.children.reduce((a, c) => a + processUsage(c.pid!).cpu, 0);
      const back = await pool.reconnect(DROP_SPREAD_MS);
      const thread1 = mainThreadTimes(server.pid);
      const clientCpu1 = pool.children.reduce((a, c) => a + processUsage(c.pid!).cpu, 0);
      const m1 = await metricsOf(server);
      await new Promise((r) => setTimeout(r, 2000));
      const check = await pool.window(5000);
      const m2 = await metricsOf(server);
      lines.push({
        line:
          `${side} storm${DROP_SPREAD_MS > 0 ? ` (drop spread over ${DROP_SPREAD_MS} ms)` : ''}: ${back.open}/${clients} back in ${(back.ms / 1000).toFixed(1)} s (${attempts(back)}), ` +
          `loop delay p99/max ${loopDelay(m1, ['p99', 'max'])}, ` +
          `${side}'s main thread on a CPU ${(thread1.cpuMs - thread0.cpuMs).toFixed(0)} ms and waiting for one ` +
          `${(thread1.waitMs - thread0.waitMs).toFixed(0)} ms, the clients' CPU ${((clientCpu1 - clientCpu0) * 1000).toFixed(0)} ms; then silent ${check.silent}, closed ${check.closedByServer}, ` +
          `loop delay p99/max ${loopDelay(m2, ['p99', 'max'])}${upstream(change(m0, m2))}`,
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
    // One side at a time (each holds the machine for its clients), ROUNDS rounds, the side that goes
    // first alternating.
    for (let round = 0; round < ROUNDS; round++) {
      const sides = round % 2 === 0 ? (['floor', 'gateway'] as const) : (['gateway', 'floor'] as const);
      for (const side of sides) {
        if (!SIDES.includes(side)) continue;
        for (const r of await runSide(side, simulator.url, streams, clients, storm))
          process.stdout.write(`  round ${round + 1} ${r.line}\n`);
      }
    }
  } finally {
    await stop(simulator.child);
  }
}

/**
 * Profile d: the clustered mode on this one host: nats-server, two ingest nodes holding the exchange's
 * sockets, `gateways` gateway processes with NATS_URL, and `clients` clients spread evenly over them,
 * on the streams of profile a. No floor: what it shows is whether the whole holds, and what it costs.
 */
async function clustered(clients: number, gateways: number): Promise<void> {
  const list = symbols(500);
  const streams = list.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);
  const paths = streams.map((s) => `/ws/${s}`);
  const simulator = await startSimulator(list, 1);
  const nats = await startNats();
  const started: Server[] = [];
  const pools: Clients[] = [];
  try {
    process.stdout.write(
      `profile d: ${clients} clients over ${gateways} clustered gateways (2 ingest nodes, nats-server), ${streams.length} streams at 1 event/s each\n`,
    );
    const ingest = await Promise.all(
      [0, 1].map((i) =>
        startRoleProcess(
          'ingest',
          { NATS_URL: nats.url, UPSTREAM_URL: simulator.url, NODE_ID: `soak-ingest-${i}` },
          true,
        ),
      ),
    );
    started.push(...ingest);
    const per = Math.ceil(clients / gateways);
    const servers = await Promise.all(
      Array.from({ length: gateways }, (_, i) =>
        startRoleProcess(
          'serve',
          gatewayEnv(per, { NATS_URL: nats.url, NODE_ID: `soak-gateway-${i}` }),
          true,
        ),
      ),
    );
    started.push(...servers);
    const idle = servers.map((g) => processUsage(g.pid).rss);
    for (const g of servers) pools.push(startClients(g.port, paths, per, Math.ceil(per / 5000)));
    const t0 = Date.now();
    const connected = await Promise.all(pools.map((p) => p.connect()));
    const connectMs = Date.now() - t0;
    const open = connected.reduce((a, c) => a + c.open, 0);
    await new Promise((r) => setTimeout(r, 5000));
    const before = await Promise.all([...servers, ...ingest].map((g) => g.metrics()));
    const cpu0 = servers.map((g) => processUsage(g.pid).cpu);
    const windows = await Promise.all(pools.map((p) => p.window(WINDOW_MS)));
    const usage = servers.map((g) => processUsage(g.pid));
    const after = await Promise.all([...servers, ...ingest].map((g) => g.metrics()));
    const rss = usage.reduce((a, u) => a + u.rss, 0);
    const grown = usage.reduce((a, u, i) => a + u.rss - idle[i]!, 0);
    const heap = after
      .slice(0, gateways)
      .reduce((a, m) => a + (m.get('nodejs_heap_size_used_bytes') ?? 0), 0);
    const cpu = usage.reduce((a, u, i) => a + u.cpu - cpu0[i]!, 0) / (WINDOW_MS / 1000);
    const lat = windows.flatMap((w) => w.latencies).sort((a, b) => a - b);
    const worst = (q: string) =>
      Math.max(...after.slice(0, gateways).map((m) => m.get(`nodejs_eventloop_lag_${q}_seconds`) ?? 0));
    const upstream = (name: string) =>
      after
        .slice(gateways)
        .reduce((a, m, i) => a + (m.get(name) ?? 0) - (before[gateways + i]!.get(name) ?? 0), 0);
    process.stdout.write(
      `  ${open}/${clients} connected in ${(connectMs / 1000).toFixed(1)} s; gateways' RSS ${(rss / 2 ** 20).toFixed(0)} MiB in all, ` +
        `${kib(grown / Math.max(1, open))} KiB/client over idle, heap ${kib(heap / Math.max(1, open))} KiB/client; ` +
        `gateways' CPU ${(cpu * 100).toFixed(0)}% of a core in all; ` +
        `delivered ${Math.round(windows.reduce((a, w) => a + w.frames, 0) / (WINDOW_MS / 1000))}/s, ` +
        `silent ${windows.reduce((a, w) => a + w.silent, 0)}, closed ${windows.reduce((a, w) => a + w.closedByServer, 0)}; ` +
        `latency p50/p99 ${percentile(lat, 50)}/${percentile(lat, 99)} ms; ` +
        `worst gateway loop delay p99/max ${ms(worst('p99'))}/${ms(worst('max'))} ms; ` +
        `ingest upstream gaps ${upstream('ws_manager_message_gaps_total')}, attempts ${upstream('ws_manager_upstream_connect_attempts_total')}\n`,
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(started.map((s) => s.close()));
    await nats.close();
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
if (PROFILES.includes('d')) await clustered(Number(process.env['SOAK_CLUSTER_CLIENTS'] ?? 100_000), 6);
process.stdout.write(`soak: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
