/**
 * `GET /api/ws/metrics` with 10,000 active streams (subscribed upstream on the simulator, a subscriber
 * each): latency of the Prometheus text and of the JSON document, against a floor measured in the same
 * run: `GET /healthz`, a static answer through the same server, router and client. The three requests
 * take turns (their order rotating each request), fetched the same way, so a slow moment of the machine
 * falls on all of them; several rounds give each figure as the median with min–max over rounds.
 * The simulator runs in a child process; the gateway and the client share this one, as a scrape's
 * latency includes the turns the gateway spends on upstream events meanwhile.
 * Then the pieces of the documents are timed in-process, without HTTP, to say what each costs.
 */
import { cpus, loadavg } from 'node:os';
import { silentLogger } from '../src/core/log.js';
import { startGateway } from '../src/gateway/index.js';
import type { WSManager } from '../src/manager/index.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { median, percentile } from './support.js';

const STREAMS = 10_000;
const ROUNDS = 5;
/** Requests per side and round: enough that p99 is not the maximum of a handful. */
const REQUESTS = 200;
const WARMUP = 20;
/** Calls per piece timed in-process. */
const PIECE_CALLS = 200;

const SIDES = [
  ['prometheus', '/api/ws/metrics?format=prometheus'],
  ['json', '/api/ws/metrics?format=json'],
  ['static', '/healthz'],
] as const;
type Side = (typeof SIDES)[number][0];

const hardStop = setTimeout(() => {
  process.stderr.write('metrics bench exceeded 300 s\n');
  process.exit(1);
}, 300_000);
hardStop.unref();

const simulator = await startSimulatorProcess({ rate: 0.2 });
const gateway = await startGateway(
  // The rate limit would refuse a bench's worth of scrapes from one address.
  { port: 0, upstreamUrl: simulator.url, useNewWsManager: true, rateLimitPerMinute: 100_000 },
  { logger: silentLogger() },
);
const manager = gateway.source as WSManager;
const offs: Array<() => void> = [];
for (let i = 0; i < STREAMS; i++) offs.push(manager.subscribe(`s${i}usdt@trade`, () => {}));
// Subscribing 10,000 streams upstream takes some 20 s on an idle machine, longer on a busy one.
const deadline = Date.now() + 90_000;
const carried = () => manager.listStreams().filter((s) => s.connection !== undefined).length;
while (carried() < STREAMS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
const held = manager.getMetrics();
const upstream = carried();

/**
 * One request: its wall time, and the CPU time this process spent meanwhile (client and gateway, plus
 * the upstream events handled in that window), which a crowded machine stretches far less than wall time.
 */
async function timedFetch(path: string): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const res = await fetch(`${gateway.url}${path}`);
  const body = await res.text();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  return { ms, cpuMs: (used.user + used.system) / 1000, bytes: body.length };
}

interface RoundFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Median CPU ms per request. */
  readonly cpu: number;
}
const loadBefore = loadavg()[0]!;
const rounds = new Map<Side, RoundFigures[]>(SIDES.map(([name]) => [name, []]));
const bytes = new Map<Side, number>();
for (let k = 0; k < WARMUP * SIDES.length; k++) await timedFetch(SIDES[k % SIDES.length]![1]);
for (let round = 0; round < ROUNDS; round++) {
  const times = new Map<Side, number[]>(SIDES.map(([name]) => [name, []]));
  const cpuTimes = new Map<Side, number[]>(SIDES.map(([name]) => [name, []]));
  for (let i = 0; i < REQUESTS; i++) {
    for (let k = 0; k < SIDES.length; k++) {
      const [name, path] = SIDES[(i + k) % SIDES.length]!;
      const { ms, cpuMs, bytes: size } = await timedFetch(path);
      times.get(name)!.push(ms);
      cpuTimes.get(name)!.push(cpuMs);
      bytes.set(name, size);
    }
  }
  for (const [name, runs] of times) {
    runs.sort((a, b) => a - b);
    rounds.get(name)!.push({
      p50: percentile(runs, 50),
      p99: percentile(runs, 99),
      max: runs.at(-1)!,
      cpu: median(cpuTimes.get(name)!),
    });
  }
}

const loadAfter = loadavg()[0]!;

/** Median in-process time of one call, in ms. */
async function piece(call: () => unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await call();
  const runs: number[] = [];
  for (let i = 0; i < PIECE_CALLS; i++) {
    const t = performance.now();
    await call();
    runs.push(performance.now() - t);
  }
  return median(runs);
}
const pieces: Array<[string, number]> = [
  ['getMetrics() (counters, health verdict)', await piece(() => manager.getMetrics())],
  ['connections() (rows, last event per connection)', await piece(() => manager.connections())],
  [
    'busiestStreams(5) (topStreams; ranking kept while unchanged)',
    await piece(() => manager.busiestStreams(5)),
  ],
  ['listStreams() (every stream as an object; not used by either)', await piece(() => manager.listStreams())],
  ['registry.metrics() (Prometheus text)', await piece(() => gateway.registry.metrics())],
];
for (const off of offs) off();
await gateway.close();
await simulator.close();

const f = (ms: number) => ms.toFixed(1);
const spread = (values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${f(median(sorted))} (${f(sorted[0]!)}–${f(sorted.at(-1)!)})`;
};
const spread2 = (values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const g = (ms: number) => ms.toFixed(2);
  return `${g(median(sorted))} (${g(sorted[0]!)}–${g(sorted.at(-1)!)})`;
};
const line = (name: Side): string => {
  const r = rounds.get(name)!;
  return (
    `  ${`${name}:`.padEnd(12)} p50 ${spread(r.map((x) => x.p50)).padEnd(16)} p99 ` +
    `${spread(r.map((x) => x.p99)).padEnd(17)} max ${spread(r.map((x) => x.max)).padEnd(18)} ` +
    `CPU ${spread2(r.map((x) => x.cpu)).padEnd(18)} ${bytes.get(name)} bytes`
  );
};
const over = (name: Side): string => {
  const floor = rounds.get('static')!;
  return spread(rounds.get(name)!.map((x, i) => x.p99 - floor[i]!.p99));
};
process.stdout.write(
  [
    `metrics render with ${held.activeStreams} active streams (${upstream} subscribed upstream on ` +
      `${held.activeConnections} connections, ${held.subscribers} subscribers), ${ROUNDS} rounds of ` +
      `${REQUESTS} requests each after ${WARMUP} warm-up, taking turns; ms, median (min–max) over rounds; CPU: this process's CPU ms per request (median):`,
    ...SIDES.map(([name]) => line(name)),
    '  (static: GET /healthz, the floor of server, router and client in the same run)',
    `  machine load (1-min average, ${cpus().length} cores) ${loadBefore.toFixed(1)} before the rounds, ` +
      `${loadAfter.toFixed(1)} after: above the core count, the floor's p99 is the machine's, not the gateway's`,
    `  p99 above the floor, per round: prometheus ${over('prometheus')} ms, json ${over('json')} ms` +
      ' (target: p99 < 5 ms)',
    `pieces, in-process, median of ${PIECE_CALLS} calls:`,
    ...pieces.map(([name, ms]) => `  ${name.padEnd(50)} ${ms.toFixed(3)} ms`),
    '',
  ].join('\n'),
);
