/**
 * One upstream socket against a minimal local server: its states move only along `SOCKET_TRANSITIONS`,
 * and each way it can end is reported as its cause code, worded as the logs show it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket as WsPeer } from 'ws';
import { IllegalTransitionError, type StateMachine } from '../../src/core/state-machine.js';
import { binance } from '../../src/exchange/binance/index.js';
import {
  SOCKET_TRANSITIONS,
  type SocketEnd,
  type SocketState,
  socketCauseText,
  UpstreamSocket,
} from '../../src/manager/upstream-socket.js';
import { assertTable } from '../core/transition-table.js';
import { withDeadline } from './helpers.js';

let serial = 0;

/** Opens a socket to `url`; `opened()` resolves once it is open, `ended` with its end. */
function openSocket(url: string): {
  socket: UpstreamSocket;
  opened: () => Promise<void>;
  ended: Promise<SocketEnd>;
} {
  let onOpen!: () => void;
  let onEnd!: (end: SocketEnd) => void;
  const opened = new Promise<void>((resolve) => (onOpen = resolve));
  const ended = new Promise<SocketEnd>((resolve) => (onEnd = resolve));
  const ignore = () => {};
  const socket = new UpstreamSocket(
    {
      url,
      wanted: new Set(),
      exchange: binance,
      connection: 'c1',
      serial: ++serial,
      pacingMessages: 5,
      pacingWindowMs: 1000,
      maxStreamsPerMessage: 200,
      stallTimeoutMs: 50_000,
      connectTimeoutMs: 5000,
      now: Date.now,
    },
    {
      onOpen,
      onFrame: ignore,
      mayLeaveUnparsed: () => false,
      readsData: () => true,
      onUnparsedFrame: ignore,
      onReject: ignore,
      onShutdownNotice: ignore,
      onMalformed: ignore,
      onClose: (_s, end) => onEnd(end),
    },
  );
  return { socket, opened: () => withDeadline('open', opened), ended: withDeadline('end', ended) };
}

function lifecycleOf(socket: UpstreamSocket): StateMachine<SocketState, unknown> {
  return Reflect.get(socket, 'lifecycle') as StateMachine<SocketState, unknown>;
}

describe('UpstreamSocket states', () => {
  it('every move outside the table throws, every move in it is made', () => {
    assertTable(SOCKET_TRANSITIONS);
  });

  it('has no way out of closed, and a way into closed from every other state', () => {
    for (const [from, moves] of Object.entries(SOCKET_TRANSITIONS)) {
      if (from === 'closed') assert.deepEqual(moves, []);
      else assert.ok(moves.includes('closed'), from);
    }
  });
});

describe('UpstreamSocket against a server', () => {
  let server: WebSocketServer;
  let url: string;
  const peers: WsPeer[] = [];

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (ws) => peers.push(ws));
  });

  after(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses an illegal move on a live socket, leaving its state as it was', async () => {
    const { socket, opened, ended } = openSocket(url);
    await opened();
    assert.equal(socket.state, 'open');
    assert.throws(
      () => lifecycleOf(socket).transition('connecting', { code: 'opened' }),
      (err: unknown) =>
        err instanceof IllegalTransitionError &&
        err.message === 'WSManager connection c1 socket s1: illegal state change open -> connecting (opened)',
    );
    assert.equal(socket.state, 'open');
    socket.close('destroyed');
    await ended;
    assert.throws(() => lifecycleOf(socket).transition('open', { code: 'opened' }), IllegalTransitionError);
    assert.equal(socket.state, 'closed');
  });

  it('a close asked for goes open -> closing -> closed, sends its text and ends expected', async () => {
    const { socket, opened, ended } = openSocket(url);
    await opened();
    const peer = peers.at(-1)!;
    const frame = once(peer, 'close') as Promise<[number, Buffer]>;
    socket.close('rotated');
    assert.equal(socket.state, 'closing');
    const [code, reason] = await withDeadline('close frame', frame);
    assert.equal(code, 1000);
    assert.equal(reason.toString(), 'rotated');
    const end = await ended;
    assert.equal(socket.state, 'closed');
    assert.deepEqual(end.cause, { code: 'requested', request: 'rotated' });
    assert.equal(end.expected, true);
    assert.equal(end.reason, undefined);
    assert.equal(socketCauseText(end.cause), 'rotated');
  });

  it('a close asked for while connecting never opens', async () => {
    const { socket, ended } = openSocket(url);
    socket.close('no_streams');
    assert.equal(socket.state, 'closing');
    const end = await ended;
    assert.equal(socket.state, 'closed');
    assert.equal(socket.openedAt, undefined);
    assert.equal(end.expected, true);
    assert.equal(socketCauseText(end.cause), 'no streams left');
  });

  it('a server close is server_closed with its code and reason', async () => {
    const { socket, opened, ended } = openSocket(url);
    await opened();
    peers.at(-1)!.close(4000, 'bye');
    const end = await ended;
    assert.equal(socket.state, 'closed');
    assert.deepEqual(end.cause, { code: 'server_closed', closeCode: 4000, reason: 'bye' });
    assert.equal(end.reason, 'unexpected_close');
    assert.equal(socketCauseText(end.cause), 'server closed with 4000 bye');
  });
});

describe('UpstreamSocket ends before the open', () => {
  it('a refused upgrade is refused, with its status and Retry-After', async () => {
    const http = createServer((_req, res) => res.writeHead(429, { 'Retry-After': '7' }).end());
    http.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const { socket, ended } = openSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
      const end = await ended;
      assert.equal(socket.state, 'closed');
      assert.equal(end.cause.code, 'refused');
      assert.equal(end.reason, 'connect_failed');
      assert.deepEqual(end.refusal, { status: 429, retryAfter: '7' });
      assert.equal(socketCauseText(end.cause), 'upgrade refused with HTTP 429 (Retry-After: 7)');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('a failed connect is error, with the error message', async () => {
    // A port just released: nothing listens there.
    const http = createServer().listen(0, '127.0.0.1');
    await once(http, 'listening');
    const port = (http.address() as AddressInfo).port;
    await new Promise((resolve) => http.close(resolve));
    const { socket, ended } = openSocket(`ws://127.0.0.1:${port}`);
    const end = await ended;
    assert.equal(socket.state, 'closed');
    assert.equal(end.cause.code, 'error');
    assert.equal(end.reason, 'connect_failed');
    assert.match(socketCauseText(end.cause), /ECONNREFUSED/);
  });
});

describe('socketCauseText', () => {
  it('words each cause as the logs and stream errors showed it', () => {
    assert.equal(socketCauseText({ code: 'requested', request: 'retries_exhausted' }), 'retries exhausted');
    assert.equal(socketCauseText({ code: 'requested', request: 'destroyed' }), 'manager destroyed');
    assert.equal(
      socketCauseText({ code: 'refused', refusal: { status: 503, retryAfter: undefined } }),
      'upgrade refused with HTTP 503',
    );
    assert.equal(socketCauseText({ code: 'error', message: 'read ECONNRESET' }), 'read ECONNRESET');
    const detail = 'no traffic for 50012 ms (stall timeout 50000 ms)';
    assert.equal(socketCauseText({ code: 'stalled', detail, silentSince: 1 }), detail);
    assert.equal(
      socketCauseText({ code: 'server_closed', closeCode: 1006, reason: '' }),
      'server closed with 1006',
    );
  });
});
