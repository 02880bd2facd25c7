/**
 * The floor of bench/soak.bench.ts, in a process of its own so that its RSS is measured as the
 * gateway's is: a bare `ws` server that takes the raw path `/ws/<stream>`, reads every stream of the
 * run from one combined upstream connection per 1,024 streams, cuts the `data` out of each
 * envelope and sends it to that stream's clients, their sockets corked for the rest of the turn (as the
 * gateway batches its writes). No limits, no metrics, no refill: what a few plain lines can do.
 *
 * argv: upstream base URL, comma-separated streams. Prints `{"port":N}` once listening.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { tcpSocketOf } from '../src/core/ws-socket.js';

const [upstreamUrl, streamList] = process.argv.slice(2);
const streams = (streamList ?? '').split(',');
const byStream = new Map<string, Set<WebSocket>>(streams.map((s) => [s, new Set()]));
const corked = new Set<WebSocket>();
let flushQueued = false;

function flush(): void {
  flushQueued = false;
  for (const ws of corked) tcpSocketOf(ws)?.uncork();
  corked.clear();
}

for (let i = 0; i < streams.length; i += 1024) {
  const names = streams.slice(i, i + 1024);
  const upstream = new WebSocket(`${upstreamUrl}/stream`, { perMessageDeflate: false });
  // The names go in SUBSCRIBE messages (a URL naming 1,024 streams is longer than a server takes), 200
  // at a time and 4 messages a second, under the exchange's 5.
  upstream.once('open', async () => {
    for (let j = 0; j < names.length; j += 200) {
      upstream.send(JSON.stringify({ method: 'SUBSCRIBE', params: names.slice(j, j + 200), id: j }));
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  upstream.on('message', (frame: Buffer) => {
    const text = frame.toString();
    if (text.charCodeAt(2) !== 115) return; // a reply to SUBSCRIBE, not {"stream":..
    const nameStart = 11; // {"stream":"
    const name = text.slice(nameStart, text.indexOf('"', nameStart));
    const clients = byStream.get(name);
    if (!clients || clients.size === 0) return;
    const data = text.slice(text.indexOf('"data":') + 7, -1);
    for (const ws of clients) {
      if (!corked.has(ws)) {
        corked.add(ws);
        tcpSocketOf(ws)?.cork();
      }
      ws.send(data, { binary: false });
    }
    if (!flushQueued) {
      flushQueued = true;
      process.nextTick(flush);
    }
  });
  upstream.on('error', (error) => {
    process.stderr.write(`soak floor: upstream ${String(error)}\n`);
    process.exit(1);
  });
}

// The same event-loop delay the gateway exports (prom-client's, at 10 ms resolution), read and reset by
// GET /loop, so both sides are measured alike.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const http = createServer((req, res) => {
  const body = {
    nodejs_eventloop_lag_p50_seconds: loop.percentile(50) / 1e9,
    nodejs_eventloop_lag_p99_seconds: loop.percentile(99) / 1e9,
    nodejs_eventloop_lag_max_seconds: loop.max / 1e9,
  };
  loop.reset();
  res.end(req.url === '/loop' ? JSON.stringify(body) : '');
});
const server = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
server.on('connection', (ws, req) => {
  const clients = byStream.get((req.url ?? '').slice(4));
  if (!clients) {
    ws.close(1008, 'unknown stream');
    return;
  }
  clients.add(ws);
  ws.on('close', () => {
    clients.delete(ws);
    corked.delete(ws);
  });
  ws.on('error', () => {});
});
// The same accept backlog as the gateway's.
http.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as { port: number }).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
