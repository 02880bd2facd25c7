/**
 * `npx tsx bench/soak-phases.ts`: the storm of bench/soak.bench.ts (profile c) with its two phases
 * measured apart on one gateway process: every client dropped (at once, or spread over
 * SOAK_DROP_SPREAD_MS) and the gateway left to close their sockets, then every client reconnecting at once.
 * Per phase: wall time, the gateway's event-loop delay p99/max (its metrics), how long its main thread
 * ran and how long it waited for a CPU (its schedstat), and the clients' CPU. SOAK_CLIENTS clients
 * (default 10,000) on the 1,000 streams of profile a; SOAK_GATEWAY_ARGS as for the soak.
 * The gateway runs from dist/: `npm run build` first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  mainThreadTimes,
  processUsage,
  startClients,
  startGatewayProcess,
  startSimulator,
  stop,
  symbols,
} from './soak-processes.js';

const CLIENTS = Number(process.env['SOAK_CLIENTS'] ?? 10_000);
const SPREAD_MS = Number(process.env['SOAK_DROP_SPREAD_MS'] ?? 0);

const list = symbols(500);
const streams = list.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);
const simulator = await startSimulator(list, 1);
const gateway = await startGatewayProcess(simulator.url, CLIENTS, true);
const pool = startClients(
  gateway.port,
  streams.map((s) => `/ws/${s}`),
  CLIENTS,
  4,
);
/** The gateway's open descriptors: its clients' sockets and a few of its own. */
const openFiles = () => readdirSync(`/proc/${gateway.pid}/fd`).length;
const clientCpu = () => pool.children.reduce((a, c) => a + processUsage(c.pid!).cpu, 0);
try {
  const connected = await pool.connect();
  process.stdout.write(`${connected.open}/${CLIENTS} connected in ${(connected.ms / 1000).toFixed(1)} s\n`);
  await new Promise((r) => setTimeout(r, 3000));
  // What the gateway holds besides the clients' sockets (its upstream sockets stay through the storm).
  const ownFiles = openFiles() - connected.open;
  // Every scrape resets the gateway's loop-delay histogram: one scrape per phase, at its end.
  await gateway.metrics();
  let thread = mainThreadTimes(gateway.pid);
  let cpu = clientCpu();
  let started = Date.now();
  const phase = async (name: string) => {
    const m = await gateway.metrics();
    const t = mainThreadTimes(gateway.pid);
    const c = clientCpu();
    const p99 = (m.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000;
    const max = (m.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000;
    process.stdout.write(
      `${name}: ${Date.now() - started} ms; loop delay p99/max ${p99.toFixed(0)}/${max.toFixed(0)} ms; ` +
        `gateway main thread on a CPU ${(t.cpuMs - thread.cpuMs).toFixed(0)} ms, waiting for one ${(t.waitMs - thread.waitMs).toFixed(0)} ms; ` +
        `clients' CPU ${((c - cpu) * 1000).toFixed(0)} ms; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
    );
    thread = t;
    cpu = c;
    started = Date.now();
  };
  await new Promise((r) => setTimeout(r, 3000));
  await phase('steady, 3 s');
  await pool.drop(SPREAD_MS);
  // Watched from outside (its descriptors), as a scrape would reset the loop delay of the phase.
  const deadline = Date.now() + 60_000;
  while (openFiles() > ownFiles && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await phase(
    `drop${SPREAD_MS > 0 ? ` spread over ${SPREAD_MS} ms` : ''}, until the gateway holds no socket`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  await phase('quiet, 2 s');
  const back = await pool.reconnect();
  await phase(`reconnect, ${back.open}/${CLIENTS} back`);
} finally {
  await pool.close();
  await gateway.close();
  await stop(simulator.child);
}
