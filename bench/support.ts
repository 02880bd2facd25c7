/**
 * What the benchmarks share: the simulator in a child process, alternating rounds and what they
 * measure, medians and percentiles, a floor's split of streams over sockets, a forked child's next message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The median (the mean of the two middle values for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank `p`th percentile of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The next IPC message of a forked child; rejects if the child closes first. */
export function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': a large result may still be in the IPC pipe when 'exit' fires.
    const onClose = (code: number | null) => reject(new Error(`client process exited with ${code}`));
    child.once('close', onClose);
    child.once('message', (m) => {
      child.off('close', onClose);
      resolve(m as T);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 2 ms; false when it did not hold within `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}

/** The simulator running in a child process, so that it does not share the measured event loop. */
export interface SimulatorProcess {
  /** The WebSocket base (`ws://127.0.0.1:port`); venues add their prefix (`/bybit`, `/okx`). */
  url: string;
  httpUrl: string;
  child: ChildProcess;
}

const simulatorEntry = fileURLToPath(new URL('../src/simulator/index.ts', import.meta.url));

/** Starts the simulator with `options` (JSON-serialisable) in a child process; it ends with stdin. */
export async function startSimulatorProcess(options: object): Promise<SimulatorProcess> {
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

/** Closes the simulator process (killed if it has not exited within 5 s). */
export async function stopSimulatorProcess(sim: SimulatorProcess): Promise<void> {
  const exited = new Promise((r) => sim.child.once('exit', r));
  sim.child.stdin!.end();
  const timer = setTimeout(() => sim.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until the simulator holds no connection: at rate 'max' it keeps producing for a side's streams
 * until that side's sockets are gone, which would slow the next side's round.
 */
export async function simulatorIdle(sim: SimulatorProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const stats = (await (await fetch(`${sim.httpUrl}/stats`)).json()) as { openConnections: number };
    if (stats.openConnections === 0) return;
    await sleep(50);
  }
}

/** Deliveries counted over one measured window, with its wall time and this process's CPU time. */
export interface Measure {
  deliveries: number;
  seconds: number;
  cpuSeconds: number;
}

/** Waits `warmupMs`, then counts deliveries and CPU over `phaseMs`. */
export async function measureDeliveries(
  counter: () => number,
  warmupMs: number,
  phaseMs: number,
): Promise<Measure> {
  await sleep(warmupMs);
  const d0 = counter();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(phaseMs);
  const c1 = process.cpuUsage(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { deliveries: counter() - d0, seconds, cpuSeconds: (c1.user + c1.system) / 1e6 };
}

export const rateOf = (m: Measure): number => m.deliveries / m.seconds;
/** CPU seconds per million deliveries; NaN for a window without any. */
export const cpuPerMillion = (m: Measure): number =>
  m.deliveries > 0 ? (m.cpuSeconds / m.deliveries) * 1e6 : Number.NaN;

/** Median msgs/s of the rounds with their min–max, and the median CPU seconds per million deliveries. */
export function formatThroughput(rounds: readonly Measure[]): string {
  const rates = rounds.map(rateOf);
  const spread = `(${Math.round(Math.min(...rates)).toLocaleString('en-US')}–${Math.round(Math.max(...rates)).toLocaleString('en-US')})`;
  return `${Math.round(median(rates)).toLocaleString('en-US').padStart(11)} msgs/s ${spread.padEnd(23)} ${median(rounds.map(cpuPerMillion)).toFixed(2).padStart(6)} CPU s/M`;
}

/**
 * Runs one uncounted round of each side (code paths and the simulator's generators are still being
 * compiled then), then `rounds` rounds of each, alternating which side goes first so that drift in a
 * shared machine's load hits both alike. Returns each side's counted results in round order.
 */
export async function alternatingRounds<T>(
  rounds: number,
  floor: () => Promise<T>,
  measured: () => Promise<T>,
): Promise<{ floor: T[]; measured: T[] }> {
  await floor();
  await measured();
  const out = { floor: [] as T[], measured: [] as T[] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      out.floor.push(await floor());
      out.measured.push(await measured());
    } else {
      out.measured.push(await measured());
      out.floor.push(await floor());
    }
  }
  return out;
}

/** `median (min–max)` of values, with `digits` decimals. */
export function spreadOf(values: readonly number[], digits: number): string {
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/**
 * Streams split over sockets as a venue's per-connection limits require (a count, and Bybit's characters
 * of names), filling one before opening the next as WSManager's connection pool does: a floor client
 * opens this many sockets, the same number as the manager.
 */
export function socketGroups(
  limits: { streamsPerConnection: number; argCharsPerConnection: number | undefined },
  streams: readonly string[],
): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const s of streams) {
    const full =
      current.length >= limits.streamsPerConnection ||
      (limits.argCharsPerConnection !== undefined && chars + s.length > limits.argCharsPerConnection);
    if (full) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    current.push(s);
    chars += s.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * The callbacks of one side of a round: one per stream, doing the same work on both sides (a count,
 * and noting the stream's first event), so either side can wait until every stream has delivered.
 */
export class StreamCallbacks {
  count = 0;
  live = 0;
  private readonly seen: Uint8Array;
  constructor(readonly size: number) {
    this.seen = new Uint8Array(size);
  }
  for(i: number): (data: unknown) => void {
    return () => {
      this.count++;
      if (this.seen[i] === 0) {
        this.seen[i] = 1;
        this.live++;
      }
    };
  }
  get allLive(): boolean {
    return this.live === this.size;
  }
}
