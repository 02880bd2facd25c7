/**
 * The downstream clients of bench/gateway.bench.ts, run in a process of their own (forked by the bench)
 * so that their CPU and memory are not counted against the server they measure.
 *
 * Protocol over the IPC channel: the parent sends `{ url, clients }`; this process connects, answers
 * `{ type: 'ready' }`; the parent sends `{ type: 'measure', windowMs }`; this process counts the frames
 * that arrive in the window, answers `{ type: 'result', ... }` and exits.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface ClientsJob {
  readonly url: string;
  readonly clients: number;
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

function send(message: unknown): void {
  process.send?.(message);
}

async function connect(
  job: ClientsJob,
  state: { recording: boolean; received: number; latencies: number[]; closed: number },
) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < job.clients; i += 50) {
    const batch = Array.from({ length: Math.min(50, job.clients - i) }, () => {
      const ws = new WebSocket(job.url, { perMessageDeflate: false });
      ws.on('message', (data: Buffer) => {
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
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade refused: ${res.statusCode}`)),
        );
      });
    });
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

process.once('message', async (job: ClientsJob) => {
  const state = { recording: false, received: 0, latencies: [] as number[], closed: 0 };
  const sockets = await connect(job, state);
  send({ type: 'ready' });
  process.once('message', async (command: { windowMs: number }) => {
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
    send(result);
    for (const ws of sockets) ws.terminate();
    process.disconnect?.();
  });
});
