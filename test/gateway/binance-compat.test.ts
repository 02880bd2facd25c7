/**
 * What clients written for Binance send, over real sockets to both the gateway and the simulator:
 * request ids as unsigned 64-bit integers echoed digit for digit, and `/ws/<label>` paths (a connection
 * number instead of a stream name) opening a connection with no subscription.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningGateway } from '../../src/gateway/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { upgradeStatus } from '../support/upgrade.js';
import { waitFor } from '../support/wait-for.js';
import { startTestGateway } from './helpers.js';

/** A raw client: sends text frames as written and keeps every text frame received. */
async function rawClient(url: string): Promise<{ ws: WebSocket; frames: string[] }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const frames: string[] = [];
  ws.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  return { ws, frames };
}

/**
 * Sends `text` and resolves with the next reply frame (one that is not a market event). Paced at 4 per
 * second, under Binance's 5 incoming messages per second per connection.
 */
async function exchange(client: { ws: WebSocket; frames: string[] }, text: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 250));
  const from = client.frames.length;
  client.ws.send(text);
  return waitFor(`the reply to ${text}`, () =>
    client.frames.slice(from).find((f) => f.includes('"id":') && !f.includes('"e":')),
  );
}

const UNSIGNED_ERROR =
  '{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}';

const targets: { name: string; wsUrl: () => string }[] = [];
let gateway: RunningGateway;
let simulator: Simulator;

before(async () => {
  gateway = await startTestGateway();
  simulator = await startSimulator({ host: '127.0.0.1', port: 0, rate: 20 });
});
after(async () => {
  await gateway.close();
  await simulator.close();
});
targets.push(
  { name: 'gateway', wsUrl: () => gateway.wsUrl },
  { name: 'simulator', wsUrl: () => simulator.url },
);

for (const target of targets) {
  describe(`${target.name}: request ids`, () => {
    it('echoes unsigned 64-bit ids exactly as sent, up to 2^64-1', async () => {
      const client = await rawClient(`${target.wsUrl()}/ws`);
      try {
        for (const id of ['0', '9007199254740993', '9223372036854775807', '18446744073709551615']) {
          assert.equal(
            await exchange(client, `{"method":"LIST_SUBSCRIPTIONS","id":${id}}`),
            `{"result":[],"id":${id}}`,
          );
        }
        assert.equal(
          await exchange(client, '{"method":"SUBSCRIBE","params":["btcusdt@bad"],"id":12345678901234567890}'),
          '{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":12345678901234567890}',
        );
      } finally {
        client.ws.terminate();
      }
    });

    it('refuses ids above 2^64-1, negative or fractional, with the usual error', async () => {
      const client = await rawClient(`${target.wsUrl()}/ws`);
      try {
        for (const id of ['18446744073709551616', '-1', '1.5', '1.0', '1e3', '99999999999999999999999']) {
          assert.equal(
            await exchange(client, `{"method":"LIST_SUBSCRIPTIONS","id":${id}}`),
            UNSIGNED_ERROR,
            id,
          );
        }
      } finally {
        client.ws.terminate();
      }
    });
  });

  describe(`${target.name}: /ws/<label> paths`, () => {
    it('opens /ws/0 with no subscription; a live SUBSCRIBE then delivers', async () => {
      const client = await rawClient(`${target.wsUrl()}/ws/0`);
      try {
        assert.equal(
          await exchange(client, '{"method":"LIST_SUBSCRIPTIONS","id":1}'),
          '{"result":[],"id":1}',
        );
        assert.equal(
          await exchange(client, '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}'),
          '{"result":null,"id":2}',
        );
        const event = await waitFor('a trade after SUBSCRIBE', () =>
          client.frames.find((f) => f.includes('"e":"trade"')),
        );
        assert.equal((JSON.parse(event) as { s: string }).s, 'BTCUSDT');
      } finally {
        client.ws.terminate();
      }
    });

    it('ignores label segments next to stream names, as Binance does', async () => {
      const client = await rawClient(`${target.wsUrl()}/ws/7/btcusdt@trade`);
      try {
        assert.equal(
          await exchange(client, '{"method":"LIST_SUBSCRIPTIONS","id":1}'),
          '{"result":["btcusdt@trade"],"id":1}',
        );
      } finally {
        client.ws.terminate();
      }
    });

    it('still refuses what is really broken: a mistyped stream, too many streams, other paths', async () => {
      assert.equal(await upgradeStatus(`${target.wsUrl()}/ws/BTCUSDT@trade`), 400);
      assert.equal(await upgradeStatus(`${target.wsUrl()}/ws/btcusdt@trades`), 400);
      assert.equal(await upgradeStatus(`${target.wsUrl()}/ws/%E0%A4%A`), 400);
      assert.equal(await upgradeStatus(`${target.wsUrl()}/stream?streams=0`), 400);
      const many = Array.from({ length: 1025 }, (_, i) => `s${i}usdt@trade`).join('/');
      assert.equal(await upgradeStatus(`${target.wsUrl()}/ws/${many}`), 400);
      assert.equal(await upgradeStatus(`${target.wsUrl()}/wss/0`), 404);
      assert.equal(await upgradeStatus(`${target.wsUrl()}/ws0`), 404);
    });
  });
}
