/**
 * The HTTP server life cycle both roles share (the gateway and the ingest node): request, upgrade and
 * parser-error wiring to one HttpRouter, the two rate-limit budgets, listening with one-line errors for
 * what an operator can fix, and the close sequence.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../core/errors.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { answerClientError, serveWithoutUpgrade, wantsWebSocket } from './http-edge.js';
import type { HttpRouter, RequestCounter } from './http-router.js';

/**
 * The per-address budgets of the router: `perMinute` for requests that passed the token check, and a
 * quarter of it for those that failed it — enough for a misconfigured scraper to be seen failing,
 * small enough that guessing tokens stays slow.
 */
export function edgeLimiters(perMinute: number): {
  rateLimiter: RateLimiter;
  unauthenticatedLimiter: RateLimiter;
} {
  return {
    rateLimiter: new RateLimiter(perMinute),
    unauthenticatedLimiter: new RateLimiter(Math.ceil(perMinute / 4)),
  };
}

/**
 * Routes every plain request to `router`; a WebSocket upgrade goes to `onWebSocket` when the server has
 * one (an ingest node has none: its upgrades are answered as plain requests, like any other upgrade).
 */
export function serveHttp(
  server: Server,
  router: HttpRouter,
  requests: RequestCounter,
  onWebSocket?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): void {
  server.on('request', (req, res) => void router.handle(req, res));
  server.on('upgrade', (req, socket, head) => {
    if (onWebSocket !== undefined && wantsWebSocket(req)) onWebSocket(req, socket, head);
    else serveWithoutUpgrade(req, socket, (r, res) => void router.handle(r, res));
  });
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    const status = answerClientError(error, socket);
    if (status !== undefined) requests.inc({ route: 'other', status: String(status) });
  });
}

/**
 * Connections the kernel may hold completed before they are accepted. Node's default (511) overflows
 * when a fleet of clients reconnects at once, and every dropped handshake costs its client a SYN
 * retransmission (1 s, then 3 s, 7 s, ...); the kernel caps it at net.core.somaxconn (4096 on current
 * Linux).
 */
const LISTEN_BACKLOG = 4096;

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops accepting, ends every open connection (keep-alive ones included) and resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The one-line ConfigError for a listen failure the operator can fix, naming the variable behind it;
 * undefined for anything else (a defect, reported as such).
 */
export function listenError(
  error: unknown,
  vars: { PORT?: number; HOST?: string; SIMULATOR_PORT?: number },
): ConfigError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const [portVar, port] =
    vars.SIMULATOR_PORT !== undefined ? ['SIMULATOR_PORT', vars.SIMULATOR_PORT] : ['PORT', vars.PORT];
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(`${portVar}=${port} is not valid: the port is already in use (EADDRINUSE)`);
    case 'EACCES':
      return new ConfigError(
        `${portVar}=${port} is not valid: this process may not listen on it (EACCES; ports below 1024 need privileges)`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new ConfigError(
        `HOST=${JSON.stringify(vars.HOST)} is not valid: expected an address of this machine or a name resolving to one (${code})`,
      );
    default:
      return undefined;
  }
}
