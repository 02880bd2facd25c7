/**
 * WSManager routing benchmark against the simulator (run in its own process, so the two share the
 * machine's cores as a real upstream would not compete with the client's event loop).
 *
 * Floor: a raw `ws` client on `/stream` that JSON.parses each frame and calls the handlers itself,
 * measured in the same run. Cases: 1 stream × 1 subscriber, 1 × 100, 1,000 × 1 (throughput, CPU per
 * million deliveries, ratio to the floor); heap per subscribed stream; cold start of 1,000 fresh
 * streams against a raw combined-stream client. Recovery after a drop: bench/recovery.bench.ts.
 * Bounded in time; exits by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WSManager } from '../src/manager/index.js';
import { median } from './support.js';

const PHASE_MS = 1500;
const WARMUP_MS = 500;
const ROUNDS = 3;
const simulatorEntry = fileURLToPath(new URL('../src/simulator/index.ts', import.meta.url));

interface SimProcess {
  url: string;
  httpUrl: string;
  child: ChildProcess;
}

async function startSim(options: object): Promise<SimProcess> {
  const script = `
    import { startSimulator } from ${JSON.stringify(simulatorEntry)};
    const sim = await startSimulator(${JSON.stringify(options)});
    console.log(JSON.stringify({ url: sim.url, httpUrl: sim.httpUrl }));
    process.stdin.on('end', () => sim.close().then(() => process.exit(0)));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  const { url, httpUrl } = JSON.parse(line) as { url: string; httpUrl: string };
  return { url, httpUrl, child };
}

async function stopSim(sim: SimProcess): Promise<void> {
  const exited = new Promise((r) => sim.child.once('exit', r));
  sim.child.stdin!.end();
  const timer = setTimeout(() => sim.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}

function streamNames(count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}usdt@trade`);
}

/** The floor: one raw combined-stream socket, JSON.parse per frame, handlers called directly. */
class RawClient {
  readonly ws: WebSocket;
  private readonly handlers = new Map<string, Array<(data: unknown) => void>>();
  constructor(url: string, streams: string[], subscribersPerStream: number, onDelivery: () => void) {
    for (const s of streams) {
      this.handlers.set(
        s,
        Array.from({ length: subscribersPerStream }, () => onDelivery),
      );
    }
    this.ws = new WebSocket(`${url}/stream`, { perMessageDeflate: false });
    this.ws.on('open', () => this.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: streams, id: 1 })));
    this.ws.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as { stream?: string; data?: unknown };
      if (msg.stream === undefined) return;
      const hs = this.handlers.get(msg.stream);
      if (hs === undefined) return;
      for (const h of hs) h(msg.data);
    });
    this.ws.on('error', () => {});
  }
  close(): Promise<void> {
    return new Promise((r) => {
      this.ws.once('close', () => r());
      this.ws.close();
    });
  }
}

interface Measure {
  deliveries: number;
  seconds: number;
  cpuSeconds: number;
}

async function measure(counter: () => number): Promise<Measure> {
  await sleep(WARMUP_MS);
  const d0 = counter();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(PHASE_MS);
  const c1 = process.cpuUsage(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { deliveries: counter() - d0, seconds, cpuSeconds: (c1.user + c1.system) / 1e6 };
}

/** Median msgs/s of the rounds with their min–max, and the median CPU seconds per million deliveries. */
function fmt(rounds: readonly Measure[]): string {
  const rates = rounds.map((m) => m.deliveries / m.seconds);
  const cpuPerM = median(
    rounds.map((m) => (m.deliveries > 0 ? (m.cpuSeconds / m.deliveries) * 1e6 : Number.NaN)),
  );
  const spread = `(${Math.round(Math.min(...rates)).toLocaleString('en-US')}–${Math.round(Math.max(...rates)).toLocaleString('en-US')})`;
  return `${Math.round(median(rates)).toLocaleString('en-US').padStart(11)} msgs/s ${spread.padEnd(23)} ${cpuPerM.toFixed(2).padStart(6)} CPU s/M`;
}

/**
 * Waits until the simulator holds no connection: at rate 'max' it keeps producing for a side's streams
 * until that side's socket is gone, which would slow the next side's round.
 */
async function simulatorIdle(sim: SimProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const stats = (await (await fetch(`${sim.httpUrl}/stats`)).json()) as { openConnections: number };
    if (stats.openConnections === 0) return;
    await sleep(50);
  }
}

async function throughputCase(label: string, streamCount: number, subscribers: number): Promise<void> {
  const sim = await startSim({ rate: 'max', seed: 7 });
  const streams = streamNames(streamCount, 'bench');
  const floor: Measure[] = [];
  const managed: Measure[] = [];
  const floorRound = async () => {
    let floorDeliveries = 0;
    const raw = new RawClient(sim.url, streams, subscribers, () => floorDeliveries++);
    floor.push(await measure(() => floorDeliveries));
    await raw.close();
    await simulatorIdle(sim);
  };
  const managedRound = async () => {
    let deliveries = 0;
    const manager = new WSManager({ url: sim.url });
    for (const s of streams) for (let i = 0; i < subscribers; i++) manager.subscribe(s, () => deliveries++);
    managed.push(await measure(() => deliveries));
    await manager.destroy();
    await simulatorIdle(sim);
  };
  // One round of each side first, not counted: the simulator's generators and both clients' code paths
  // are still being compiled then (it showed as one round far below the others).
  await floorRound();
  await managedRound();
  floor.length = 0;
  managed.length = 0;
  // Rounds alternate which side goes first, so drift in the shared machine's load hits both alike.
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      await floorRound();
      await managedRound();
    } else {
      await managedRound();
      await floorRound();
    }
  }
  await stopSim(sim);

  const rate = (m: Measure) => m.deliveries / m.seconds;
  const cpu = (m: Measure) => m.cpuSeconds / m.deliveries;
  const ratios = managed.map((m, i) => rate(m) / rate(floor[i]!));
  const ratio = median(managed.map(rate)) / median(floor.map(rate));
  const cpuRatio = median(managed.map(cpu)) / median(floor.map(cpu));
  console.log(`${label} (median of ${ROUNDS} rounds)`);
  console.log(`  floor (raw ws + JSON.parse)  ${fmt(floor)}`);
  console.log(`  WSManager                    ${fmt(managed)}`);
  console.log(
    `  ratio to floor: throughput ${ratio.toFixed(2)}x (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= 0.90), CPU per delivery ${cpuRatio.toFixed(2)}x`,
  );
}

async function heapCase(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.log('heap per subscribed stream: skipped (run with --expose-gc, as bench/run.ts does)');
    return;
  }
  const sim = await startSim({ rate: 1, seed: 7 });
  const streams = streamNames(2000, 'heap');
  const manager = new WSManager({ url: sim.url });
  // Warm one connection so module-level and socket costs are not charged to the streams.
  const warm = manager.subscribe('btcusdt@trade', () => {});
  await sleep(300);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  let seen = 0;
  for (const s of streams) manager.subscribe(s, () => seen++);
  await waitFor(() => manager.getMetrics().activeConnections === 3, 10_000);
  await sleep(1500);
  gc();
  gc();
  const perStream = (process.memoryUsage().heapUsed - before) / streams.length;
  warm();
  console.log(
    `heap per subscribed stream (2,000 streams, 1 subscriber each, 3 upstream sockets): ${(perStream / 1024).toFixed(2)} KB (target <= 2 KB)`,
  );
  await manager.destroy();
  await stopSim(sim);
}

async function coldStartCase(): Promise<void> {
  const sim = await startSim({ rate: 5, seed: 7 });
  const rawStreams = streamNames(1000, 'coldraw');
  const rawSeen = new Set<string>();
  const t0 = performance.now();
  const raw = new RawClient(sim.url, [], 0, () => {});
  raw.ws.on('open', () => raw.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: rawStreams, id: 2 })));
  raw.ws.on('message', (b: Buffer) => {
    const s = (JSON.parse(b.toString()) as { stream?: string }).stream;
    if (s !== undefined) rawSeen.add(s);
  });
  await waitFor(() => rawSeen.size === rawStreams.length, 20_000);
  const rawMs = performance.now() - t0;
  await raw.close();

  const streams = streamNames(1000, 'coldmgr');
  const seen = new Set<string>();
  const t1 = performance.now();
  const manager = new WSManager({ url: sim.url });
  for (const s of streams) manager.subscribe(s, () => seen.add(s));
  const ok = await waitFor(() => seen.size === streams.length, 20_000);
  const mgrMs = performance.now() - t1;
  console.log(
    `cold start (1,000 fresh streams each delivering once): raw combined-stream client ${Math.round(rawMs)} ms, ` +
      `WSManager ${ok ? `${Math.round(mgrMs)} ms` : 'not within 20 s'} → ${(mgrMs / rawMs).toFixed(2)}x (target <= 2x)`,
  );
  await manager.destroy();
  await stopSim(sim);
}

console.log(
  `manager.bench: node ${process.version}; throughput: ${ROUNDS} alternating rounds of ${PHASE_MS} ms per side after ${WARMUP_MS} ms warm-up; simulator in a child process`,
);
// MANAGER_BENCH_CASES=heap,cold (any of throughput, heap, cold) runs only those cases.
const only = process.env['MANAGER_BENCH_CASES']?.split(',');
const runs = (name: string): boolean => only === undefined || only.includes(name);
if (runs('throughput')) {
  await throughputCase('1 stream x 1 subscriber', 1, 1);
  await throughputCase('1 stream x 100 subscribers', 1, 100);
  await throughputCase('1,000 streams x 1 subscriber', 1000, 1);
}
if (runs('heap')) await heapCase();
if (runs('cold')) await coldStartCase();
