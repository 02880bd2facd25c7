/**
 * `GET /api/ws/metrics` with 10,000 active streams (subscribed upstream on the simulator, a subscriber
 * each): latency of the Prometheus text and of the JSON document, against a floor measured in the same
 * run: `GET /healthz`, a static answer through the same server, router and client. The three requests
 * take turns (their order rotating each round), so a slow moment of the machine falls on all of them.
 * The simulator runs in a child process; the gateway and the client share this one, as a scrape's
 * latency includes the turns the gateway spends on upstream events meanwhile.
 */
import { silentLogger } from '../src/core/log.js';
import { startGateway } from '../src/gateway/index.js';
import type { WSManager } from '../src/manager/index.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { percentile } from './support.js';

const STREAMS = 10_000;
/** Requests per side: enough that p99 is not the maximum of a handful. */
const REQUESTS = 200;
const WARMUP = 20;

const SIDES = [
  ['prometheus', '/api/ws/metrics?format=prometheus'],
  ['json', '/api/ws/metrics?format=json'],
  ['static', '/healthz'],
] as const;

const hardStop = setTimeout(() => {
  process.stderr.write('metrics bench exceeded 240 s\n');
  process.exit(1);
}, 240_000);
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

const times = new Map<string, number[]>(SIDES.map(([name]) => [name, []]));
const bytes = new Map<string, number>();
for (let round = 0; round < WARMUP + REQUESTS; round++) {
  for (let k = 0; k < SIDES.length; k++) {
    const [name, path] = SIDES[(round + k) % SIDES.length]!;
    const t = performance.now();
    const res = await fetch(`${gateway.url}${path}`);
    const body = await res.text();
    const ms = performance.now() - t;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    if (round >= WARMUP) times.get(name)!.push(ms);
    bytes.set(name, body.length);
  }
}
for (const off of offs) off();
await gateway.close();
await simulator.close();

const line = (name: string): string => {
  const runs = times.get(name)!.sort((a, b) => a - b);
  const f = (ms: number) => ms.toFixed(1).padStart(5);
  return (
    `  ${`${name}:`.padEnd(12)} p50 ${f(percentile(runs, 50))} ms, p99 ${f(percentile(runs, 99))} ms, ` +
    `max ${f(runs.at(-1)!)} ms, ${bytes.get(name)} bytes`
  );
};
process.stdout.write(
  [
    `metrics render with ${held.activeStreams} active streams (${upstream} subscribed upstream on ` +
      `${held.activeConnections} connections, ${held.subscribers} subscribers), ` +
      `${REQUESTS} requests each after ${WARMUP} warm-up, taking turns:`,
    ...SIDES.map(([name]) => line(name)),
    '  (static: GET /healthz, the floor of server, router and client in the same run)',
    '',
  ].join('\n'),
);
