/**
 * How many messages per second one simulator connection can push at rate 'max'. The simulator runs on
 * the main thread; the counting client (a raw `ws` socket that only counts frames and bytes) runs in a
 * worker thread so the two do not share an event loop. Each scenario warms up for 1 s and is measured
 * for 4 s; the whole run takes about 16 s and exits by itself.
 */
import { Worker } from 'node:worker_threads';
import { startSimulator } from '../src/simulator/index.js';

const WARMUP_MS = 1_000;
const MEASURE_MS = 4_000;

interface Scenario {
  readonly name: string;
  readonly path: string;
}

const scenarios: Scenario[] = [
  { name: 'raw, 1 stream (btcusdt@trade)', path: '/ws/btcusdt@trade' },
  { name: 'combined, 1 stream (btcusdt@trade)', path: '/stream?streams=btcusdt@trade' },
  {
    name: 'combined, 4 streams (trade, aggTrade, bookTicker, depth@100ms)',
    path: '/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth@100ms',
  },
];

/** The client: plain JavaScript evaluated in a worker, so it needs no TypeScript loader. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const WebSocket = createRequire(workerData.base)('ws');
const ws = new WebSocket(workerData.url, { skipUTF8Validation: true, perMessageDeflate: false });
let frames = 0;
let bytes = 0;
ws.on('message', (data) => { frames++; bytes += data.length; });
ws.on('open', () => {
  setTimeout(() => {
    const f0 = frames, b0 = bytes, t0 = performance.now();
    setTimeout(() => {
      const seconds = (performance.now() - t0) / 1000;
      parentPort.postMessage({ frames: frames - f0, bytes: bytes - b0, seconds });
      ws.terminate();
    }, workerData.measureMs);
  }, workerData.warmupMs);
});
ws.on('error', (error) => { throw error; });
`;

interface Result {
  frames: number;
  bytes: number;
  seconds: number;
}

function measure(url: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: { url, base: import.meta.url, warmupMs: WARMUP_MS, measureMs: MEASURE_MS },
    });
    worker.once('message', (r: Result) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const rows: string[][] = [];
for (const scenario of scenarios) {
  const sim = await startSimulator({ rate: 'max' });
  try {
    const r = await measure(`${sim.url}${scenario.path}`);
    const perSecond = r.frames / r.seconds;
    rows.push([
      scenario.name,
      Math.round(perSecond).toLocaleString('en-US'),
      (r.bytes / r.seconds / 1e6).toFixed(1),
      String(Math.round(r.bytes / Math.max(1, r.frames))),
    ]);
  } finally {
    await sim.close();
  }
}

const header = ['one simulator connection, rate max', 'messages/s', 'MB/s', 'bytes/msg'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log(
  `\n${MEASURE_MS / 1000} s per scenario after ${WARMUP_MS / 1000} s warm-up; client in a worker thread, counting frames only.`,
);
