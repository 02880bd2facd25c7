/** Test helpers shared by the simulator tests: a recording `ws` client. */
import WebSocket from 'ws';
import { waitFor } from '../support/wait-for.js';

export interface Closed {
  code: number;
  reason: string;
}

/** A real `ws` client that records every text frame and how it closed. */
export class Client {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  readonly pings: Buffer[] = [];
  closed: Closed | undefined;
  readonly opened: Promise<void>;
  readonly done: Promise<Closed>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => this.frames.push(data.toString()));
    this.ws.on('ping', (data) => this.pings.push(data));
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.done = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      });
    });
  }

  /** Parsed frames. */
  json(): unknown[] {
    return this.frames.map((f) => JSON.parse(f) as unknown);
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Waits for a frame matching `match` (a parsed-JSON predicate) and returns it parsed. */
  async next<T = Record<string, unknown>>(
    match: (msg: Record<string, unknown>) => boolean,
    timeoutMs = 5000,
    from = 0,
  ): Promise<T> {
    let found: T | undefined;
    await waitFor(
      'a matching frame',
      () => {
        for (const f of this.frames.slice(from)) {
          try {
            const m = JSON.parse(f) as Record<string, unknown>;
            if (m !== null && typeof m === 'object' && match(m)) {
              found = m as T;
              return true;
            }
          } catch {}
        }
        return false;
      },
      timeoutMs,
    );
    return found as T;
  }

  /** Sends a control request and resolves with the reply carrying its id. */
  async request(body: Record<string, unknown> | string, id: unknown): Promise<Record<string, unknown>> {
    const before = this.frames.length;
    this.send(body);
    let reply: Record<string, unknown> | undefined;
    await waitFor(`the reply to request ${JSON.stringify(id)}`, () => {
      for (const f of this.frames.slice(before)) {
        const m = JSON.parse(f) as Record<string, unknown>;
        if (('result' in m || 'error' in m) && m['id'] === id) {
          reply = m;
          return true;
        }
      }
      return false;
    });
    return reply!;
  }

  close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
    return this.done;
  }
}

/** Opens a client and waits until it is connected. */
export async function connect(url: string, options?: WebSocket.ClientOptions): Promise<Client> {
  const client = new Client(url, options);
  await client.opened;
  return client;
}
