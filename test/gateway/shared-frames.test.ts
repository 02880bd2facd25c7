/**
 * The fan-out's own frame encoding and raw writes: what a real `ws` client decodes from them, for every
 * length form of the frame header, and a turn's frames written together arriving as separate messages.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeTextFrame, rawSocketOf } from '../../src/gateway/shared-frames.js';
import { waitFor } from '../support/wait-for.js';

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
});
