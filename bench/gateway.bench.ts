/**
 * Gateway fan-out: one upstream stream delivered to 1, 100 and 1,000 downstream clients through the
 * gateway (WSManager upstream), against a floor measured in the same run: a bare `ws` server that reads
 * the same upstream stream in the same combined-stream format and broadcasts the same payload bytes with
 * `ws.send`, its writes batched per turn as the gateway's are. Each case runs several rounds, alternating which side goes first. Two tables:
 * - unsaturated: fixed event rates neither side struggles with, for added latency (p50/p99);
 * - saturated: both sides offered the same rate, above the floor's capacity, so delivered messages/s is
 *   each side's capacity.
 * Only the server under test runs in this process: the simulator runs in a child process
 * (bench/gateway-sim.ts) and the clients in a forked one (bench/gateway-clients.ts), so neither's CPU
 * is taken from the server and the memory per client is the server's alone. The metrics render with
 * 10,000 streams is measured by bench/metrics.bench.ts.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../src/core/log.js';
import { tcpSocketOf } from '../src/core/ws-socket.js';
import { type RunningGateway, startGateway } from '../src/gateway/index.js';
import type { ClientsResult } from './gateway-clients.js';
import { type SimulatorProcess, startSimulatorProcess } from './gateway-sim.js';
import { median, nextMessage, percentile } from './support.js';

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
/** Rounds per case; each round measures both sides, the side that goes first alternating. */
const ROUNDS = 3;
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

/**
 * The floor: a bare ws server that reads the upstream stream freely in the combined-stream format the
 * gateway reads (one connection carries many streams), cuts each event's payload out of its envelope
 * and broadcasts those bytes, with the clients' sockets corked for the rest of the turn so a burst goes
 * out in one write per client (as the gateway batches its sends).
 */
async function startFloor(simulator: SimulatorProcess): Promise<Floor> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => server.once('listening', r));
  let upstream: WebSocket | undefined;
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    async start() {
      const socket = new WebSocket(`${simulator.url}/stream?streams=${STREAM}`, { perMessageDeflate: false });
      const prefix = Buffer.from(`{"stream":"${STREAM}","data":`);
      upstream = socket;
      let corked = false;
      const uncork = () => {
        corked = false;
        for (const client of server.clients) tcpSocketOf(client)?.uncork();
      };
      socket.on('message', (frame: Buffer) => {
        // This stream's events only (the envelope names it), their payload without the envelope.
        if (frame.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return;
        const data = frame.subarray(prefix.length, frame.length - 1);
        if (!corked) {
          corked = true;
          for (const client of server.clients) tcpSocketOf(client)?.cork();
          process.nextTick(uncork);
        }
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
  'clients | events/s | side    | delivered msgs/s (median) | min–max msgs/s  | p50 ms | p99 ms | server heap+external per client | ratio to floor';
const RULE =
  '------: | -------: | :------ | ------------------------: | :-------------- | -----: | -----: | ------------------------------: | -------------:';

/** One side's line over its rounds: medians, and the spread of delivered msgs/s. */
function row(
  n: number,
  rate: number | 'max',
  side: string,
  rounds: readonly Result[],
  ratio: string,
): string {
  const rates = rounds.map((r) => r.msgsPerSecond);
  const closed = rounds.reduce((sum, r) => sum + r.closedEarly, 0);
  const cut = closed > 0 ? ` (${closed} closed)` : '';
  const spread = `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`;
  return (
    `${String(n).padStart(7)} | ${String(rate).padStart(8)} | ${side.padEnd(7)} | ` +
    `${median(rates).toFixed(0).padStart(25)} | ${spread.padEnd(15)} | ` +
    `${median(rounds.map((r) => r.p50))
      .toFixed(0)
      .padStart(6)} | ${median(rounds.map((r) => r.p99))
      .toFixed(0)
      .padStart(6)} | ` +
    `${`${(median(rounds.map((r) => r.bytesPerClient)) / 1024).toFixed(1)} KiB`.padStart(31)} | ${ratio.padStart(14)}${cut}`
  );
}

/** One measurement of the floor, started and closed around it. */
function floorSide(simulator: SimulatorProcess, n: number): () => Promise<Result> {
  return async () => {
    const floor = await startFloor(simulator);
    try {
      return await measure(floor, n);
    } finally {
      await floor.close();
    }
  };
}

/**
 * One measurement of a gateway started and closed around it (a gateway left running would keep its
 * upstream stream for the idle grace and take CPU from the next floor round). `live`: the clients
 * connect to /ws and SUBSCRIBE once all are connected, since handshakes into a running 'max' flow starve.
 */
function gatewaySide(simulator: SimulatorProcess, n: number, live: boolean): () => Promise<Result> {
  return async () => {
    const gateway = await startBenchGateway(simulator);
    try {
      return await measure(
        live ? { url: `${gateway.wsUrl}/ws`, subscribe: STREAM } : { url: `${gateway.wsUrl}/ws/${STREAM}` },
        n,
      );
    } finally {
      await gateway.close();
    }
  };
}

/**
 * ROUNDS rounds of both sides, the floor first in even rounds and the gateway first in odd ones; the two
 * table lines with the ratio of the median delivered msgs/s.
 */
async function compare(
  n: number,
  rate: number | 'max',
  floorSide: () => Promise<Result>,
  gatewaySide: () => Promise<Result>,
): Promise<string[]> {
  const floor: Result[] = [];
  const gateway: Result[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      floor.push(await floorSide());
      gateway.push(await gatewaySide());
    } else {
      gateway.push(await gatewaySide());
      floor.push(await floorSide());
    }
  }
  const ratio = median(gateway.map((r) => r.msgsPerSecond)) / median(floor.map((r) => r.msgsPerSecond));
  process.stderr.write(`gateway bench: ${n} clients at ${rate}: ratio ${ratio.toFixed(2)}\n`);
  return [row(n, rate, 'floor', floor, '1.00'), row(n, rate, 'gateway', gateway, ratio.toFixed(2))];
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
    lines.push(...(await compare(n, rate, floorSide(simulator, n), gatewaySide(simulator, n, false))));
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
    lines.push(...(await compare(n, 'max', floorSide(simulator, n), gatewaySide(simulator, n, true))));
    await simulator.close();
  }
  lines.push(
    '',
    "Delivered msgs/s: frames counted by the clients (all N together) in the window: each side's capacity;",
    `median of ${ROUNDS} rounds per side, the side that goes first alternating, min–max beside it.`,
    "Both sides read the same simulator process at rate 'max' without pausing it: the simulator produces",
    "only while the server's upstream socket drains, so each side is fed as fast as it reads, and a side",
    'that sends faster than its clients read builds a backlog, which shows in p50/p99 and memory.',
    'Gateway clients connect to /ws and then SUBSCRIBE live, as the floor starts its upstream only once',
    'all are connected. Send-queue limits are raised so no client is cut. Memory: heap+external growth of the server process',
    '(the simulator and the clients run in processes of their own) per connected client, after warm-up.',
  );
  return lines;
}

const hardStop = setTimeout(() => {
  process.stderr.write('gateway bench exceeded 480 s\n');
  process.exit(1);
}, 480_000);
hardStop.unref();
const began = Date.now();
const progress = (what: string) =>
  process.stderr.write(`gateway bench: ${what} at ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
const unsaturatedLines = await fanOut();
progress('unsaturated done');
const saturatedLines = await saturated();
progress('saturated done');
const out = [...unsaturatedLines, '', ...saturatedLines];
process.stdout.write(`${out.join('\n')}\n`);
