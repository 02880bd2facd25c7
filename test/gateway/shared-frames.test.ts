/**
 * The fan-out's own frame encoding and raw writes: what a real `ws` client decodes from them, for every
 * length form of the frame header, and a turn's frames written together arriving as separate messages;
 * a turn's shared frames and the runs clients join from them; and clients of one gateway on different
 * streams and forms each getting their own events, in order, none missing.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { StreamFrame } from '../../src/core/stream-source.js';
import { encodeTextFrame, rawSocketOf, SharedFrames, TurnWrites } from '../../src/gateway/shared-frames.js';
import { waitFor } from '../support/wait-for.js';
import { openClient, startTestGateway, type TestClient } from './helpers.js';

/** A stream event as the fan-out reads it: its combined frame and its payload. */
function event(stream: string, id: number): StreamFrame {
  const payload = Buffer.from(`{"e":"trade","t":${id}}`);
  return {
    stream,
    frameBytes: () => Buffer.from(`{"stream":"${stream}","data":${payload}}`),
    payloadBytes: () => payload,
  };
}

/** The trade ids of one stream among a client's messages, combined (`{"stream":..}`) or raw. */
function tradeIds(messages: readonly string[], stream: string | undefined): number[] {
  const ids: number[] = [];
  for (const text of messages) {
    const parsed = JSON.parse(text) as { stream?: string; data?: { t: number }; t?: number };
    if (stream === undefined) ids.push(parsed.t!);
    else if (parsed.stream === stream) ids.push(parsed.data!.t);
  }
  return ids;
}

/** Whether every id is the one before it plus one. */
function contiguous(ids: readonly number[]): boolean {
  return ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1);
}

/** A ws server's first connection, and a ws client of it collecting the text messages it receives. */
async function connected(): Promise<{
  server: WebSocket;
  received: string[];
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const { port } = wss.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  const received: string[] = [];
  client.on('message', (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, false);
    received.push(data.toString('utf8'));
  });
  await new Promise((resolve) => client.once('open', resolve));
  const server = await accepted;
  return {
    server,
    received,
    close: async () => {
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

describe('shared frames', () => {
  it('writes text frames a ws client decodes, at each header length (7-bit, 16-bit and 64-bit)', async () => {
    const { server, received, close } = await connected();
    try {
      const lengths = [0, 1, 125, 126, 65_535, 65_536, 70_000];
      const payloads = lengths.map((n, i) => `{"i":${i}}`.padEnd(n, 'x').slice(0, n));
      const socket = rawSocketOf(server);
      assert.ok(socket, 'an open ws server socket with nothing held back is written to directly');
      for (const payload of payloads) socket.write(encodeTextFrame(Buffer.from(payload)));
      await waitFor('every frame', () => received.length === payloads.length);
      assert.deepEqual(
        received.map((m) => m.length),
        lengths,
      );
      assert.deepEqual(received, payloads);
    } finally {
      await close();
    }
  });

  it('keeps frames written together apart, and in order with ws.send', async () => {
    const { server, received, close } = await connected();
    try {
      const socket = rawSocketOf(server)!;
      const frames = ['{"a":1}', '{"b":2}', 'é'].map((t) => encodeTextFrame(Buffer.from(t)));
      socket.write(Buffer.concat(frames));
      server.send('{"result":null,"id":1}');
      socket.write(frames[0]!);
      await waitFor('five messages', () => received.length === 5);
      assert.deepEqual(received, ['{"a":1}', '{"b":2}', 'é', '{"result":null,"id":1}', '{"a":1}']);
    } finally {
      await close();
    }
  });

  it('gives no socket once the connection is closing', async () => {
    const { server, close } = await connected();
    try {
      server.close(1000);
      assert.equal(rawSocketOf(server), undefined);
    } finally {
      await close();
    }
  });

  it("numbers a turn's frames once each, joins a run once for all its askers, and lets go after the writes", async () => {
    const frames = new SharedFrames();
    const a = event('a@trade', 1);
    const b = event('a@trade', 2);
    const combinedA = frames.of(a, true);
    assert.equal(frames.index, 0);
    assert.equal(frames.of(a, true), combinedA, 'one encoding per message and form');
    assert.equal(frames.index, 0);
    frames.of(a, false);
    assert.equal(frames.index, 1, 'the payload form is a frame of its own');
    const combinedB = frames.of(b, true);
    assert.equal(frames.index, 2);
    assert.equal(frames.at(2), combinedB);

    const bytes = combinedA.length + frames.at(1).length;
    const joined = frames.joined(0, 2, bytes);
    assert.deepEqual(joined, Buffer.concat([combinedA, frames.at(1)]));
    assert.equal(frames.joined(0, 2, bytes), joined, 'joined once, then shared');
    const other = frames.joined(1, 2, frames.at(1).length + combinedB.length);
    assert.deepEqual(other, Buffer.concat([frames.at(1), combinedB]), 'another run, joined for itself');

    const written: string[] = [];
    const writes = new TurnWrites(frames);
    writes.add({ writeTurn: () => written.push('first') });
    writes.add({ writeTurn: () => written.push('second') });
    await new Promise((resolve) => process.nextTick(resolve));
    assert.deepEqual(written, ['first', 'second']);
    assert.notEqual(frames.of(b, true), combinedB, 'a new turn encodes afresh');
    assert.equal(frames.index, 0, "the new turn's frames are numbered from 0");
  });

  it('gives each client of a gateway its own events in order: same stream, two streams, raw form', async () => {
    // 2,000 events per second per stream: several arrive in one upstream read, so turns carry runs.
    const gateway = await startTestGateway({ useNewWsManager: true, simulatorRate: 2000 });
    const clients: TestClient[] = [];
    try {
      const btc = `${gateway.wsUrl}/stream?streams=btcusdt@trade`;
      clients.push(await openClient(btc), await openClient(btc));
      clients.push(await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`));
      clients.push(await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`));
      await waitFor('400 messages on every client', () => clients.every((c) => c.messages.length >= 400));
      for (const c of clients) c.ws.pause();
      const [first, second, both, raw] = clients.map((c) => [...c.messages]) as [
        string[],
        string[],
        string[],
        string[],
      ];
      const firstIds = tradeIds(first, 'btcusdt@trade');
      assert.equal(firstIds.length, first.length, 'a one-stream client gets that stream only');
      for (const [name, ids] of [
        ['first', firstIds],
        ['second', tradeIds(second, 'btcusdt@trade')],
        ['two-stream btc', tradeIds(both, 'btcusdt@trade')],
        ['two-stream eth', tradeIds(both, 'ethusdt@trade')],
        ['raw', tradeIds(raw, undefined)],
      ] as const) {
        assert.ok(ids.length > 0, `${name}: events`);
        assert.ok(
          contiguous(ids),
          `${name}: trade ids contiguous, in order (${ids.slice(0, 5).join(',')}...)`,
        );
      }
      const bothIds = tradeIds(both, 'btcusdt@trade').length + tradeIds(both, 'ethusdt@trade').length;
      assert.equal(bothIds, both.length, 'the two-stream client gets its two streams only');
      // The same event is the same bytes in both forms: the raw payload is the combined frame's data.
      const rawById = new Map(raw.map((text) => [(JSON.parse(text) as { t: number }).t, text]));
      for (const text of first) {
        const id = (JSON.parse(text) as { data: { t: number } }).data.t;
        const payload = rawById.get(id);
        if (payload !== undefined) assert.equal(text, `{"stream":"btcusdt@trade","data":${payload}}`);
      }
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });
});
