/**
 * `npx tsx bench/soak-phases.ts`: the storm of bench/soak.bench.ts (profile c) with its two phases
 * measured apart on one gateway process: every client dropped (at once, or spread over
 * SOAK_DROP_SPREAD_MS) and the gateway left to count them gone, then every client reconnecting at once.
 * Per phase: wall time, the gateway's event-loop delay p99/max (its metrics), how long its main thread
 * ran and how long it waited for a CPU (its schedstat), and the clients' CPU. SOAK_CLIENTS clients
 * (default 10,000) on the 1,000 streams of profile a; SOAK_GATEWAY_ARGS as for the soak.
 * The gateway runs from dist/: `npm run build` first.
 */
import { readFileSync } from 'node:fs';
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
const clientCpu = () => pool.children.reduce((a, c) => a + processUsage(c.pid!).cpu, 0);
try {
  const connected = await pool.connect();
  process.stdout.write(`${connected.open}/${CLIENTS} connected in ${(connected.ms / 1000).toFixed(1)} s\n`);
  await new Promise((r) => setTimeout(r, 3000));
  // Every scrape resets the gateway's loop-delay histogram: the phase's max is the largest seen over
  // its scrapes.
  let loopMax = 0;
  const scrape = async () => {
    const m = await gateway.metrics();
    loopMax = Math.max(loopMax, m.get('nodejs_eventloop_lag_max_seconds') ?? 0);
    return m;
  };
  await scrape();
  loopMax = 0;
  let thread = mainThreadTimes(gateway.pid);
  let cpu = clientCpu();
  let started = Date.now();
  const phase = async (name: string) => {
    const m = await scrape();
    const t = mainThreadTimes(gateway.pid);
    const c = clientCpu();
    const p99 = (m.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000;
    process.stdout.write(
      `${name}: ${Date.now() - started} ms; loop delay p99/max ${p99.toFixed(0)}/${(loopMax * 1000).toFixed(0)} ms; ` +
        `gateway main thread on a CPU ${(t.cpuMs - thread.cpuMs).toFixed(0)} ms, waiting for one ${(t.waitMs - thread.waitMs).toFixed(0)} ms; ` +
        `clients' CPU ${((c - cpu) * 1000).toFixed(0)} ms; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
    );
    thread = t;
    cpu = c;
    started = Date.now();
    loopMax = 0;
  };
  await new Promise((r) => setTimeout(r, 3000));
  await phase('steady, 3 s');
  await pool.drop(SPREAD_MS);
  const deadline = Date.now() + 60_000;
  while (((await scrape()).get('ws_gateway_clients') ?? 0) > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await phase(`drop${SPREAD_MS > 0 ? ` spread over ${SPREAD_MS} ms` : ''}, until the gateway counts none`);
  await new Promise((r) => setTimeout(r, 2000));
  await phase('quiet, 2 s');
  const back = await pool.reconnect();
  await phase(`reconnect, ${back.open}/${CLIENTS} back`);
} finally {
  await pool.close();
  await gateway.close();
  await stop(simulator.child);
}
