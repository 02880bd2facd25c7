/**
 * Gateway fan-out: one upstream stream delivered to 1, 100 and 1,000 downstream clients through the
 * gateway (WSManager upstream), against a floor measured in the same run: a bare `ws` server that reads
 * the same upstream stream and broadcasts the same bytes with `ws.send`. Two tables:
 * - unsaturated: fixed event rates neither side struggles with, for added latency (p50/p99);
 * - saturated: the simulator at rate 'max', so delivered messages/s is each side's capacity.
 * The servers and the simulator run in this process; the clients run in a forked process
 * (bench/gateway-clients.ts), so the memory per client is the server's alone and the clients' CPU is
 * not taken from the server. Also: metrics render time with 10,000 streams.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { type RunningGateway, startGateway } from '../src/gateway/index.js';
import { silentLogger } from '../src/log.js';
import type { WSManager } from '../src/manager/index.js';
import { type Simulator, startSimulator } from '../src/simulator/index.js';
import type { ClientsResult } from './gateway-clients.js';

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
/** The saturated floor stops reading upstream while any client has more than this queued. */
const FLOOR_HIGH_WATER_BYTES = 1024 * 1024;

interface Endpoint {
  readonly url: string;
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`client process exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
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
    child.send({ url: endpoint.url, clients: n });
    await ready;
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

/**
 * The floor: a bare ws server broadcasting the upstream frames' bytes. With `paced`, it stops reading
 * upstream while any client has more than FLOOR_HIGH_WATER_BYTES queued and resumes once all are below
 * half of it, so it broadcasts as fast as its own clients drain and its memory stays bounded.
 */
async function startFloor(simulator: Simulator, paced: boolean): Promise<Floor> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => server.once('listening', r));
  let upstream: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const resumeWhenDrained = () => {
    timer = undefined;
    for (const client of server.clients) {
      if (client.bufferedAmount > FLOOR_HIGH_WATER_BYTES / 2) {
        timer = setTimeout(resumeWhenDrained, 1);
        return;
      }
    }
    upstream?.resume();
  };
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    async start() {
      const socket = new WebSocket(`${simulator.url}/ws/${STREAM}`, { perMessageDeflate: false });
      upstream = socket;
      socket.on('message', (data: Buffer) => {
        let backlog = 0;
        for (const client of server.clients) {
          client.send(data, { binary: false });
          if (client.bufferedAmount > backlog) backlog = client.bufferedAmount;
        }
        if (paced && backlog > FLOOR_HIGH_WATER_BYTES && timer === undefined) {
          socket.pause();
          timer = setTimeout(resumeWhenDrained, 1);
        }
      });
      await new Promise((r) => socket.once('open', r));
    },
    async close() {
      clearTimeout(timer);
      upstream?.terminate();
      for (const c of server.clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

function startBenchGateway(simulator: Simulator): Promise<RunningGateway> {
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
    const simulator = await startSimulator({ rate });
    const gateway = await startBenchGateway(simulator);
    const floor = await startFloor(simulator, false);
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
    `fan-out, saturated: floor fed at rate 'max', gateway at 1.2 × the floor's delivered rate, ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up`,
    '',
    HEADER,
    RULE,
  ];
  for (const n of SATURATED_CLIENTS) {
    // Each side alone with a fresh simulator, so neither's upstream reading takes CPU from the other.
    let simulator = await startSimulator({ rate: 'max' });
    const floor = await startFloor(simulator, true);
    const f = await measure(floor, n);
    await floor.close();
    await simulator.close();
    // The gateway cannot push back on an exchange, so at 'max' its queues would grow without bound. It
    // is offered 1.2 × what the floor delivered instead: more than the floor's capacity, a bounded backlog.
    const offered = Math.min(100_000, Math.ceil((1.2 * f.msgsPerSecond) / n));
    simulator = await startSimulator({ rate: offered });
    const gateway = await startBenchGateway(simulator);
    const g = await measure({ url: `${gateway.wsUrl}/ws/${STREAM}` }, n);
    await gateway.close();
    await simulator.close();
    process.stderr.write(
      `gateway bench: saturated ${n} floor ${f.msgsPerSecond.toFixed(0)} gateway ${g.msgsPerSecond.toFixed(0)}\n`,
    );
    lines.push(row(n, 'max', 'floor', f, '1.00'));
    lines.push(row(n, offered, 'gateway', g, (g.msgsPerSecond / f.msgsPerSecond).toFixed(2)));
  }
  lines.push(
    '',
    "Delivered msgs/s: frames counted by the clients (all N together) in the window: each side's capacity.",
    'The floor pauses its upstream while a client has more than 1 MiB queued, so it sends as fast as its',
    "clients drain. The gateway reads upstream freely, as it must with an exchange; fed at 'max' its queues",
    "would grow without bound, so it gets 1.2 × the floor's delivered rate (capped at the simulator's",
    '100,000 events/s): more than the floor can deliver. Send-queue limits are raised so no client is cut.',
    'Memory: heap+external growth of the server process (servers and simulator; the clients run in a',
    'forked process) per connected client, after warm-up.',
  );
  return lines;
}

async function metricsRender(): Promise<string[]> {
  const STREAMS = 10_000;
  const simulator = await startSimulator({ rate: 0.2 });
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
