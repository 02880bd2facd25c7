/**
 * Gateway fan-out: one upstream stream delivered to 1, 100 and 1,000 downstream clients through the
 * gateway (WSManager upstream), against a floor measured in the same run: a bare `ws` server that reads
 * the same upstream stream and broadcasts the same bytes with `ws.send`. Two tables:
 * - unsaturated: fixed event rates neither side struggles with, for added latency (p50/p99);
 * - saturated: both sides offered the same rate, above the floor's capacity, so delivered messages/s is
 *   each side's capacity.
 * Only the server under test runs in this process: the simulator runs in a child process
 * (bench/gateway-sim.ts) and the clients in a forked one (bench/gateway-clients.ts), so neither's CPU
 * is taken from the server and the memory per client is the server's alone. Also: metrics render time
 * with 10,000 streams.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { type RunningGateway, startGateway } from '../src/gateway/index.js';
import { silentLogger } from '../src/log.js';
import type { WSManager } from '../src/manager/index.js';
import type { ClientsResult } from './gateway-clients.js';
import { type SimulatorProcess, startSimulatorProcess } from './gateway-sim.js';
import { nextMessage, percentile } from './support.js';

const CLIENT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'gateway-clients.ts');

/**
 * Unsaturated cases, clients → upstream events per second: low enough (2,000 / 50,000 / 50,000
 * deliveries per second) that neither side backs up, so the latencies compare like with like.
 */
const CASES: ReadonlyArray<readonly [clients: number, rate: number]> = [
  [1, 2000],
  [100, 500],
  [1000, 50],
];
const SATURATED_CLIENTS = [1, 100, 1000] as const;
const WARMUP_MS = 1000;
const WINDOW_MS = 3000;
const STREAM = 'btcusdt@trade';

interface Endpoint {
  readonly url: string;
  /** A stream the clients SUBSCRIBE to live once all are connected (the URL then names none). */
  readonly subscribe?: string;
  /** Starts the upstream flow once the clients are connected (connecting 1,000 clients into a 'max' flow starves the handshakes). */
  start?(): Promise<void>;
}

interface Result {
  readonly msgsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly bytesPerClient: number;
  readonly closedEarly: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Connects `n` clients in a forked process, warms up, counts deliveries for WINDOW_MS. */
async function measure(endpoint: Endpoint, n: number): Promise<Result> {
  gc();
  const before = process.memoryUsage();
  const child = fork(CLIENT_SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = nextMessage<{ type: string }>(child);
    child.send({ url: endpoint.url, clients: n, subscribe: endpoint.subscribe });
    await ready;
    if (endpoint.subscribe !== undefined) {
      const subscribed = nextMessage<{ type: string }>(child);
      child.send({ type: 'subscribe' });
      await subscribed;
    }
    await endpoint.start?.();
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    gc();
    const after = process.memoryUsage();
    const done = nextMessage<ClientsResult>(child);
    child.send({ type: 'measure', windowMs: WINDOW_MS });
    const result = await done;
    const sorted = result.latencies.sort((x, y) => x - y);
    const bytes = after.heapUsed + after.external - (before.heapUsed + before.external);
    return {
      msgsPerSecond: result.received / result.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      bytesPerClient: bytes / n,
      closedEarly: result.closedEarly,
    };
  } finally {
    child.kill();
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface Floor extends Endpoint {
  close(): Promise<void>;
}

/** The floor: a bare ws server that reads the upstream stream freely and broadcasts the frames' bytes. */
async function startFloor(simulator: SimulatorProcess): Promise<Floor> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => server.once('listening', r));
  let upstream: WebSocket | undefined;
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    async start() {
      const socket = new WebSocket(`${simulator.url}/ws/${STREAM}`, { perMessageDeflate: false });
      upstream = socket;
      socket.on('message', (data: Buffer) => {
        for (const client of server.clients) client.send(data, { binary: false });
      });
      await new Promise((r) => socket.once('open', r));
    },
    async close() {
      upstream?.terminate();
      for (const c of server.clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

function startBenchGateway(simulator: SimulatorProcess): Promise<RunningGateway> {
  return startGateway(
    {
      port: 0,
      upstreamUrl: simulator.url,
      useNewWsManager: true,
      maxClients: 10_000,
      // The bench measures throughput, not the slow-consumer policy: no client is cut for lagging, and
      // all clients come from 127.0.0.1.
      clientSendQueueBytes: 1024 * 1024 * 1024,
      sendQueueTotalBytes: 64 * 1024 * 1024 * 1024,
      clientConnectAttemptsPerIp: 1_000_000,
    },
    { logger: silentLogger() },
  );
}

const HEADER =
  'clients | events/s | side    | delivered msgs/s | p50 ms | p99 ms | server heap+external per client | ratio to floor';
const RULE =
  '------: | -------: | :------ | ---------------: | -----: | -----: | ------------------------------: | -------------:';

function row(n: number, rate: number | 'max', side: string, r: Result, ratio: string): string {
  const cut = r.closedEarly > 0 ? ` (${r.closedEarly} closed)` : '';
  return (
    `${String(n).padStart(7)} | ${String(rate).padStart(8)} | ${side.padEnd(7)} | ` +
    `${r.msgsPerSecond.toFixed(0).padStart(16)} | ${r.p50.toFixed(0).padStart(6)} | ${r.p99.toFixed(0).padStart(6)} | ` +
    `${`${(r.bytesPerClient / 1024).toFixed(1)} KiB`.padStart(31)} | ${ratio.padStart(14)}${cut}`
  );
}

async function fanOut(): Promise<string[]> {
  const lines = [
    `fan-out, unsaturated: one upstream stream (${STREAM}) to N clients, ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up`,
    '',
    HEADER,
    RULE,
  ];
  for (const [n, rate] of CASES) {
    const simulator = await startSimulatorProcess({ rate });
    const gateway = await startBenchGateway(simulator);
    const floor = await startFloor(simulator);
    const f = await measure(floor, n);
    await floor.close();
    const g = await measure({ url: `${gateway.wsUrl}/ws/${STREAM}` }, n);
    lines.push(row(n, rate, 'floor', f, '1.00'));
    lines.push(row(n, rate, 'gateway', g, (g.msgsPerSecond / f.msgsPerSecond).toFixed(2)));
    await gateway.close();
    await simulator.close();
  }
  lines.push(
    '',
    'target: N × events/s. Latency: client receipt minus the event time E (millisecond clock, one event in ten).',
  );
  return lines;
}

async function saturated(): Promise<string[]> {
  const lines = [
    `fan-out, saturated: floor and gateway each fed by the same simulator process at rate 'max', ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up`,
    '',
    HEADER,
    RULE,
  ];
  for (const n of SATURATED_CLIENTS) {
    // The same feed for both: one simulator process at 'max', which produces only while its reader's
    // socket drains, read freely by each side in turn (an exchange cannot be paused, so neither side
    // pauses it). One side at a time, so neither takes CPU from the other.
    const simulator = await startSimulatorProcess({ rate: 'max' });
    const floor = await startFloor(simulator);
    const f = await measure(floor, n);
    await floor.close();
    const gateway = await startBenchGateway(simulator);
    // Connected first and subscribed live afterwards: handshakes into a running 'max' flow starve.
    const g = await measure({ url: `${gateway.wsUrl}/ws`, subscribe: STREAM }, n);
    await gateway.close();
    await simulator.close();
    process.stderr.write(
      `gateway bench: saturated ${n} floor ${f.msgsPerSecond.toFixed(0)} gateway ${g.msgsPerSecond.toFixed(0)}\n`,
    );
    lines.push(row(n, 'max', 'floor', f, '1.00'));
    lines.push(row(n, 'max', 'gateway', g, (g.msgsPerSecond / f.msgsPerSecond).toFixed(2)));
  }
  lines.push(
    '',
    "Delivered msgs/s: frames counted by the clients (all N together) in the window: each side's capacity.",
    "Both sides read the same simulator process at rate 'max' without pausing it: the simulator produces",
    "only while the server's upstream socket drains, so each side is fed as fast as it reads, and a side",
    'that sends faster than its clients read builds a backlog, which shows in p50/p99 and memory.',
    'Gateway clients connect to /ws and then SUBSCRIBE live, as the floor starts its upstream only once',
    'all are connected. Send-queue limits are raised so no client is cut. Memory: heap+external growth of the server process',
    '(the simulator and the clients run in processes of their own) per connected client, after warm-up.',
  );
  return lines;
}

async function metricsRender(): Promise<string[]> {
  const STREAMS = 10_000;
  const simulator = await startSimulatorProcess({ rate: 0.2 });
  const gateway = await startGateway(
    { port: 0, upstreamUrl: simulator.url, useNewWsManager: true },
    { logger: silentLogger() },
  );
  const manager = gateway.source as WSManager;
  const offs: Array<() => void> = [];
  for (let i = 0; i < STREAMS; i++) offs.push(manager.subscribe(`s${i}usdt@trade`, () => {}));
  const deadline = Date.now() + 40_000;
  const carried = () => manager.listStreams().filter((s) => s.connection !== undefined).length;
  while (carried() < STREAMS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const held = manager.getMetrics();
  const upstream = carried();
  const time = async (format: string): Promise<{ p50: number; max: number; bytes: number }> => {
    const runs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const res = await fetch(`${gateway.url}/api/ws/metrics?format=${format}`);
      bytes = (await res.text()).length;
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    return { p50: percentile(runs, 50), max: runs.at(-1)!, bytes };
  };
  const prom = await time('prometheus');
  const json = await time('json');
  for (const off of offs) off();
  await gateway.close();
  await simulator.close();
  return [
    `metrics render with ${held.activeStreams} active streams (${upstream} subscribed upstream on ` +
      `${held.activeConnections} connections, ${held.subscribers} subscribers), 30 requests each:`,
    `  prometheus: p50 ${prom.p50.toFixed(1)} ms, max ${prom.max.toFixed(1)} ms, ${prom.bytes} bytes`,
    `  json:       p50 ${json.p50.toFixed(1)} ms, max ${json.max.toFixed(1)} ms, ${json.bytes} bytes`,
  ];
}

const hardStop = setTimeout(() => {
  process.stderr.write('gateway bench exceeded 140 s\n');
  process.exit(1);
}, 140_000);
hardStop.unref();
const began = Date.now();
const progress = (what: string) =>
  process.stderr.write(`gateway bench: ${what} at ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
const unsaturatedLines = await fanOut();
progress('unsaturated done');
const saturatedLines = await saturated();
progress('saturated done');
const renderLines = await metricsRender();
progress('metrics render done');
const out = [...unsaturatedLines, '', ...saturatedLines, '', ...renderLines];
process.stdout.write(`${out.join('\n')}\n`);
