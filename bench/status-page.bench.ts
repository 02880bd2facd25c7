/**
 * What the status page costs the gateway: gateway CPU time (process.cpuUsage, this process) over equal
 * windows with 10 open status pages (10 event streams read by a child process, what 10 browser tabs
 * keep open) and with none, alternating sides over several rounds. The gateway carries a steady load
 * meanwhile: 20 upstream streams from a simulator child process, 50 downstream clients in another child.
 * Reported: the added CPU as a share of one core (the "< 1% CPU"), median and min–max.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { silentLogger } from '../src/core/log.js';
import { startGateway } from '../src/gateway/index.js';
import { startSimulatorProcess } from './gateway-sim.js';
import { median } from './support.js';

const SELF = fileURLToPath(import.meta.url);
const PAGES = 10;
const ROUNDS = 6;
const WINDOW_MS = 5000;
const SETTLE_MS = 1500;
const CLIENTS = 50;
const SYMBOLS = ['btcusdt', 'ethusdt', 'bnbusdt', 'solusdt', 'xrpusdt'];
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`, `${s}@bookTicker`, `${s}@depth`]);

type Role = { role: 'clients'; url: string } | { role: 'pages'; url: string };

/** Child process: keeps downstream clients or status event streams open and reading until killed. */
async function child(job: Role): Promise<void> {
  if (job.role === 'clients') {
    for (let i = 0; i < CLIENTS; i++) {
      const streams = STREAMS.filter((_, k) => k % 5 === i % 5);
      const ws = new WebSocket(`${job.url}/stream?streams=${streams.join('/')}`, {
        perMessageDeflate: false,
      });
      ws.on('message', () => {});
      await new Promise((r) => ws.once('open', r));
    }
  } else {
    // Each page from an address of its own (the gateway serves one address a few of its slots), reading
    // all the time and opening its stream again when the gateway ends it, as the page does.
    const open = (from: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${job.url}/api/ws/status/events`,
          { agent: false, localAddress: from },
          (res) => {
            if (res.statusCode !== 200) {
              reject(new Error(`event stream answered ${res.statusCode}`));
              return;
            }
            res.resume();
            res.once('end', () => void open(from).catch(() => {}));
            resolve();
          },
        );
        req.on('error', reject);
        req.end();
      });
    await Promise.all(Array.from({ length: PAGES }, (_, i) => open(`127.0.2.${i + 1}`)));
  }
  process.send?.('ready');
}

function startChild(job: Role): Promise<ChildProcess> {
  const proc = fork(SELF, [JSON.stringify(job)], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    proc.once('message', () => resolve(proc));
    proc.once('exit', (code) => reject(new Error(`${job.role} child exited with ${code}`)));
  });
}

function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill();
  return exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Gateway CPU over one window, as a share of one core (100 = one core busy). */
async function cpuPercent(): Promise<number> {
  const start = process.cpuUsage();
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100;
}

async function main(): Promise<void> {
  const sim = await startSimulatorProcess({ rate: 20, seed: 1 });
  const gateway = await startGateway(
    { host: '127.0.0.1', port: 0, upstreamUrl: sim.url, useNewWsManager: true, rateLimitPerMinute: 10_000 },
    { logger: silentLogger() },
  );
  const clients = await startChild({ role: 'clients', url: gateway.wsUrl });
  await sleep(3000);
  const without: number[] = [];
  const withPages: number[] = [];
  const added: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, so a drift in background load does not favour one.
    const pagesFirst = round % 2 === 1;
    let a = 0;
    let b = 0;
    for (const open of pagesFirst ? [true, false] : [false, true]) {
      const pages = open ? await startChild({ role: 'pages', url: gateway.url }) : undefined;
      await sleep(SETTLE_MS);
      const cpu = await cpuPercent();
      if (pages) await stopChild(pages);
      if (open) b = cpu;
      else a = cpu;
    }
    without.push(a);
    withPages.push(b);
    added.push(b - a);
  }
  const load = (await (await fetch(`${gateway.url}/api/ws/metrics?format=json`)).json()) as {
    metrics: { messagesInPerSecond: number; messagesOutPerSecond: number; gateway: { clients: number } };
  };
  await stopChild(clients);
  await gateway.close();
  await sim.close();

  const f = (n: number) => n.toFixed(2);
  const range = (v: number[]) => `${f(Math.min(...v))}–${f(Math.max(...v))}`;
  console.log(
    `gateway load: ${STREAMS.length} upstream streams, ${load.metrics.gateway.clients} downstream clients, ` +
      `${load.metrics.messagesInPerSecond} msgs/s in, ${load.metrics.messagesOutPerSecond} msgs/s out; ` +
      `${ROUNDS} rounds of ${WINDOW_MS / 1000} s per side, sides alternating`,
  );
  console.log('gateway CPU, % of one core        median   min–max');
  console.log(`  no status page                  ${f(median(without)).padStart(6)}   ${range(without)}`);
  console.log(
    `  ${PAGES} open status pages (SSE)     ${f(median(withPages)).padStart(6)}   ${range(withPages)}`,
  );
  console.log(`  added by the ${PAGES} pages           ${f(median(added)).padStart(6)}   ${range(added)}`);
}

const arg = process.argv[2];
if (arg !== undefined) await child(JSON.parse(arg) as Role);
else await main();
