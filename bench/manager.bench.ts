/**
 * WSManager routing benchmark against the simulator (run in its own process, so the two share the
 * machine's cores as a real upstream would not compete with the client's event loop).
 *
 * Floor: a raw `ws` client on `/stream` that JSON.parses each frame and calls the handlers itself,
 * measured in the same run. Cases: 1 stream × 1 subscriber, 1 × 100, 1,000 × 1 (throughput, CPU per
 * million deliveries, ratio to the floor); heap per subscribed stream and cold start of 1,000 and 5,000
 * fresh streams, each side by side with a plain combined-stream client holding the same streams on as
 * many sockets. Every case: alternating rounds after an uncounted one a side, median and min–max. Recovery after a drop: bench/recovery.bench.ts.
 * Bounded in time; exits by itself.
 */
import v8 from 'node:v8';
import WebSocket from 'ws';
import { binance } from '../src/exchange/binance/index.js';
import { WSManager } from '../src/manager/index.js';
import {
  alternatingRounds,
  formatThroughput,
  type Measure,
  measureDeliveries,
  median,
  StreamCallbacks,
  simulatorIdle,
  socketGroups,
  spreadOf,
  startSimulatorProcess,
  stopSimulatorProcess,
  waitUntil,
} from './support.js';

const PHASE_MS = 1500;
const WARMUP_MS = 500;
const ROUNDS = 3;
/** Streams held by each side in the heap case. */
const HEAP_STREAMS = 2000;
/** Fresh streams of the cold-start cases. */
const COLD_STREAMS = [1000, 5000] as const;

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

/**
 * The floor of the heap and cold-start cases: a plain combined-stream client, as lean as a few lines
 * make it — one Map from stream to its callback, one SUBSCRIBE per socket, as many sockets as the
 * manager opens for the same streams (Binance: 1,024 streams each).
 */
class CombinedFloor {
  readonly sockets: WebSocket[];
  private readonly callbacks = new Map<string, (data: unknown) => void>();
  constructor(
    url: string,
    groups: readonly string[][],
    callbackOf: (stream: string, i: number) => (data: unknown) => void,
  ) {
    let i = 0;
    for (const group of groups) for (const s of group) this.callbacks.set(s, callbackOf(s, i++));
    this.sockets = groups.map((streams, n) => {
      const ws = new WebSocket(`${url}/stream`, { perMessageDeflate: false });
      ws.on('open', () => ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: streams, id: n + 1 })));
      ws.on('message', (raw: Buffer) => {
        const msg = JSON.parse(raw.toString()) as { stream?: string; data?: unknown };
        if (msg.stream !== undefined) this.callbacks.get(msg.stream)?.(msg.data);
      });
      ws.on('error', () => {});
      return ws;
    });
  }
  close(): Promise<void> {
    return Promise.all(
      this.sockets.map(
        (ws) =>
          new Promise<void>((r) => {
            if (ws.readyState === WebSocket.CLOSED) return r();
            ws.once('close', () => r());
            ws.close();
          }),
      ),
    ).then(() => undefined);
  }
}

const measure = (counter: () => number): Promise<Measure> => measureDeliveries(counter, WARMUP_MS, PHASE_MS);

async function throughputCase(label: string, streamCount: number, subscribers: number): Promise<void> {
  const sim = await startSimulatorProcess({ rate: 'max', seed: 7 });
  const streams = streamNames(streamCount, 'bench');
  const floorRound = async (): Promise<Measure> => {
    let floorDeliveries = 0;
    const raw = new RawClient(sim.url, streams, subscribers, () => floorDeliveries++);
    const m = await measure(() => floorDeliveries);
    await raw.close();
    await simulatorIdle(sim);
    return m;
  };
  const managedRound = async (): Promise<Measure> => {
    let deliveries = 0;
    const manager = new WSManager({ url: sim.url });
    for (const s of streams) for (let i = 0; i < subscribers; i++) manager.subscribe(s, () => deliveries++);
    const m = await measure(() => deliveries);
    await manager.destroy();
    await simulatorIdle(sim);
    return m;
  };
  // An uncounted round of each side first (the uncounted one showed far below the others: code still
  // being compiled), then alternating rounds so drift in the shared machine's load hits both alike.
  const { floor, measured: managed } = await alternatingRounds(ROUNDS, floorRound, managedRound);
  await stopSimulatorProcess(sim);

  const rate = (m: Measure) => m.deliveries / m.seconds;
  const cpu = (m: Measure) => m.cpuSeconds / m.deliveries;
  const ratios = managed.map((m, i) => rate(m) / rate(floor[i]!));
  const ratio = median(managed.map(rate)) / median(floor.map(rate));
  const cpuRatio = median(managed.map(cpu)) / median(floor.map(cpu));
  console.log(`${label} (median of ${ROUNDS} rounds)`);
  console.log(`  floor (raw ws + JSON.parse)  ${formatThroughput(floor)}`);
  console.log(`  WSManager                    ${formatThroughput(managed)}`);
  console.log(
    `  ratio to floor: throughput ${ratio.toFixed(2)}x (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= 0.90), CPU per delivery ${cpuRatio.toFixed(2)}x`,
  );
}

/** Per-round figures of both sides and the ratio of their medians, each round's ratio, against a target. */
function sideBySide(
  unit: string,
  digits: number,
  floor: readonly number[],
  managed: readonly number[],
  target: number,
): string[] {
  const ratios = managed.map((m, i) => m / floor[i]!);
  const ratio = median(managed) / median(floor);
  return [
    `  floor (plain combined-stream client)  ${spreadOf(floor, digits)} ${unit}`,
    `  WSManager                             ${spreadOf(managed, digits)} ${unit}`,
    `  ratio to floor: ${ratio.toFixed(2)}x (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target <= ${target})`,
  ];
}

/** Waits until the manager's sockets are open and carry every stream, then heap per stream is read. */
async function heapCase(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.log('heap per subscribed stream: skipped (run with --expose-gc, as bench/run.ts does)');
    return;
  }
  const sim = await startSimulatorProcess({ rate: 1, seed: 7, rest: { historySize: 0 } });
  const streams = streamNames(HEAP_STREAMS, 'heap');
  /** How many sockets each side should hold (the floor splits its streams itself, inside its round). */
  const sockets = socketGroups(binance.limits, streams).length;
  const problems: string[] = [];
  /**
   * Heap used after two collections, in bytes, less the machine code V8 compiled: code belongs to the
   * program, not to the streams, and how much of it a round happens to compile varied by ~50 B per
   * stream from round to round.
   */
  const settledHeap = (): number => {
    gc();
    gc();
    let code = 0;
    for (const space of v8.getHeapSpaceStatistics())
      if (space.space_name.startsWith('code')) code += space.space_used_size;
    return process.memoryUsage().heapUsed - code;
  };
  // Each side: the heap before, the client holding every stream once each has delivered (the same
  // callbacks on both sides), the heap after; sockets and callbacks are charged to the streams alike.
  const floorRound = async (): Promise<number> => {
    const before = settledHeap();
    const calls = new StreamCallbacks(streams.length);
    // The split of streams over sockets is the floor's subscribe bookkeeping (what it would send again
    // after a reconnect), so it is made, and charged, inside the round like everything the manager holds.
    const floor = new CombinedFloor(sim.url, socketGroups(binance.limits, streams), (_s, i) => calls.for(i));
    if (!(await waitUntil(() => calls.allLive, 20_000)))
      problems.push(`floor: ${calls.live} of ${streams.length} streams delivered`);
    const perStream = (settledHeap() - before) / streams.length;
    await floor.close();
    await simulatorIdle(sim);
    return perStream;
  };
  const managedRound = async (): Promise<number> => {
    const before = settledHeap();
    const calls = new StreamCallbacks(streams.length);
    const manager = new WSManager({ url: sim.url });
    for (let i = 0; i < streams.length; i++) manager.subscribe(streams[i]!, calls.for(i));
    if (!(await waitUntil(() => calls.allLive, 20_000)))
      problems.push(`WSManager: ${calls.live} of ${streams.length} streams delivered`);
    const held = manager.getMetrics().activeConnections;
    if (held !== sockets) problems.push(`WSManager held ${held} sockets, the floor ${sockets}`);
    const perStream = (settledHeap() - before) / streams.length;
    await manager.destroy();
    await simulatorIdle(sim);
    return perStream;
  };
  const { floor, measured } = await alternatingRounds(ROUNDS, floorRound, managedRound);
  await stopSimulatorProcess(sim);
  console.log(
    `heap per subscribed stream (${HEAP_STREAMS.toLocaleString('en-US')} streams, 1 subscriber each, ${sockets} sockets a side; median (min–max) of ${ROUNDS} rounds)`,
  );
  const kib = (v: number) => v / 1024;
  for (const line of sideBySide('KiB', 2, floor.map(kib), measured.map(kib), 1.5)) console.log(line);
  for (const p of new Set(problems)) console.log(`  !! ${p}`);
  console.log(
    '  both sides: heap after two collections less compiled code; the callbacks and sockets are charged alike.\n' +
      "  the floor per stream: a Map slot to its callback and its name in its socket's list. WSManager per stream:\n" +
      '  a registry entry (one object: the lone subscriber held as is, sequence id, counters, socket) in one Map,\n' +
      "  and the name in its connection's set, which its sockets read; the rest is per manager, over the streams.",
  );
}

/** Time until each of `count` streams the simulator has never served has delivered once, per side. */
async function coldStartCase(count: number): Promise<void> {
  // No REST history: the simulator would first make 1,000 past trades for every new stream, and that,
  // not either client, would be what the case timed.
  const sim = await startSimulatorProcess({ rate: 5, seed: 7, rest: { historySize: 0 } });
  const problems: string[] = [];
  // Every round names streams of its own, so none is warm in the simulator or either client.
  let round = 0;
  const fresh = (side: string) => streamNames(count, `c${round++}${side}`);
  const floorRound = async (): Promise<number> => {
    const streams = fresh('f');
    const calls = new StreamCallbacks(count);
    const t0 = performance.now();
    const floor = new CombinedFloor(sim.url, socketGroups(binance.limits, streams), (_s, i) => calls.for(i));
    if (!(await waitUntil(() => calls.allLive, 30_000)))
      problems.push(`floor: ${calls.live} of ${count} streams delivered within 30 s`);
    const ms = performance.now() - t0;
    await floor.close();
    await simulatorIdle(sim);
    return ms;
  };
  const managedRound = async (): Promise<number> => {
    const streams = fresh('m');
    const calls = new StreamCallbacks(count);
    const t0 = performance.now();
    const manager = new WSManager({ url: sim.url });
    for (let i = 0; i < streams.length; i++) manager.subscribe(streams[i]!, calls.for(i));
    if (!(await waitUntil(() => calls.allLive, 30_000)))
      problems.push(`WSManager: ${calls.live} of ${count} streams delivered within 30 s`);
    const ms = performance.now() - t0;
    await manager.destroy();
    await simulatorIdle(sim);
    return ms;
  };
  const { floor, measured } = await alternatingRounds(ROUNDS, floorRound, managedRound);
  await stopSimulatorProcess(sim);
  const sockets = socketGroups(binance.limits, streamNames(count, 'c')).length;
  console.log(
    `cold start: time until ${count.toLocaleString('en-US')} fresh streams have each delivered once (${sockets} socket(s) a side, 5 events/s per stream; median (min–max) of ${ROUNDS} rounds)`,
  );
  for (const line of sideBySide('ms', 0, floor, measured, 1.5)) console.log(line);
  for (const p of new Set(problems)) console.log(`  !! ${p}`);
}

// Bytecode is kept once compiled: flushed between rounds (V8 ages it on each full collection, and the
// heap case collects often), it was compiled again within a round and charged to that round's streams.
v8.setFlagsFromString('--no-flush-bytecode');
const began = performance.now();
console.log(
  `manager.bench: node ${process.version}; ${ROUNDS} alternating rounds per case after one uncounted round a side; throughput: ${PHASE_MS} ms per side after ${WARMUP_MS} ms warm-up; simulator in a child process`,
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
if (runs('cold')) for (const count of COLD_STREAMS) await coldStartCase(count);
console.log(`(manager.bench ran ${Math.round((performance.now() - began) / 1000)} s)`);
