/**
 * The manager drives a venue it has never heard of through the `exchange` option: op-style subscribes
 * (`{"op":"subscribe","args":[..],"req_id":".."}`), topic envelopes and client-sent JSON pings, as Bybit
 * v5 speaks them, against a loopback server on port 0. Nothing in the socket or the registry changes.
 * It stands for a venue the project has no folder for; the real Bybit adapter is tested against the
 * simulator in bybit.test.ts.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { binance } from '../../src/exchange/binance/index.js';
import type { Exchange, FrameHandler } from '../../src/exchange/exchange.js';
import {
  ErrorCodes,
  type InvalidArgumentError,
  type StreamMessage,
  WSManager,
} from '../../src/manager/index.js';
import { resolveOptions } from '../../src/manager/resolve-options.js';
import { waitFor } from '../support/wait-for.js';

/** Reads `{"topic":..,"data":..}` events, `{"op":"pong"}` heartbeats and `{"req_id":..,"success":..}` replies. */
function readTopicFrame(frame: Buffer, handler: FrameHandler): void {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(frame.toString()) as Record<string, unknown>;
  } catch {
    handler.malformed('frame that is not JSON');
    return;
  }
  if (typeof msg['topic'] === 'string') handler.event(msg['topic'], msg['data'], frame);
  else if (msg['op'] === 'pong') handler.heartbeat?.();
  else if (typeof msg['req_id'] === 'string')
    handler.reply(
      Number(msg['req_id']),
      msg['success'] === true ? undefined : { code: msg['ret_code'], msg: msg['ret_msg'] },
    );
  else handler.malformed('unknown frame');
}

/** Binance's stream names and limits, with the control messages, envelope and heartbeats of an op-style venue. */
const opVenue: Exchange = {
  ...binance,
  name: 'opvenue',
  endpoints: { ...binance.endpoints, connectionUrl: (base) => `${base}/v5/public/spot` },
  control: {
    argsPerMessage: 10,
    encode: (method, streams, id) => JSON.stringify({ op: method, args: streams, req_id: String(id) }),
    encodeList: undefined,
  },
  frames: {
    read: readTopicFrame,
    readSingle: readTopicFrame,
    framesAreCombined: false,
    payloadOf: () => undefined,
  },
  heartbeat: {
    pongDeadlineMs: undefined,
    pingMessage: '{"op":"ping"}',
    keepAliveMs: 100,
    pongTimeoutMs: undefined,
  },
};

test('an op-style venue with topic envelopes and JSON pings fits the manager through its adapter', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const received: Record<string, unknown>[] = [];
  const paths: string[] = [];
  let pings = 0;
  server.on('connection', (socket, request) => {
    paths.push(request.url ?? '');
    socket.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { op: string; args?: string[]; req_id?: string };
      if (msg.op === 'ping') {
        pings++;
        socket.send(JSON.stringify({ op: 'pong' }));
        return;
      }
      received.push(msg);
      socket.send(JSON.stringify({ success: true, ret_msg: '', op: msg.op, req_id: msg.req_id }));
      if (msg.op === 'subscribe')
        for (const topic of msg.args ?? [])
          socket.send(JSON.stringify({ topic, data: { e: 'trade', t: 1 } }));
    });
  });
  const { port } = server.address() as AddressInfo;
  const manager = new WSManager({ url: `ws://127.0.0.1:${port}`, exchange: opVenue, idleGraceMs: 0 });
  try {
    assert.equal(manager.exchange, opVenue);
    const messages: StreamMessage[] = [];
    const stop = manager.subscribe('btcusdt@trade', { next: (_data, message) => messages.push(message!) });
    // A second stream keeps the connection open once the first is released (an empty one closes).
    manager.subscribe('ethusdt@trade', () => {});
    await waitFor('the first event', () => messages.length > 0);
    assert.deepEqual(paths, ['/v5/public/spot']);
    assert.deepEqual(received[0], {
      op: 'subscribe',
      args: ['btcusdt@trade', 'ethusdt@trade'],
      req_id: '1',
    });
    const message = messages[0]!;
    assert.deepEqual(message.data, { e: 'trade', t: 1 });
    // Consumers get the combined frame whatever the venue's envelope.
    assert.equal(message.frameBytes().toString(), '{"stream":"btcusdt@trade","data":{"e":"trade","t":1}}');
    assert.equal(message.payloadBytes().toString(), '{"e":"trade","t":1}');
    await waitFor('keep-alive pings', () => pings >= 2);
    assert.equal(manager.connections()[0]?.streams, 2);
    stop();
    await waitFor('the unsubscribe', () => received.some((m) => m['op'] === 'unsubscribe'));
    assert.deepEqual(received.at(-1), { op: 'unsubscribe', args: ['btcusdt@trade'], req_id: '2' });
    assert.equal(manager.getMetrics().errors, 0, 'no malformed frame, no rejected subscribe');
  } finally {
    await manager.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("the exchange's limits set the defaults and bounds of the options that follow them", () => {
  const small: Exchange = {
    ...binance,
    limits: {
      ...binance.limits,
      streamsPerConnection: 500,
      connectionAttempts: { limit: 50, windowMs: 60_000 },
      connectionLifetimeMs: 3_600_000,
    },
    control: { ...binance.control, argsPerMessage: 10 },
  };
  const o = resolveOptions({ url: 'ws://h', exchange: small });
  assert.equal(o.maxStreamsPerConnection, 500);
  assert.equal(o.pacing.maxStreamsPerMessage, 10);
  assert.deepEqual(o.connectionAttempts, { limit: 50, windowMs: 60_000 });
  assert.equal(o.rotateAfterMs, 3_600_000 - 30 * 60_000);
  assert.equal(o.streamUrl, 'ws://h/stream');
  assert.throws(
    () => resolveOptions({ url: 'ws://h', exchange: small, maxStreamsPerConnection: 501 }),
    (e: InvalidArgumentError) => e.code === ErrorCodes.INVALID_OPTION && /from 1 to 500/.test(e.message),
  );
  assert.throws(
    () => resolveOptions({ url: 'ws://h', exchange: {} as Exchange }),
    (e: InvalidArgumentError) => e.code === ErrorCodes.INVALID_OPTION && e.message.includes('"exchange"'),
  );
  assert.equal(resolveOptions({ url: 'ws://h' }).exchange, binance);
});
