/** Test helpers for the gateway: polling, real ws clients and plain HTTP(S) requests. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import type { GatewayConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/log.js';
import { type GatewayRuntimeOptions, type RunningGateway, startGateway } from '../../src/gateway/index.js';
import { waitFor } from '../support/wait-for.js';

export interface TestClient {
  readonly ws: WebSocket;
  readonly messages: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends a control message and resolves with the reply carrying the same id. */
  control(method: string, params: unknown[] | undefined, id: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Opens a real ws client and records every text frame. */
export async function openClient(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  const messages: string[] = [];
  ws.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  return {
    ws,
    messages,
    closed,
    async control(method, params, id) {
      ws.send(JSON.stringify(params === undefined ? { method, id } : { method, params, id }));
      const text = await waitFor(`reply to ${method} ${id}`, () =>
        messages.find((m) => m.includes(`"id":${id}`) && !m.includes('"stream"')),
      );
      return JSON.parse(text) as Record<string, unknown>;
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      ws.terminate();
    },
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A plain HTTP(S) request on a fresh connection. */
export function fetchRaw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; ca?: Buffer; localAddress?: string } = {},
): Promise<HttpResult> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ca: options.ca,
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Starts a gateway on 127.0.0.1:0 with a silent logger and test-friendly defaults. */
export function startTestGateway(
  config: Partial<GatewayConfig> = {},
  runtime: GatewayRuntimeOptions = {},
): Promise<RunningGateway> {
  return startGateway(
    { host: '127.0.0.1', port: 0, simulatorRate: 20, ...config },
    { logger: silentLogger(), ...runtime },
  );
}
