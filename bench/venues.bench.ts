/**
 * Per-venue routing benchmark: WSManager with the Bybit spot and OKX adapters against the simulator's
 * Bybit (`/bybit/v5/public/spot`) and OKX (`/okx/ws/v5/public`) endpoints, the simulator
 * in its own process. Binance's figures are manager.bench.ts's.
 *
 * Floor, per venue, measured in the same run: raw `ws` sockets speaking the venue's protocol directly —
 * its own subscribe op (Bybit: at most 10 args a request, 21,000 characters of args a connection; OKX:
 * `{channel, instId}` args), its heartbeat (Bybit `{"op":"ping"}`, OKX the text `ping`, every 20 s),
 * JSON.parse of each frame and a Map lookup handing the payload (the whole envelope, as the adapters
 * deliver it) to the stream's callback. The floor opens as many sockets as the venue's per-connection
 * limits make the manager open. Each side's round is timed only once every stream has delivered (the
 * manager paces its subscribe requests at the venue's rate; the floor sends them at once).
 * Bounded in time; exits by itself.
 */
import WebSocket from 'ws';
import { silentLogger } from '../src/core/log.js';
import { bybitSpot } from '../src/exchange/bybit/index.js';
import type { Exchange } from '../src/exchange/exchange.js';
import { okx } from '../src/exchange/okx/index.js';
import { WSManager } from '../src/manager/index.js';
import {
  alternatingRounds,
  cpuPerMillion,
  formatThroughput,
  type Measure,
  measureDeliveries,
  median,
  rateOf,
  type SimulatorProcess,
  StreamCallbacks,
  simulatorIdle,
  socketGroups,
  startSimulatorProcess,
  stopSimulatorProcess,
  waitUntil,
} from './support.js';

const PHASE_MS = 1500;
const WARMUP_MS = 500;
const ROUNDS = 3;
/**
 * Events per second offered, split over the case's streams. The simulator's Bybit and OKX feeds cannot
 * saturate a client: each event is translated (a JSON.parse) and written with its own system call,
 * which tops out near 50,000 frames/s here, and at rate 'max' they are not paced by the sockets' backlog
 * (frames are skipped past 8 MB pending, which OKX's trade ids then show as gaps to refill). So the load
 * is a rate the simulator sustains, both sides should deliver all of it, and CPU per delivery is the
 * figure that tells them apart.
 */
const OFFERED_PER_S = 25_000;
/** Both venues ask the client to ping every 20 s (Bybit's docs; OKX closes a connection silent for 30 s). */
const PING_INTERVAL_MS = 20_000;
/** Time allowed for every stream of a round to deliver once (the manager's Bybit subscribes take ~10 s). */
const LIVE_TIMEOUT_MS = 30_000;

type Payload = (data: unknown) => void;

/** What a floor client is: its sockets, which close together. */
interface Floor {
  readonly sockets: readonly WebSocket[];
  /** Subscribe requests the venue refused, as its error texts. */
  readonly refusals: string[];
}

function closeFloor(floor: Floor): Promise<void> {
  return Promise.all(
    floor.sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          if (ws.readyState === WebSocket.CLOSED) return r();
          ws.once('close', () => r());
          ws.close();
        }),
    ),
  ).then(() => undefined);
}

/** Opens one socket that sends `subscribes` once open and `ping` every 20 s while open. */
function floorSocket(url: string, subscribes: readonly string[], ping: string): WebSocket {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let timer: NodeJS.Timeout | undefined;
  ws.on('open', () => {
    for (const s of subscribes) ws.send(s);
    timer = setInterval(() => ws.send(ping), PING_INTERVAL_MS);
  });
  ws.on('close', () => clearInterval(timer));
  ws.on('error', () => {});
  return ws;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Bybit spot straight: op-style subscribes of 10 topics, the JSON ping, the topic read from each frame. */
function bybitFloor(baseUrl: string, groups: readonly string[][], handlers: Map<string, Payload>): Floor {
  const refusals: string[] = [];
  let reqId = 0;
  const sockets = groups.map((topics) => {
    const subscribes = chunks(topics, 10).map(
      (args) => `{"op":"subscribe","req_id":"${++reqId}","args":${JSON.stringify(args)}}`,
    );
    const ws = floorSocket(`${baseUrl}/bybit/v5/public/spot`, subscribes, '{"op":"ping"}');
    ws.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as { topic?: string; success?: boolean; ret_msg?: string };
      if (msg.topic !== undefined) handlers.get(msg.topic)?.(msg);
      else if (msg.success === false) refusals.push(String(msg.ret_msg));
    });
    return ws;
  });
  return { sockets, refusals };
}

const PONG = Buffer.from('pong');

/** OKX straight: `{channel, instId}` subscribes of up to 500 args, the text ping, a lookup by channel then instrument. */
function okxFloor(baseUrl: string, groups: readonly string[][], handlers: Map<string, Payload>): Floor {
  const refusals: string[] = [];
  const byChannel = new Map<string, Map<string, Payload>>();
  for (const [name, h] of handlers) {
    const [channel = '', instId = ''] = name.split(':');
    let byInst = byChannel.get(channel);
    if (byInst === undefined) {
      byInst = new Map();
      byChannel.set(channel, byInst);
    }
    byInst.set(instId, h);
  }
  let reqId = 0;
  const sockets = groups.map((names) => {
    const subscribes = chunks(names, 500).map((group) => {
      const args = group.map((n) => {
        const [channel, instId] = n.split(':');
        return { channel, instId };
      });
      return JSON.stringify({ id: String(++reqId), op: 'subscribe', args });
    });
    const ws = floorSocket(`${baseUrl}/okx/ws/v5/public`, subscribes, 'ping');
    ws.on('message', (raw: Buffer) => {
      if (raw.length === 4 && raw.equals(PONG)) return;
      const msg = JSON.parse(raw.toString()) as {
        arg?: { channel: string; instId: string };
        event?: string;
        msg?: string;
      };
      if (msg.event === undefined && msg.arg !== undefined)
        byChannel.get(msg.arg.channel)?.get(msg.arg.instId)?.(msg);
      else if (msg.event === 'error') refusals.push(String(msg.msg));
    });
    return ws;
  });
  return { sockets, refusals };
}

interface Venue {
  label: string;
  exchange: Exchange;
  /** The simulator's prefix of this venue, added to its WebSocket base for the manager's `url`. */
  prefix: string;
  stream: (i: number) => string;
  floor: (baseUrl: string, groups: readonly string[][], handlers: Map<string, Payload>) => Floor;
}

const VENUES: readonly Venue[] = [
  {
    label: 'bybit spot',
    exchange: bybitSpot,
    prefix: '/bybit',
    stream: (i) => `publicTrade.BENCH${i}USDT`,
    floor: bybitFloor,
  },
  { label: 'okx', exchange: okx, prefix: '/okx', stream: (i) => `trades:BENCH${i}-USDT`, floor: okxFloor },
];

interface Round extends Measure {
  sockets: number;
}

async function venueCase(venue: Venue, streamCount: number, totalRate: number): Promise<void> {
  const rate = totalRate / streamCount;
  const sim: SimulatorProcess = await startSimulatorProcess({ rate, seed: 7 });
  const streams = Array.from({ length: streamCount }, (_, i) => venue.stream(i));
  const groups = socketGroups(venue.exchange.limits, streams);
  const problems: string[] = [];

  const floorRound = async (): Promise<Round> => {
    const d = new StreamCallbacks(streams.length);
    const handlers = new Map(streams.map((s, i) => [s, d.for(i)] as const));
    const floor = venue.floor(sim.url, groups, handlers);
    if (!(await waitUntil(() => d.allLive, LIVE_TIMEOUT_MS)))
      problems.push(`floor: ${d.live} of ${streams.length} streams delivered`);
    const m = await measureDeliveries(() => d.count, WARMUP_MS, PHASE_MS);
    problems.push(...floor.refusals.map((r) => `floor refused: ${r}`));
    await closeFloor(floor);
    await simulatorIdle(sim);
    return { ...m, sockets: floor.sockets.length };
  };
  const managedRound = async (): Promise<Round> => {
    const d = new StreamCallbacks(streams.length);
    const manager = new WSManager({
      url: `${sim.url}${venue.prefix}`,
      exchange: venue.exchange,
      logger: silentLogger(),
    });
    for (let i = 0; i < streams.length; i++) manager.subscribe(streams[i]!, d.for(i));
    if (!(await waitUntil(() => d.allLive, LIVE_TIMEOUT_MS)))
      problems.push(`WSManager: ${d.live} of ${streams.length} streams delivered`);
    const m = await measureDeliveries(() => d.count, WARMUP_MS, PHASE_MS);
    const metrics = manager.getMetrics();
    if (metrics.messageGaps > 0) problems.push(`WSManager saw ${metrics.messageGaps} gaps`);
    await manager.destroy();
    await simulatorIdle(sim);
    return { ...m, sockets: metrics.activeConnections };
  };
  const { floor, measured } = await alternatingRounds(ROUNDS, floorRound, managedRound);
  await stopSimulatorProcess(sim);

  const cpu = (m: Measure) => cpuPerMillion(m);
  const ratios = measured.map((m, i) => rateOf(m) / rateOf(floor[i]!));
  const ratio = median(measured.map(rateOf)) / median(floor.map(rateOf));
  const cpuRatio = median(measured.map(cpu)) / median(floor.map(cpu));
  const sockets = (rs: Round[]) => [...new Set(rs.map((r) => r.sockets))].join('/');
  console.log(
    `${venue.label}: ${streamCount.toLocaleString('en-US')} stream(s) x 1 subscriber at ${rate.toLocaleString('en-US')} events/s each ` +
      `(${totalRate.toLocaleString('en-US')} offered; median of ${ROUNDS} rounds)`,
  );
  const floorLabel = `floor (raw ws, ${venue.label} protocol)`;
  const managerLabel = `WSManager + ${venue.exchange.name} adapter`;
  const width = Math.max(floorLabel.length, managerLabel.length);
  console.log(`  ${floorLabel.padEnd(width)}  ${formatThroughput(floor)}  ${sockets(floor)} socket(s)`);
  console.log(
    `  ${managerLabel.padEnd(width)}  ${formatThroughput(measured)}  ${sockets(measured)} socket(s)`,
  );
  console.log(
    `  ratio to floor: throughput ${ratio.toFixed(2)}x (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= 0.95), ` +
      `CPU per delivery ${cpuRatio.toFixed(2)}x (target <= 1.05)`,
  );
  for (const p of new Set(problems)) console.log(`  !! ${p}`);
}

console.log(
  `venues.bench: node ${process.version}; ${ROUNDS} alternating rounds of ${PHASE_MS} ms per side after ${WARMUP_MS} ms warm-up, ` +
    'one uncounted round each first; simulator in a child process; Binance: manager.bench.ts',
);
const only = process.env['VENUES_BENCH']?.split(',');
for (const venue of VENUES) {
  if (only !== undefined && !only.some((o) => venue.label.includes(o))) continue;
  await venueCase(venue, 1, OFFERED_PER_S);
  await venueCase(venue, 1000, OFFERED_PER_S);
}
