/**
 * Gateway fan-out: one upstream stream delivered to 1, 100 and 1,000 downstream clients through the
 * gateway (WSManager upstream), against a floor measured in the same run: a bare `ws` server that reads
 * the same upstream stream in the same combined-stream format and broadcasts the same payload bytes, each
 * event's frame encoded once and written to every client's socket, corked for the turn. Each case runs several rounds, alternating which side
 * goes first. Two tables:
 * - unsaturated: fixed event rates neither side struggles with, for added latency (p50/p99);
 * - loaded: a high fixed rate that both sides can nearly carry, for the server's cost: CPU time of the
 *   server process per delivered message. A side's capacity is the inverse of that cost, so the ratio
 *   does not depend on how fast the one client process happens to read (which it did at rate 'max',
 *   where both sides built seconds of backlog and delivered msgs/s measured the clients).
 * Only the server under test runs in this process: the simulator runs in a child process
 * (bench/gateway-sim.ts) and the clients in a forked one (bench/gateway-clients.ts), so neither's CPU
 * is counted against the server (`process.cpuUsage()` of this process is the server's) and the memory
 * per client is the server's alone. The metrics render with 10,000 streams is measured by
 * bench/metrics.bench.ts.
 */
import { floorSide, gatewaySide, type Result, STREAM, WARMUP_MS, WINDOW_MS } from './gateway-sides.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { median } from './support.js';

/**
 * Unsaturated cases, clients → upstream events per second: low enough (2,000 / 50,000 / 50,000
 * deliveries per second) that neither side backs up, so the latencies compare like with like.
 */
const CASES: ReadonlyArray<readonly [clients: number, rate: number]> = [
  [1, 2000],
  [100, 500],
  [1000, 50],
];
/**
 * Loaded cases, clients → upstream events per second: 50,000 and 100,000 deliveries per second, below
 * what the one client process reads on a busy 2-core machine, so both sides deliver (nearly) everything
 * offered with little backlog and the CPU they spend on it compares like with like.
 */
const LOADED_CASES: ReadonlyArray<readonly [clients: number, rate: number]> = [
  [1, 50_000],
  [100, 1000],
  [1000, 100],
];
// `loaded <factor>` scales the loaded rates, for a machine whose client process reads less (busy cores).
const rateFactor = Number(process.argv[3] ?? 1);
const LOADED = LOADED_CASES.map(([n, rate]) => [n, Math.max(1, Math.round(rate * rateFactor))] as const);
/** Rounds per case; each round measures both sides, the side that goes first alternating. */
const ROUNDS = 3;
/** More rounds where the cost is compared: a shared machine's noise shows in one round in several. */
const LOADED_ROUNDS = 4;

const HEADER =
  'clients | events/s | side    | delivered msgs/s (median) | min–max msgs/s  | carried | CPU µs/delivery (median) | min–max CPU µs | p50 ms | p99 ms | heap+external per client | ratio';
const RULE =
  '------: | -------: | :------ | ------------------------: | :-------------- | ------: | -----------------------: | :------------- | -----: | -----: | -----------------------: | ----:';

const spread = (values: readonly number[], digits: number): string =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** One side's line over its rounds: medians, and the spread of delivered msgs/s and of CPU per delivery. */
function row(n: number, rate: number, side: string, rounds: readonly Result[], ratio: string): string {
  const rates = rounds.map((r) => r.msgsPerSecond);
  const costs = rounds.map((r) => r.cpuMicrosPerDelivery);
  const closed = rounds.reduce((sum, r) => sum + r.closedEarly, 0);
  const cut = closed > 0 ? ` (${closed} closed)` : '';
  const carried = `${((median(rates) / (n * rate)) * 100).toFixed(0)}%`;
  const memory = `${(median(rounds.map((r) => r.bytesPerClient)) / 1024).toFixed(1)} KiB`;
  return [
    String(n).padStart(7),
    String(rate).padStart(8),
    side.padEnd(7),
    median(rates).toFixed(0).padStart(25),
    spread(rates, 0).padEnd(15),
    carried.padStart(7),
    median(costs).toFixed(3).padStart(24),
    spread(costs, 3).padEnd(14),
    median(rounds.map((r) => r.p50))
      .toFixed(0)
      .padStart(6),
    median(rounds.map((r) => r.p99))
      .toFixed(0)
      .padStart(6),
    memory.padStart(24),
    `${ratio.padStart(5)}${cut}`,
  ].join(' | ');
}

interface Comparison {
  readonly floor: readonly Result[];
  readonly gateway: readonly Result[];
}

/** `rounds` rounds of both sides, the floor first in even rounds and the gateway first in odd ones. */
async function compare(
  rounds: number,
  floorSide: () => Promise<Result>,
  gatewaySide: () => Promise<Result>,
): Promise<Comparison> {
  const floor: Result[] = [];
  const gateway: Result[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      floor.push(await floorSide());
      gateway.push(await gatewaySide());
    } else {
      gateway.push(await gatewaySide());
      floor.push(await floorSide());
    }
  }
  return { floor, gateway };
}

const medianOf = (results: readonly Result[], pick: (r: Result) => number): number =>
  median(results.map(pick));

async function fanOut(): Promise<string[]> {
  const lines = [
    `fan-out, unsaturated: one upstream stream (${STREAM}) to N clients, ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up, ${ROUNDS} rounds`,
    '',
    HEADER,
    RULE,
  ];
  const notes: string[] = [];
  for (const [n, rate] of CASES) {
    const simulator = await startSimulatorProcess({ rate });
    const { floor, gateway } = await compare(
      ROUNDS,
      floorSide(simulator, n),
      gatewaySide(simulator, n, false),
    );
    await simulator.close();
    const ratio = medianOf(gateway, (r) => r.msgsPerSecond) / medianOf(floor, (r) => r.msgsPerSecond);
    const addedP99 = medianOf(gateway, (r) => r.p99) - medianOf(floor, (r) => r.p99);
    process.stderr.write(
      `gateway bench: ${n} clients at ${rate}/s: delivered ratio ${ratio.toFixed(2)}, p99 ${addedP99 >= 0 ? '+' : ''}${addedP99} ms\n`,
    );
    lines.push(row(n, rate, 'floor', floor, '1.00'), row(n, rate, 'gateway', gateway, ratio.toFixed(2)));
    notes.push(
      `${n} clients: p99 added by the gateway ${addedP99 >= 0 ? '+' : ''}${addedP99} ms (medians; per round gateway ${gateway.map((r) => r.p99).join('/')} ms, floor ${floor.map((r) => r.p99).join('/')} ms)`,
    );
  }
  lines.push(
    '',
    ...notes,
    '',
    'ratio: delivered msgs/s, gateway over floor (medians); carried: delivered over N × events/s.',
    'Latency: client receipt minus the event time E (millisecond clock, one event in ten); target at',
    '1,000 clients: p99 within +2 ms of the floor.',
  );
  return lines;
}

async function loaded(): Promise<string[]> {
  const lines = [
    `fan-out, loaded: the same stream at a high fixed rate, ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up, ${LOADED_ROUNDS} rounds`,
    '',
    HEADER,
    RULE,
  ];
  for (const [n, rate] of LOADED) {
    // One simulator process per case, read by each side in turn (one side at a time, so neither takes
    // CPU from the other).
    const simulator = await startSimulatorProcess({ rate });
    const { floor, gateway } = await compare(
      LOADED_ROUNDS,
      floorSide(simulator, n),
      gatewaySide(simulator, n, true),
    );
    await simulator.close();
    const ratio =
      medianOf(floor, (r) => r.cpuMicrosPerDelivery) / medianOf(gateway, (r) => r.cpuMicrosPerDelivery);
    process.stderr.write(
      `gateway bench: ${n} clients at ${rate}/s: capacity ratio ${ratio.toFixed(2)} (CPU µs/delivery floor ${floor.map((r) => r.cpuMicrosPerDelivery.toFixed(3)).join('/')}, gateway ${gateway.map((r) => r.cpuMicrosPerDelivery.toFixed(3)).join('/')}; p99 ms floor ${floor.map((r) => r.p99).join('/')}, gateway ${gateway.map((r) => r.p99).join('/')})\n`,
    );
    lines.push(row(n, rate, 'floor', floor, '1.00'), row(n, rate, 'gateway', gateway, ratio.toFixed(2)));
  }
  lines.push(
    '',
    "ratio: capacity, the floor's CPU per delivery over the gateway's (medians): deliveries per CPU-second of",
    'the server process, gateway over floor. Targets: at least 0.9 with 1 client, 1.0 with 100 and 1,000.',
    'CPU per delivery: user + system time of the server process over the window (process.cpuUsage), divided',
    'by the messages the clients counted. Both sides are offered the same fixed rate, one the client process',
    "reads with little backlog (see carried and p50), so the cost measured is the server's and not how fast",
    "the clients read: at rate 'max' both sides built seconds of backlog and delivered msgs/s followed the",
    'client process. Gateway clients connect to /ws and SUBSCRIBE once all are connected, as the floor starts',
    'its upstream only then. Send-queue limits are raised so no client is cut.',
    "What the gateway does per event that the floor does not: read the event's sequence id from the payload",
    "bytes and check it for gaps and duplicates, route it through the stream registry, check each client's",
    'send queue against the slow-consumer limit, and count messages and bytes. The floor only cuts the payload',
    'out of the envelope, encodes its frame once and writes those bytes to every client socket (corked for the',
    'turn): the least work that delivers the same bytes, as the gateway writes them. Both read the upstream',
    'without UTF-8 validation (the bytes are passed on, not decoded). Profile either side with',
    'bench/gateway-profile.ts.',
    `Median of ${LOADED_ROUNDS} rounds per side, the side that goes first alternating, min–max beside it. Memory:`,
    'heap+external growth of the server process per connected client, after warm-up.',
  );
  return lines;
}

const hardStop = setTimeout(() => {
  process.stderr.write('gateway bench exceeded 900 s\n');
  process.exit(1);
}, 900_000);
hardStop.unref();
const began = Date.now();
const progress = (what: string) =>
  process.stderr.write(`gateway bench: ${what} at ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
// `unsaturated` or `loaded` as an argument runs that table alone; a second argument scales the loaded
// rates (see LOADED), with an empty first one for both tables.
const only = process.argv[2] || undefined;
const out: string[] = [];
if (only === undefined || only === 'unsaturated') {
  out.push(...(await fanOut()));
  progress('unsaturated done');
}
if (only === undefined || only === 'loaded') {
  if (out.length > 0) out.push('');
  out.push(...(await loaded()));
  progress('loaded done');
}
process.stdout.write(`${out.join('\n')}\n`);
