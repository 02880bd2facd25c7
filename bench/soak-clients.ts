/**
 * Lean downstream clients for bench/soak.bench.ts, forked in several processes: raw TCP sockets that
 * make their own WebSocket handshake, read server frames with a few lines of byte arithmetic, answer
 * pings, and keep per socket only the socket and a few numbers, so that the client side costs little
 * next to the gateway it measures. The sockets are spread over source addresses in 127.0.0.0/8, so
 * neither the ephemeral port range nor the gateway's per-address attempt limit is what is measured.
 *
 * IPC: the parent sends a SoakJob; this process connects (paced), answers `{ type: 'connected' }`,
 * then on `{ type: 'measure' }` counts frames and samples latency (receipt time minus the payload's
 * `"E"`) until `{ type: 'report' }`, answers a SoakReport, and on `{ type: 'reconnect', spreadMs? }` drops
 * every socket (at once, or spread over `spreadMs`) and then connects them all again at once (the storm),
 * answering `{ type: 'connected' }`; `{ type: 'drop', spreadMs? }` only drops them, answering
 * `{ type: 'dropped' }` (a `reconnect` after it connects them again).
 */
import { type Socket, connect as tcpConnect } from 'node:net';

export interface SoakJob {
  readonly type: 'job';
  readonly host: string;
  readonly port: number;
  /** Source addresses to bind (in 127.0.0.0/8); client i binds localAddresses[i % length]. */
  readonly localAddresses: readonly string[];
  /** Request target of each client, e.g. `/ws/btcusdt@trade`; client i takes paths[i % paths.length]. */
  readonly paths: readonly string[];
  readonly clients: number;
  /** Connections opened at once while ramping up (the storm ignores it). */
  readonly concurrency: number;
  /** Give up on a handshake after this long (and try again). */
  readonly handshakeTimeoutMs: number;
  /** Start no attempt this long after connecting (or the storm) began. */
  readonly deadlineMs: number;
}

export interface SoakReport {
  readonly type: 'report';
  readonly open: number;
  readonly frames: number;
  /** Sockets that received no frame during the window. */
  readonly silent: number;
  /** Sockets the server closed (or reset) since the last report. */
  readonly closedByServer: number;
  /** Latency samples, ms (every 16th frame per process). */
  readonly latencies: number[];
}

export interface ConnectedReport {
  readonly type: 'connected';
  readonly open: number;
  /** Attempts refused, by HTTP status; failed and timed-out attempts (each client tries again). */
  readonly refused: Record<string, number>;
  readonly failed: number;
  readonly timedOut: number;
  readonly ms: number;
}

const KEY = 'c29hay1iZW5jaC1rZXk9PQ==';
const PONG_MASK = Buffer.from([0, 0, 0, 0]);

interface Client {
  socket: Socket;
  /** Frames received in the current window. */
  frames: number;
  /** Unparsed bytes of a frame split across reads. */
  pending: Buffer | undefined;
}

const clients = new Set<Client>();
let recording = false;
let closedByServer = 0;
let stopping = false;
let sampleTick = 0;
const latencies: number[] = [];

function send(message: unknown): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
}

/** Reads `"E":<digits>` near the start of a text payload without decoding it. */
function eventTime(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf('"E":', start, 'latin1');
  if (at < 0 || at >= end) return Number.NaN;
  let value = 0;
  for (let i = at + 4; i < end; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return value;
}

function pong(client: Client, payload: Buffer): void {
  // Client frames are masked; a zero mask leaves the payload as it is.
  const header = Buffer.from([0x8a, 0x80 | payload.length]);
  client.socket.write(Buffer.concat([header, PONG_MASK, payload]));
}

/** Consumes every whole frame in `buf`; returns the tail of a frame not yet complete. */
function readFrames(client: Client, buf: Buffer): Buffer | undefined {
  let offset = 0;
  while (buf.length - offset >= 2) {
    const opcode = buf[offset]! & 0x0f;
    let length = buf[offset + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (buf.length - offset < 4) break;
      length = buf.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (buf.length - offset < 10) break;
      length = Number(buf.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (buf.length - offset < header + length) break;
    const start = offset + header;
    const end = start + length;
    if (opcode === 1) {
      if (recording) {
        client.frames++;
        if ((++sampleTick & 15) === 0) {
          const e = eventTime(buf, start, Math.min(end, start + 96));
          if (e > 0) latencies.push(Date.now() - e);
        }
      }
    } else if (opcode === 9) {
      pong(client, buf.subarray(start, end));
    } else if (opcode === 8) {
      client.socket.end();
    }
    offset = end;
  }
  return offset === buf.length ? undefined : buf.subarray(offset);
}

type Outcome = 'open' | 'failed' | 'timeout' | `refused ${string}`;

function open(job: SoakJob, i: number): Promise<Outcome> {
  const path = job.paths[i % job.paths.length]!;
  const localAddress = job.localAddresses[i % job.localAddresses.length]!;
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: job.host, port: job.port, localAddress });
    socket.setNoDelay(true);
    const client: Client = { socket, frames: 0, pending: undefined };
    let handshake: Buffer | undefined = Buffer.alloc(0);
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      settle('timeout');
    }, job.handshakeTimeoutMs);
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${job.host}:${job.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (handshake !== undefined) {
        handshake = Buffer.concat([handshake, chunk]);
        const end = handshake.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = handshake.toString('latin1', 9, 12);
        if (status !== '101') {
          socket.destroy();
          settle(`refused ${status}`);
          return;
        }
        const rest = handshake.subarray(end + 4);
        handshake = undefined;
        clients.add(client);
        settle('open');
        if (rest.length > 0) client.pending = readFrames(client, rest);
        return;
      }
      const buf = client.pending ? Buffer.concat([client.pending, chunk]) : chunk;
      client.pending = readFrames(client, buf);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (clients.delete(client) && !stopping) closedByServer++;
      settle('failed');
    });
  });
}

/**
 * Opens every client, `concurrency` handshakes at a time. A client whose attempt fails, times out or is
 * refused tries again after a random pause of up to a second, as client libraries do. No attempt starts
 * after `deadline`, so a server too busy to take handshakes ends the ramp there (within one handshake
 * timeout) rather than after one more timed-out attempt per client left; the counts are of attempts, and
 * `open` says how many got through.
 */
async function connectAll(job: SoakJob, concurrency: number, deadline: number): Promise<ConnectedReport> {
  const started = Date.now();
  const refused: Record<string, number> = {};
  let failed = 0;
  let timedOut = 0;
  let next = 0;
  const worker = async () => {
    while (next < job.clients && Date.now() < deadline) {
      const i = next++;
      for (;;) {
        const outcome = await open(job, i);
        if (outcome === 'open') break;
        if (outcome === 'failed') failed++;
        else if (outcome === 'timeout') timedOut++;
        else refused[outcome.slice(8)] = (refused[outcome.slice(8)] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, Math.random() * 1000));
        if (Date.now() >= deadline) break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, job.clients) }, worker));
  return { type: 'connected', open: clients.size, refused, failed, timedOut, ms: Date.now() - started };
}

/**
 * Destroys every socket: in one go, or spread evenly over `spreadMs` in 10 ms steps (as a load balancer
 * that spreads the closes of a soft stop over a window does).
 */
async function drop(spreadMs: number): Promise<void> {
  const all = [...clients];
  clients.clear();
  const steps = Math.max(1, Math.floor(spreadMs / 10));
  for (let step = 0; step < steps; step++) {
    const end = Math.round((all.length * (step + 1)) / steps);
    for (let i = Math.round((all.length * step) / steps); i < end; i++) all[i]!.socket.destroy();
    if (step + 1 < steps) await new Promise((r) => setTimeout(r, 10));
  }
}

let job: SoakJob | undefined;
process.on('message', async (message: { type: string } & Partial<SoakJob>) => {
  if (message.type === 'job') {
    job = message as SoakJob;
    await send(await connectAll(job, job.concurrency, Date.now() + job.deadlineMs));
  } else if (message.type === 'measure') {
    for (const c of clients) c.frames = 0;
    latencies.length = 0;
    closedByServer = 0;
    recording = true;
  } else if (message.type === 'report') {
    recording = false;
    let frames = 0;
    let silent = 0;
    for (const c of clients) {
      frames += c.frames;
      if (c.frames === 0) silent++;
    }
    const report: SoakReport = {
      type: 'report',
      open: clients.size,
      frames,
      silent,
      closedByServer,
      latencies: latencies.splice(0),
    };
    await send(report);
  } else if (message.type === 'drop') {
    const { spreadMs = 0 } = message as { spreadMs?: number };
    stopping = true;
    await drop(spreadMs);
    stopping = false;
    await send({ type: 'dropped' });
  } else if (message.type === 'reconnect' && job) {
    const { spreadMs = 0 } = message as { spreadMs?: number };
    stopping = true;
    await drop(spreadMs);
    stopping = false;
    closedByServer = 0;
    // Every client at once, as after a gateway restart or a load balancer moving them.
    await send(await connectAll(job, job.clients, Date.now() + job.deadlineMs));
  } else if (message.type === 'stop') {
    stopping = true;
    for (const c of clients) c.socket.destroy();
    process.disconnect?.();
  }
});
