/**
 * The downstream clients of bench/gateway.bench.ts, run in a process of their own (forked by the bench)
 * so that their CPU and memory are not counted against the server they measure.
 *
 * Protocol over the IPC channel: the parent sends `{ url, clients }`; this process connects, answers
 * `{ type: 'ready' }`; optionally the parent sends `{ type: 'subscribe' }` and this process sends a
 * live SUBSCRIBE for `subscribe` on every socket and answers `{ type: 'subscribed' }`; the parent sends
 * `{ type: 'flowing' }` and this process answers `{ type: 'flowing', waitedMs }` once every socket has
 * received a frame (or after FLOW_TIMEOUT_MS); the parent sends `{ type: 'measure', windowMs }`; this
 * process counts the frames that arrive in the window, answers `{ type: 'result', ... }` and exits.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface ClientsJob {
  readonly url: string;
  readonly clients: number;
  /** Sent as a live SUBSCRIBE on every socket when the parent says `subscribe` (after all are connected). */
  readonly subscribe?: string;
}

export interface ClientsResult {
  readonly type: 'result';
  readonly received: number;
  readonly seconds: number;
  /** Latency samples in ms: receipt time minus the event time E (one event in ten). */
  readonly latencies: number[];
  readonly closedEarly: number;
}

const E_RE = /"E":(\d+)/;
/** Longest wait for every socket's first frame: a side that takes longer is measured as it is. */
const FLOW_TIMEOUT_MS = 15_000;

/** Resolves once the message has been handed to the IPC channel, so disconnecting after it loses nothing. */
function send(message: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(message, () => resolve());
    else resolve();
  });
}

async function connect(job: ClientsJob, state: State) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < job.clients; i += 50) {
    const batch = Array.from({ length: Math.min(50, job.clients - i) }, () => {
      const ws = new WebSocket(job.url, { perMessageDeflate: false });
      let first = true;
      ws.on('message', (data: Buffer) => {
        if (first) {
          first = false;
          state.flowing++;
        }
        if (!state.recording) return;
        state.received++;
        if (state.received % 10 === 0) {
          const m = E_RE.exec(data.toString('latin1', 0, 64));
          if (m) state.latencies.push(Date.now() - Number(m[1]));
        }
      });
      ws.on('close', () => {
        state.closed++;
      });
      ws.on('error', () => {});
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('error', (error) => reject(error));
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade refused: ${res.statusCode}`)),
        );
      });
    });
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

interface State {
  recording: boolean;
  received: number;
  latencies: number[];
  closed: number;
  /** Sockets that received at least one frame. */
  flowing: number;
}

// A listener stays registered throughout: without one Node unrefs the IPC channel and the process could
// exit silently (code 0) while connecting.
let onMessage: (message: unknown) => void = () => {};
process.on('message', (message) => onMessage(message));

onMessage = async (message) => {
  const job = message as ClientsJob;
  const state: State = { recording: false, received: 0, latencies: [], closed: 0, flowing: 0 };
  let sockets: WebSocket[];
  try {
    sockets = await connect(job, state);
  } catch (error) {
    process.stderr.write(
      `gateway-clients: connecting ${job.clients} clients to ${job.url} failed: ${String(error)}\n`,
    );
    process.exit(1);
  }
  await send({ type: 'ready' });
  onMessage = async (next) => {
    const command = next as { type: string; windowMs: number };
    if (command.type === 'subscribe') {
      const frame = JSON.stringify({ method: 'SUBSCRIBE', params: [job.subscribe], id: 1 });
      for (const ws of sockets) ws.send(frame);
      await send({ type: 'subscribed' });
      return;
    }
    if (command.type === 'flowing') {
      const began = performance.now();
      while (state.flowing < sockets.length && performance.now() - began < FLOW_TIMEOUT_MS) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await send({ type: 'flowing', waitedMs: Math.round(performance.now() - began) });
      return;
    }
    state.recording = true;
    const start = performance.now();
    await new Promise((r) => setTimeout(r, command.windowMs));
    state.recording = false;
    const seconds = (performance.now() - start) / 1000;
    const result: ClientsResult = {
      type: 'result',
      received: state.received,
      seconds,
      latencies: state.latencies,
      closedEarly: state.closed,
    };
    for (const ws of sockets) ws.terminate();
    await send(result);
    process.disconnect?.();
  };
};
