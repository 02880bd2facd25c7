/**
 * The HTTP control API on the simulator's own port: `GET /stats` and `POST /faults/<name>` with JSON
 * bodies. Bad bodies get 400 with a message, unknown paths 404, known paths with another method 405.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../core/errors.js';
import { parseRequestTarget } from '../http/request-target.js';
import { record } from './fault-options.js';
import type { Simulator } from './simulator.js';
import type { RefuseStatus } from './types.js';

/** Control bodies are tiny; anything larger is refused before it is buffered. */
const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Route = (body: unknown) => unknown;

export class ControlApi {
  private readonly posts: Readonly<Record<string, Route>>;

  constructor(private readonly simulator: Simulator) {
    const s = simulator;
    this.posts = {
      '/faults/drop': (b) => ({
        dropped: s.dropConnections(b as Parameters<Simulator['dropConnections']>[0]),
      }),
      '/faults/stall': (b) => ({ stalled: s.stall(b as Parameters<Simulator['stall']>[0]) }),
      '/faults/malformed': (b) => ({
        connections: s.sendMalformed(b as Parameters<Simulator['sendMalformed']>[0]),
      }),
      '/faults/shutdown': (b) => ({
        announced: s.announceShutdown(b as Parameters<Simulator['announceShutdown']>[0]),
      }),
      '/faults/refuse': (b) => {
        const o = record('refuse body', b, ['ms', 'status', 'retryAfterS']);
        const retryAfterS = o['retryAfterS'] as number | null | undefined;
        s.refuseConnections(o['ms'] as number, o['status'] as RefuseStatus | undefined, retryAfterS);
        const answer = { refusingForMs: o['ms'], status: o['status'] ?? 429 };
        return retryAfterS === undefined ? answer : { ...answer, retryAfterS };
      },
      '/faults/bybit/withhold-pongs': (b) => ({
        connections: s.withholdBybitPongs(b as Parameters<Simulator['withholdBybitPongs']>[0]),
      }),
      '/faults/bybit/book-restart': (b) => ({ restarted: s.restartBybitBook(topicOf(b)) }),
      '/faults/bybit/book-skip': (b) => ({ skipped: s.skipBybitBookUpdate(topicOf(b)) }),
      '/faults/okx/withhold-pongs': (b) => ({
        connections: s.withholdOkxPongs(b as Parameters<Simulator['withholdOkxPongs']>[0]),
      }),
      '/faults/okx/book-restart': (b) => ({ restarted: s.restartOkxBook(instIdOf(b)) }),
      '/faults/okx/book-drop': (b) => ({ dropped: s.dropOkxBookUpdate(instIdOf(b)) }),
      '/faults/okx/book-snapshots': (b) => {
        const o = record('okx book-snapshots body', b, ['pushed']);
        if (typeof o['pushed'] !== 'boolean') throw new HttpError(400, 'pushed must be true or false');
        s.setOkxBookSnapshots(o['pushed']);
        return { pushed: o['pushed'] };
      },
      '/faults/latency': (b) => {
        const o = record('latency body', b, ['ms']);
        s.setLatency(o['ms'] as number);
        return { latencyMs: o['ms'] };
      },
    };
  }

  /** Serves one plain HTTP request. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req)
      .then((body) => send(res, 200, body))
      .catch((error: unknown) => {
        if (error instanceof HttpError)
          send(res, error.status, { error: error.message }, error.status === 405 ? req : undefined);
        else if (error instanceof InvalidArgumentError)
          send(res, 400, { error: error.message, code: error.code });
        else send(res, 500, { error: error instanceof Error ? error.message : String(error) });
      });
  }

  private async route(req: IncomingMessage): Promise<unknown> {
    const url = parseRequestTarget(req.url);
    if (url === undefined) throw new HttpError(400, 'malformed request target');
    const path = url.pathname;
    if (path === '/stats') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Use GET /stats');
      return this.simulator.stats();
    }
    if (path === '/bybit/stats') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Use GET /bybit/stats');
      return { connections: this.simulator.bybitStats() };
    }
    if (path === '/okx/stats') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Use GET /okx/stats');
      return { connections: this.simulator.okxStats() };
    }
    const route = this.posts[path];
    if (route === undefined) {
      throw new HttpError(
        404,
        `No route ${path}; see GET /stats and POST ${Object.keys(this.posts).join(', ')}`,
      );
    }
    if (req.method !== 'POST') throw new HttpError(405, `Use POST ${path}`);
    return route(await readJson(req));
  }
}

/** The `topic` of a Bybit book fault's body, e.g. `{"topic":"orderbook.50.BTCUSDT"}`. */
function topicOf(body: unknown): string {
  const o = record('bybit book body', body, ['topic']);
  if (typeof o['topic'] !== 'string') throw new HttpError(400, 'topic must be a Bybit order-book topic');
  return o['topic'];
}

/** The `instId` of an OKX book fault's body, e.g. `{"instId":"BTC-USDT"}`. */
function instIdOf(body: unknown): string {
  const o = record('okx book body', body, ['instId']);
  if (typeof o['instId'] !== 'string') throw new HttpError(400, 'instId must be an OKX instrument id');
  return o['instId'];
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is read to its end and discarded: leaving the loop early would destroy the socket
  // before the 413 could be written.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `Request body is not valid JSON: ${(error as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, methodNotAllowed?: IncomingMessage): void {
  const text = `${JSON.stringify(body)}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  };
  if (methodNotAllowed)
    headers['allow'] = ['/stats', '/bybit/stats', '/okx/stats'].includes(
      parseRequestTarget(methodNotAllowed.url)?.pathname ?? '',
    )
      ? 'GET, HEAD'
      : 'POST';
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
