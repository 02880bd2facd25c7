/**
 * The two sides bench/gateway.bench.ts compares, and the measurement of one: the gateway (WSManager
 * upstream) and its floor, a bare `ws` server that broadcasts the same frames. Shared with
 * bench/gateway-profile.ts, which profiles the same measurement window.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../src/core/log.js';
import { tcpSocketOf } from '../src/core/ws-socket.js';
import { type RunningGateway, startGateway } from '../src/gateway/index.js';
import { encodeTextFrame } from '../src/gateway/shared-frames.js';
import type { ClientsResult } from './gateway-clients.js';
import type { SimulatorProcess } from './gateway-sim.js';
import { nextMessage, percentile } from './support.js';

const CLIENT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'gateway-clients.ts');

export const WARMUP_MS = 1000;
export const WINDOW_MS = 3000;
export const STREAM = 'btcusdt@trade';

export interface Endpoint {
  readonly url: string;
  /** A stream the clients SUBSCRIBE to live once all are connected (the URL then names none). */
  readonly subscribe?: string;
  /** Starts the upstream flow once the clients are connected (connecting 1,000 clients into a 'max' flow starves the handshakes). */
  start?(): Promise<void>;
}

export interface Result {
  readonly msgsPerSecond: number;
  /** Messages the clients counted in the window. */
  readonly delivered: number;
  /** CPU time (user + system) of this process, the server's, per delivered message, in microseconds. */
  readonly cpuMicrosPerDelivery: number;
  /** The user and the system (kernel) part of `cpuMicrosPerDelivery`. */
  readonly userMicrosPerDelivery: number;
  readonly systemMicrosPerDelivery: number;
  readonly p50: number;
  readonly p99: number;
  readonly bytesPerClient: number;
  readonly closedEarly: number;
}

/** Called around the measurement window (a profiler started and stopped there, for one). */
export interface WindowHooks {
  begin(): Promise<void>;
  end(): Promise<void>;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Connects `n` clients in a forked process, warms up, counts deliveries for `windowMs`. */
export async function measure(
  endpoint: Endpoint,
  n: number,
  windowMs = WINDOW_MS,
  hooks?: WindowHooks,
): Promise<Result> {
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
    // The warm-up starts once every client receives: a side whose flow takes longer to set up is not
    // measured over its setup.
    const flowing = nextMessage<{ type: string }>(child);
    child.send({ type: 'flowing' });
    await flowing;
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    gc();
    const after = process.memoryUsage();
    await hooks?.begin();
    const done = nextMessage<ClientsResult>(child);
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    child.send({ type: 'measure', windowMs });
    const result = await done;
    // The server's CPU share over the window (a few IPC milliseconds longer than the clients' count).
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = performance.now() - startedAt;
    const cpuShare = (cpu.user + cpu.system) / 1000 / elapsedMs;
    await hooks?.end();
    const sorted = result.latencies.sort((x, y) => x - y);
    const bytes = after.heapUsed + after.external - (before.heapUsed + before.external);
    const msgsPerSecond = result.received / result.seconds;
    return {
      msgsPerSecond,
      delivered: result.received,
      cpuMicrosPerDelivery: msgsPerSecond > 0 ? (cpuShare * 1e6) / msgsPerSecond : Number.NaN,
      userMicrosPerDelivery: perDelivery(cpu.user, elapsedMs, msgsPerSecond),
      systemMicrosPerDelivery: perDelivery(cpu.system, elapsedMs, msgsPerSecond),
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

/** CPU µs spent over `elapsedMs` per message at `msgsPerSecond`. */
function perDelivery(cpuMicros: number, elapsedMs: number, msgsPerSecond: number): number {
  return msgsPerSecond > 0 ? cpuMicros / ((elapsedMs / 1000) * msgsPerSecond) : Number.NaN;
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
      // Without UTF-8 validation, as the gateway's upstream sockets read: bytes passed on need none.
      const socket = new WebSocket(`${simulator.url}/stream?streams=${STREAM}`, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
      });
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
        // The frame encoded once and the same bytes written to every client, as the gateway does.
        const encoded = encodeTextFrame(data);
        for (const client of server.clients) tcpSocketOf(client)?.write(encoded);
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

/** One measurement of the floor, started and closed around it. */
export function floorSide(
  simulator: SimulatorProcess,
  n: number,
  windowMs = WINDOW_MS,
  hooks?: WindowHooks,
): () => Promise<Result> {
  return async () => {
    const floor = await startFloor(simulator);
    try {
      return await measure(floor, n, windowMs, hooks);
    } finally {
      await floor.close();
    }
  };
}

/**
 * One measurement of a gateway started and closed around it (a gateway left running would keep its
 * upstream stream for the idle grace and take CPU from the next floor round). `live`: the clients
 * connect to /ws and SUBSCRIBE once all are connected, so that, as for the floor, the flow starts only
 * once every client is there and no handshake competes with it.
 */
export function gatewaySide(
  simulator: SimulatorProcess,
  n: number,
  live: boolean,
  windowMs = WINDOW_MS,
  hooks?: WindowHooks,
): () => Promise<Result> {
  return async () => {
    const gateway = await startBenchGateway(simulator);
    try {
      return await measure(
        live ? { url: `${gateway.wsUrl}/ws`, subscribe: STREAM } : { url: `${gateway.wsUrl}/ws/${STREAM}` },
        n,
        windowMs,
        hooks,
      );
    } finally {
      await gateway.close();
    }
  };
}
