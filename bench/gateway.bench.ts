/**
 * Gateway fan-out: one fast upstream stream delivered to 1, 100 and 1,000 downstream clients through
 * the gateway (WSManager upstream), against a floor measured in the same run: a bare `ws` server that
 * reads the same upstream stream and broadcasts the same bytes with `ws.send`. Clients, servers and the
 * simulator share this process, equally for both sides. Also: metrics render time with 10,000 streams.
 */
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { type RunningGateway, startGateway } from '../src/gateway/index.js';
import { silentLogger } from '../src/log.js';
import type { WSManager } from '../src/manager/index.js';
import { type Simulator, startSimulator } from '../src/simulator/index.js';

/**
 * Clients → upstream events per second. Clients, servers and the simulator share one process on a
 * two-core machine, which delivers roughly 60,000 frames/s in total; the rates keep every case
 * below that (2,000 / 50,000 / 50,000 deliveries per second) so neither side spirals into backlog.
 */
const CASES: ReadonlyArray<readonly [clients: number, rate: number]> = [
  [1, 2000],
  [100, 500],
  [1000, 50],
];
const WARMUP_MS = 1000;
const WINDOW_MS = 3000;
const STREAM = 'btcusdt@trade';
const E_RE = /"E":(\d+)/;

interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
}

interface Sink {
  received: number;
  recording: boolean;
  readonly latencies: number[];
}

interface Result {
  readonly msgsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly bytesPerClient: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connectClients(url: string, n: number, sink: Sink): Promise<WebSocket[]> {
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.on('message', (data: Buffer) => {
        if (!sink.recording) return;
        sink.received++;
        // Sample one event in ten for latency: E is the simulator's event time in milliseconds.
        if (sink.received % 10 === 0) {
          const m = E_RE.exec(data.toString('latin1', 0, 64));
          if (m) sink.latencies.push(Date.now() - Number(m[1]));
        }
      });
      ws.on('error', () => {});
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    });
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

async function measure(endpoint: Endpoint, n: number): Promise<Result> {
  gc();
  const before = process.memoryUsage();
  const sink: Sink = { received: 0, recording: false, latencies: [] };
  const clients = await connectClients(endpoint.url, n, sink);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  gc();
  const after = process.memoryUsage();
  sink.recording = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  sink.recording = false;
  const seconds = (performance.now() - start) / 1000;
  for (const ws of clients) ws.terminate();
  await new Promise((r) => setTimeout(r, 300));
  const sorted = sink.latencies.sort((a, b) => a - b);
  const bytes = after.heapUsed + after.external - (before.heapUsed + before.external);
  return {
    msgsPerSecond: sink.received / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    bytesPerClient: bytes / n,
  };
}

async function startFloor(simulator: Simulator): Promise<Endpoint> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => server.once('listening', r));
  const upstream = new WebSocket(`${simulator.url}/ws/${STREAM}`, { perMessageDeflate: false });
  upstream.on('message', (data: Buffer) => {
    for (const client of server.clients) client.send(data, { binary: false });
  });
  await new Promise((r) => upstream.once('open', r));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      upstream.terminate();
      for (const c of server.clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

async function fanOut(): Promise<string[]> {
  const lines = [
    `fan-out: one upstream stream (${STREAM}) to N clients, ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up`,
    '',
    'clients | events/s | side    | delivered msgs/s | p50 ms | p99 ms | heap+external per client | ratio to floor',
    '------: | -------: | :------ | ---------------: | -----: | -----: | -----------------------: | -------------:',
  ];
  for (const [n, rate] of CASES) {
    const simulator = await startSimulator({ rate });
    const gateway: RunningGateway = await startGateway(
      {
        port: 0,
        upstreamUrl: simulator.url,
        useNewWsManager: true,
        maxClients: 10_000,
        // Clients share this process, so they read late under load; keep them from being cut as slow.
        clientSendQueueBytes: 256 * 1024 * 1024,
      },
      { logger: silentLogger() },
    );
    const floor = await startFloor(simulator);
    const f = await measure({ url: `${floor.url}/`, close: floor.close }, n);
    const g = await measure({ url: `${gateway.wsUrl}/ws/${STREAM}`, close: gateway.close }, n);
    const row = (side: string, r: Result, ratio: string) =>
      `${String(n).padStart(7)} | ${String(rate).padStart(8)} | ${side.padEnd(7)} | ` +
      `${r.msgsPerSecond.toFixed(0).padStart(16)} | ${r.p50.toFixed(0).padStart(6)} | ${r.p99.toFixed(0).padStart(6)} | ` +
      `${`${(r.bytesPerClient / 1024).toFixed(1)} KiB`.padStart(24)} | ${ratio.padStart(14)}`;
    lines.push(row('floor', f, '1.00'));
    lines.push(row('gateway', g, (g.msgsPerSecond / f.msgsPerSecond).toFixed(2)));
    await floor.close();
    await gateway.close();
    await simulator.close();
  }
  lines.push(
    '',
    'target: N × events/s. Latency: client receipt minus the event time E (millisecond clock, one event in ten).',
    'Memory: heap+external growth of the whole process per connected client (both socket ends live here).',
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
  process.stderr.write('gateway bench exceeded 110 s\n');
  process.exit(1);
}, 110_000);
hardStop.unref();
const out = [...(await fanOut()), '', ...(await metricsRender())];
process.stdout.write(`${out.join('\n')}\n`);
