/**
 * The connection's state machine on its own: a fake socket (only the `ConnectionSocket` interface, no
 * network) is opened, ended and replaced by hand, and every state change must be one of `TRANSITIONS`.
 * The simulator tests (reconnect, liveness) cover the same paths over real sockets. Timers are node's
 * mocked ones: backoff delays and the rotation deadline would otherwise be waited for in real time.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/core/log.js';
import type { StateMachine } from '../../src/core/state-machine.js';
import { UpstreamAdmission } from '../../src/limits/upstream-admission.js';
import { resolveOptions } from '../../src/manager/resolve-options.js';
import {
  CLOSE_REASONS,
  type ConnectionHooks,
  type ConnectionReason,
  type ConnectionState,
  reasonText,
  TRANSITIONS,
  UpstreamConnection,
} from '../../src/manager/upstream-connection.js';
import {
  type CloseRequest,
  type ConnectionSocket,
  type SocketCause,
  type SocketEnd,
  type SocketEvents,
  type SocketState,
  socketCauseText,
  type UpstreamSocketOptions,
} from '../../src/manager/upstream-socket.js';
import { ManagerMetrics } from '../../src/metrics/manager-metrics.js';
import { assertTable } from '../core/transition-table.js';

class FakeSocket implements ConnectionSocket {
  state: SocketState = 'connecting';
  openedAt: number | undefined;
  readonly subscribed = new Set<string>();
  closedWith: CloseRequest | undefined;
  private readonly closed: Array<() => void> = [];

  constructor(
    private readonly options: UpstreamSocketOptions,
    private readonly events: SocketEvents,
  ) {}

  get id(): string {
    return `s${this.options.serial}`;
  }

  get serial(): number {
    return this.options.serial;
  }

  get connection(): string {
    return this.options.connection;
  }

  subscribe(streams: Iterable<string>): void {
    for (const s of streams) this.subscribed.add(s);
  }

  unsubscribe(streams: Iterable<string>): void {
    for (const s of streams) this.subscribed.delete(s);
  }

  open(): void {
    this.state = 'open';
    this.openedAt = Date.now();
    this.events.onOpen(this);
  }

  /** The socket ends: on this side's request (`close`) or not (`drop`). */
  end(cause: SocketCause): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const expected = cause.code === 'requested';
    const end: SocketEnd = {
      code: expected ? 1000 : 1006,
      cause,
      expected,
      reason: expected ? undefined : this.openedAt === undefined ? 'connect_failed' : 'unexpected_close',
    };
    this.events.onClose(this, end);
    for (const callback of this.closed.splice(0)) callback();
  }

  drop(): void {
    this.end({ code: 'server_closed', closeCode: 1006, reason: '' });
  }

  shutdownNotice(): void {
    this.events.onShutdownNotice(this);
  }

  close(request: CloseRequest): void {
    this.closedWith = request;
    this.end({ code: 'requested', request });
  }

  onceClosed(callback: () => void): void {
    if (this.state === 'closed') callback();
    else this.closed.push(callback);
  }
}

interface Rig {
  connection: UpstreamConnection;
  sockets: FakeSocket[];
  states: ConnectionState[];
  reasons: ConnectionReason['code'][];
  exhausted: string[];
}

function rig(maxAttempts = 2, attemptLimit = 300): Rig {
  const options = resolveOptions({
    url: 'ws://127.0.0.1:9',
    retry: { baseDelayMs: 100, maxDelayMs: 100, maxAttempts, healthyAfterMs: 60_000 },
    rotationTimeoutMs: 5000,
    random: () => 0.5,
  });
  const metrics = new ManagerMetrics(new Registry(), 'WSManager');
  const logger = silentLogger();
  const admission = new UpstreamAdmission({
    limit: attemptLimit,
    windowMs: 300_000,
    name: 'WSManager',
    logger,
    now: Date.now,
    meter: metrics,
  });
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const reasons: ConnectionReason['code'][] = [];
  const exhausted: string[] = [];
  const ignore = () => {};
  const hooks: ConnectionHooks = {
    onFrame: ignore,
    mayLeaveUnparsed: () => false,
    readsData: () => true,
    onUnparsedFrame: ignore,
    onStateChange: (_c, change) => {
      assert.ok(
        TRANSITIONS[change.from].includes(change.to),
        `${change.from} -> ${change.to} is in the table`,
      );
      states.push(change.to);
      reasons.push(change.reason.code);
    },
    onSocketOpen: ignore,
    onSocketClosed: ignore,
    onRejected: ignore,
    onExhausted: (_c, cause) => exhausted.push(socketCauseText(cause)),
    onMalformed: ignore,
  };
  let serial = 0;
  const connection = new UpstreamConnection(
    'c1',
    { options, admission, metrics, logger, hooks, nextSerial: () => ++serial },
    (socketOptions, events) => {
      const socket = new FakeSocket(socketOptions, events);
      sockets.push(socket);
      return socket;
    },
  );
  return { connection, sockets, states, reasons, exhausted };
}

describe('UpstreamConnection states', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('rotates make-before-break: the old socket closes once every stream switched', () => {
    const { connection, sockets, states } = rig();
    connection.add('btcusdt@trade');
    sockets[0]!.open();
    assert.equal(connection.state, 'open');
    sockets[0]!.shutdownNotice();
    assert.equal(connection.state, 'rotating');
    assert.deepEqual([...sockets[1]!.subscribed], ['btcusdt@trade'], 'the new socket carries the streams');
    sockets[1]!.open();
    assert.equal(connection.state, 'rotating', 'the old socket serves until the stream switched');
    connection.streamSwitched('btcusdt@trade', sockets[1]!);
    assert.equal(connection.state, 'open');
    assert.equal(connection.socket, sockets[1]);
    assert.equal(sockets[0]!.closedWith, 'rotated');
    assert.deepEqual(states, ['open', 'rotating', 'open']);
  });

  it('ends a rotation at its deadline when a stream never switched', () => {
    const { connection, sockets } = rig();
    connection.add('btcusdt@trade');
    sockets[0]!.open();
    connection.rotate({ code: 'shutdown_notice' });
    sockets[1]!.open();
    mock.timers.tick(5000);
    assert.equal(connection.state, 'open');
    assert.equal(connection.socket, sockets[1]);
  });

  it('goes rotating -> connecting when the old socket ends before the new one opened', () => {
    const { connection, sockets, states } = rig();
    connection.add('btcusdt@trade');
    sockets[0]!.open();
    connection.rotate({ code: 'shutdown_notice' });
    sockets[0]!.drop();
    assert.equal(connection.state, 'connecting');
    assert.equal(connection.socket, sockets[1], 'the rotation socket is the current one');
    sockets[1]!.open();
    assert.deepEqual(states, ['open', 'rotating', 'connecting', 'open']);
  });

  it('a failed rotation socket leaves the old one serving and retries the rotation later', () => {
    const { connection, sockets, states } = rig();
    sockets[0]!.open();
    connection.rotate({ code: 'shutdown_notice' });
    sockets[1]!.drop();
    assert.equal(connection.state, 'open');
    assert.equal(connection.socket, sockets[0]);
    mock.timers.tick(100);
    assert.equal(connection.state, 'rotating', 'the rotation is tried again after its backoff');
    assert.equal(sockets.length, 3);
    assert.deepEqual(states, ['open', 'rotating', 'open', 'rotating']);
  });

  it('goes rotating -> waiting when the old socket ends while the rotation waits for the attempt budget', () => {
    const { connection, sockets, states } = rig(2, 1);
    sockets[0]!.open();
    connection.rotate({ code: 'shutdown_notice' });
    assert.equal(sockets.length, 1, 'the budget (1 attempt) leaves the rotation waiting');
    assert.equal(connection.state, 'rotating');
    sockets[0]!.drop();
    assert.equal(connection.state, 'waiting');
    assert.deepEqual(states, ['open', 'rotating', 'waiting']);
  });

  it('reconnects through waiting, and fails when the retries are spent', () => {
    const { connection, sockets, states, exhausted } = rig(2);
    sockets[0]!.open();
    sockets[0]!.drop();
    assert.equal(connection.state, 'waiting');
    mock.timers.tick(100);
    assert.equal(connection.state, 'connecting');
    sockets[1]!.drop();
    mock.timers.tick(100);
    sockets[2]!.drop();
    assert.equal(connection.state, 'failed');
    assert.deepEqual(exhausted, ['server closed with 1006'], 'the last cause, in words');
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 3, 'a failed connection opens nothing more');
    void connection.close('no_streams');
    assert.deepEqual(states, ['open', 'waiting', 'connecting', 'waiting', 'connecting', 'failed', 'closed']);
  });

  it('closing stops every timer: no socket is opened after close', () => {
    const { connection, sockets } = rig();
    sockets[0]!.open();
    sockets[0]!.drop();
    void connection.close('no_streams');
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 1);
    assert.equal(connection.state, 'closed');
  });

  it('refuses a move outside the table', () => {
    const { connection } = rig();
    void connection.close('no_streams');
    const lifecycle = Reflect.get(connection, 'lifecycle') as StateMachine<ConnectionState, ConnectionReason>;
    assert.throws(
      () => lifecycle.transition('open', { code: 'socket_open', socket: 's9' }),
      /WSManager connection c1: illegal state change closed -> open \(socket s9 open\)/,
    );
    assert.equal(connection.state, 'closed');
  });

  it('every move outside the table throws, every move in it is made', () => {
    assertTable(TRANSITIONS);
  });

  it('logs each reason with the wording it had as free text', () => {
    assert.equal(
      reasonText({
        code: 'retry_wait',
        attempt: 2,
        delayMs: 150,
        cause: { code: 'server_closed', closeCode: 1006, reason: '' },
      }),
      'retry 2 in 150 ms after: server closed with 1006',
    );
    assert.equal(
      reasonText({
        code: 'retries_exhausted',
        attempts: 5,
        cause: { code: 'refused', refusal: { status: 429, retryAfter: '30' } },
      }),
      'retries exhausted after 5 attempts; last cause: upgrade refused with HTTP 429 (Retry-After: 30)',
    );
    assert.equal(
      reasonText({ code: 'rotated', socket: 's2', when: 'switched' }),
      'rotated to s2: every stream delivers on the new socket',
    );
    assert.equal(reasonText({ code: 'close', reason: 'no_streams' }), 'no streams left');
    assert.equal(CLOSE_REASONS.destroyed, 'manager destroyed');
  });

  it('tells the hooks the reason as a code', () => {
    const { connection, sockets, reasons } = rig();
    sockets[0]!.open();
    sockets[0]!.drop();
    void connection.close('destroyed');
    assert.deepEqual(reasons, ['socket_open', 'retry_wait', 'close']);
  });

  it('the table has a way out of every state but closed, and into closed from all', () => {
    for (const [from, moves] of Object.entries(TRANSITIONS)) {
      if (from === 'closed') assert.deepEqual(moves, []);
      else assert.ok(moves.includes('closed'), from);
    }
  });
});
