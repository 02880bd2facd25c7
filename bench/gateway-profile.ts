/**
 * Where the gateway's fan-out CPU goes, beside the floor's: the loaded case of bench/gateway.bench.ts
 * (same sides, same clients process, same measurement) with the V8 CPU profiler running over each
 * measurement window, in alternating rounds. Prints, per side, CPU per delivery (process.cpuUsage,
 * median and min–max) and the profile's self time per delivery by function, summed over the rounds,
 * and writes each round's .cpuprofile for a closer look (Chrome DevTools, speedscope).
 *
 *   node --import tsx --expose-gc bench/gateway-profile.ts <clients> <events/s> [rounds] [windowMs] [outDir] [side]
 *
 * `rounds` 0 profiles nothing and only measures CPU per delivery (the profiler's own cost excluded);
 * `side` (`floor` or `gateway`) measures that side alone, to trace its system calls (`strace -c -f`).
 * With `PERF_CTL` and `PERF_ACK` set (the fifos of `perf record --control fifo:<ctl>,<ack> -D -1`) and
 * `rounds` 0, perf records over the measurement windows only: CPU time, kernel included, where the V8
 * profile's self times are wall-clock (a process preempted on a busy machine shows the wait in whatever
 * function the next sample finds).
 */
import { mkdirSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { floorSide, gatewaySide, type Result, type WindowHooks } from './gateway-sides.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { median } from './support.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const clients = Number(process.argv[2] ?? 1);
const rate = Number(process.argv[3] ?? 50_000);
const requested = Number(process.argv[4] ?? 4);
const profiling = requested > 0;
const rounds = profiling ? requested : 4;
const windowMs = Number(process.argv[5] ?? 3000);
const outDir = process.argv[6] || join(process.cwd(), 'profiles');
const onlySide = process.argv[7];
/** Sampling period of the profiler, µs: fine enough for functions of a few hundred ns per delivery. */
const SAMPLING_MICROS = 100;

const root = process.cwd();
/** A function's label: its name and where it is, the path shortened to the package or project file. */
function label(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  const where = nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(root, path);
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

/** Self time per function label, µs. */
function selfTimes(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    // A sample's time is the delta to the next one.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const key = label(node.callFrame);
    // The inspector's own call (starting and stopping the profiler, building the profile) is not the server's.
    if (key === 'dispatch') continue;
    times.set(key, (times.get(key) ?? 0) + delta);
  }
  return times;
}

/** Self time summed by where the function lives: the gateway's modules, `ws`, node internals, the rest. */
function area(key: string): string {
  if (key.startsWith('(idle)') || key.startsWith('(program)') || key.startsWith('(garbage collector)'))
    return key.split(' ')[0]!;
  if (key.includes(' src/')) return `src/${key.split(' src/')[1]!.split('/')[0]}`;
  if (key.includes(' bench/')) return 'bench';
  if (key.includes(' ws/')) return 'ws';
  if (key.includes(' node:')) return 'node internals';
  return 'other (native, builtins)';
}

interface Side {
  readonly name: string;
  readonly results: Result[];
  readonly times: Map<string, number>;
  delivered: number;
}

const session = new Session();
session.connect();
let round = 0;
/** Sends `perf` a control command and waits for its acknowledgement. */
let perfFds: { ctl: number; ack: number } | undefined;
function perfControl(command: 'enable' | 'disable'): void {
  perfFds ??= { ctl: openSync(process.env['PERF_CTL']!, 'w'), ack: openSync(process.env['PERF_ACK']!, 'r') };
  writeSync(perfFds.ctl, `${command}\n`);
  readSync(perfFds.ack, Buffer.alloc(5));
}

function hooks(side: Side): WindowHooks | undefined {
  if (!profiling && process.env['PERF_CTL'] !== undefined) {
    return {
      begin: async () => perfControl('enable'),
      end: async () => perfControl('disable'),
    };
  }
  if (!profiling) return undefined;
  return {
    async begin() {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_MICROS });
      await session.post('Profiler.start');
    },
    async end() {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      await session.post('Profiler.disable');
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `${side.name}-${clients}c-${round}.cpuprofile`), JSON.stringify(profile));
      for (const [key, micros] of selfTimes(profile))
        side.times.set(key, (side.times.get(key) ?? 0) + micros);
    },
  };
}

const floor: Side = { name: 'floor', results: [], times: new Map(), delivered: 0 };
const gateway: Side = { name: 'gateway', results: [], times: new Map(), delivered: 0 };
const simulator = await startSimulatorProcess({ rate });
const load = [loadavg()[0]!];
async function run(side: Side): Promise<void> {
  if (onlySide !== undefined && onlySide !== side.name) return;
  const measureSide =
    side === floor
      ? floorSide(simulator, clients, windowMs, hooks(side))
      : gatewaySide(simulator, clients, true, windowMs, hooks(side));
  const result = await measureSide();
  side.results.push(result);
  side.delivered += result.delivered;
  load.push(loadavg()[0]!);
}
for (; round < rounds; round++) {
  if (round % 2 === 0) {
    await run(floor);
    await run(gateway);
  } else {
    await run(gateway);
    await run(floor);
  }
}
await simulator.close();
session.disconnect();

const fmt = (values: readonly number[], digits: number) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
const out: string[] = [
  `${clients} clients at ${rate} events/s, ${rounds} rounds of ${windowMs} ms per side${profiling ? `, profiled every ${SAMPLING_MICROS} µs` : ''}; load average 1 min ${fmt(load, 2)}`,
];
for (const side of [floor, gateway]) {
  if (side.results.length === 0) continue;
  const costs = side.results.map((r) => r.cpuMicrosPerDelivery);
  out.push(
    '',
    `${side.name}: CPU µs/delivery ${fmt(costs, 3)}, user ${fmt(
      side.results.map((r) => r.userMicrosPerDelivery),
      3,
    )}, system ${fmt(
      side.results.map((r) => r.systemMicrosPerDelivery),
      3,
    )}; delivered ${side.delivered} (${fmt(
      side.results.map((r) => r.msgsPerSecond),
      0,
    )} msgs/s); p50 ${median(side.results.map((r) => r.p50))} ms`,
  );
  if (!profiling) continue;
  const areas = new Map<string, number>();
  for (const [key, micros] of side.times) areas.set(area(key), (areas.get(area(key)) ?? 0) + micros);
  const perDelivery = (micros: number) => ((micros * 1000) / side.delivered).toFixed(0).padStart(6);
  out.push('  self ns/delivery by area:');
  for (const [key, micros] of [...areas].sort((a, b) => b[1] - a[1]))
    out.push(`  ${perDelivery(micros)}  ${key}`);
  out.push('  self ns/delivery by function (top 40, idle excluded):');
  const top = [...side.times].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  for (const [key, micros] of top.slice(0, 40)) out.push(`  ${perDelivery(micros)}  ${key}`);
}
process.stdout.write(`${out.join('\n')}\n`);
