/**
 * Recovery after an abrupt drop of every upstream connection (issue 11): 100 aggTrade streams at 20
 * events/s; time from the drop until every stream delivers again, for WSManager and for a raw `ws`
 * client that reconnects at once, measured in the same run in alternating rounds (median, min–max);
 * and the events the subscriber missed, with recovery 'report' (reported in gaps) and 'backfill'
 * (refilled from the simulator's REST history; target 0). The simulator runs in a child process. Exits by itself.
 */
import WebSocket from 'ws';
import { type GapEvent, WSManager } from '../src/manager/index.js';
import { type SimulatorProcess, startSimulatorProcess } from './gateway-sim.js';
import { median } from './support.js';

const STREAMS = 100;
const RATE = 20;
const ROUNDS = 5;
/** Served this long before the drop, so the connection counts as healthy (retry.healthyAfterMs). */
const UP_BEFORE_DROP_MS = 1500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(1);
  }
  return true;
}

const streams = Array.from({ length: STREAMS }, (_, i) => `rec${i}usdt@aggTrade`);

async function drop(sim: SimulatorProcess): Promise<void> {
  const http = sim.url.replace(/^ws/, 'http');
  await fetch(`${http}/faults/drop`, { method: 'POST', body: JSON.stringify({ abrupt: true }) });
}

interface Round {
  ms: number;
  missed: number;
  reported: number;
}

/** A raw combined-stream client that reconnects and resubscribes the moment its socket closes. */
async function rawRound(sim: SimulatorProcess): Promise<Round> {
  const seenAfter = new Set<string>();
  let closedOnce = false;
  let stopped = false;
  let ws: WebSocket;
  const open = (): void => {
    ws = new WebSocket(`${sim.url}/stream`, { perMessageDeflate: false });
    ws.on('open', () => ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: streams, id: 1 })));
    ws.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as { stream?: string };
      if (msg.stream !== undefined && closedOnce) seenAfter.add(msg.stream);
      else if (msg.stream !== undefined) seenAfter.add(`before:${msg.stream}`);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (stopped) return;
      closedOnce = true;
      open();
    });
  };
  open();
  await waitFor(() => seenAfter.size === STREAMS, 10_000);
  await sleep(UP_BEFORE_DROP_MS);
  const t0 = performance.now();
  await drop(sim);
  const ok = await waitFor(() => [...streams].every((s) => seenAfter.has(s)), 30_000);
  const ms = ok ? performance.now() - t0 : Number.NaN;
  stopped = true;
  ws!.terminate();
  return { ms, missed: 0, reported: 0 };
}

async function managerRound(sim: SimulatorProcess, recovery: 'backfill' | 'report'): Promise<Round> {
  // 100 refills per drop cost 400 weight; the default budget (1200 per minute) would run out in round 3.
  const manager = new WSManager({ url: sim.url, recovery, restWeightPerMinute: 5000 });
  const last = new Map<string, number>();
  const seenAfter = new Set<string>();
  let dropped = false;
  let missed = 0;
  let reported = 0;
  for (const s of streams) {
    manager.subscribe(s, {
      next: (d) => {
        const a = (d as { a: number }).a;
        const prev = last.get(s);
        if (prev !== undefined && a > prev + 1) missed += a - prev - 1;
        last.set(s, a);
        if (dropped) seenAfter.add(s);
      },
      gap: (g: GapEvent) => {
        reported += g.missed;
      },
    });
  }
  await waitFor(() => last.size === STREAMS, 10_000);
  await sleep(UP_BEFORE_DROP_MS);
  const retries = manager.getMetrics().retryCount;
  const t0 = performance.now();
  await drop(sim);
  // Events already in flight before the drop do not count: wait until the close has been handled.
  await waitFor(() => manager.getMetrics().retryCount > retries, 5000);
  dropped = true;
  const ok = await waitFor(() => seenAfter.size === STREAMS, 30_000);
  const ms = ok ? performance.now() - t0 : Number.NaN;
  await sleep(200);
  await manager.destroy();
  return { ms, missed, reported };
}

function summary(values: number[]): string {
  return `median ${Math.round(median(values))} ms (min ${Math.round(Math.min(...values))}, max ${Math.round(Math.max(...values))})`;
}

const sim = await startSimulatorProcess({ rate: RATE, seed: 7 });
try {
  const raw: Round[] = [];
  const managed: Round[] = [];
  const filled: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating sides, so drift in the shared machine's load hits all alike.
    const sides = [
      async () => raw.push(await rawRound(sim)),
      async () => managed.push(await managerRound(sim, 'report')),
      async () => filled.push(await managerRound(sim, 'backfill')),
    ];
    if (round % 2 === 1) sides.reverse();
    for (const side of sides) await side();
  }
  const rawMs = raw.map((r) => r.ms);
  const mgrMs = managed.map((r) => r.ms);
  const filledMs = filled.map((r) => r.ms);
  console.log(
    `recovery.bench: node ${process.version}; ${STREAMS} aggTrade streams at ${RATE} events/s, abrupt drop of every connection after ${UP_BEFORE_DROP_MS} ms up, ${ROUNDS} alternating rounds; simulator in a child process`,
  );
  console.log(`  raw ws client, reconnects at once   all delivering again: ${summary(rawMs)}`);
  console.log(`  WSManager (defaults)                all delivering again: ${summary(mgrMs)}`);
  console.log(`  WSManager recovery 'backfill'       all delivering again: ${summary(filledMs)}`);
  console.log(`  ratio of medians ${(median(mgrMs) / median(rawMs)).toFixed(2)}x (target <= 2x)`);
  console.log(
    `  events missed by the subscriber per round, recovery 'report': ${managed.map((r) => r.missed).join(', ')} (reported in gaps: ${managed.map((r) => r.reported).join(', ')})`,
  );
  console.log(
    `  events missed by the subscriber per round, recovery 'backfill': ${filled.map((r) => r.missed).join(', ')} (target 0; reported in gaps: ${filled.map((r) => r.reported).join(', ')})`,
  );
} finally {
  await sim.close();
}
