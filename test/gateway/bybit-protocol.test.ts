/**
 * The gateway serving Bybit v5 public market data under `/bybit`: a raw `ws` client speaking Bybit's
 * protocol (op-style subscribe, JSON ping, unsubscribe, error replies, limits), one upstream subscription
 * per topic whatever the number of clients, and Bybit's REST market calls forwarded with Bybit's bodies.
 * One gateway with its embedded simulator (Binance at the root, Bybit under `/bybit`) for the file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningGateway } from '../../src/gateway/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

let gateway: RunningGateway;
let simulator: Simulator;
const clients: TestClient[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'bybit'] });
  simulator = gateway.simulator!;
});

after(async () => {
  for (const client of clients) await client.close();
  await gateway.close();
});

async function bybitClient(category: 'spot' | 'linear'): Promise<TestClient> {
  const client = await openClient(`${gateway.wsUrl}/bybit/v5/public/${category}`);
  clients.push(client);
  return client;
}

type Reply = { success: boolean; ret_msg: string; conn_id: string; req_id: string; op: string };

/** Sends `request` and resolves with the reply echoing `req_id`. */
async function send(client: TestClient, request: Record<string, unknown>): Promise<Reply> {
  client.ws.send(JSON.stringify(request));
  const text = await waitFor(`reply to ${String(request['req_id'])}`, () =>
    client.messages.find(
      (m) => !m.startsWith('{"topic"') && m.includes(`"req_id":"${String(request['req_id'])}"`),
    ),
  );
  return JSON.parse(text) as Reply;
}

type Level = [string, string];
type BookFrame = { type: string; data: { u: number; b: Level[]; a: Level[] } };

/** The book after each update of a client's frames (snapshot then deltas), by update id; top 50 per side. */
function replay(frames: string[]): Map<number, { bids: Level[]; asks: Level[] }> {
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  const states = new Map<number, { bids: Level[]; asks: Level[] }>();
  for (const text of frames) {
    const frame = JSON.parse(text) as BookFrame;
    if (frame.type === 'snapshot') {
      bids.clear();
      asks.clear();
    }
    for (const [side, levels] of [
      [bids, frame.data.b],
      [asks, frame.data.a],
    ] as const) {
      for (const [price, qty] of levels) {
        if (Number(qty) === 0) side.delete(price);
        else side.set(price, qty);
      }
    }
    const sorted = (side: Map<string, string>, dir: number): Level[] =>
      [...side.entries()].sort((x, y) => dir * (Number(x[0]) - Number(y[0]))).slice(0, 50);
    states.set(frame.data.u, { bids: sorted(bids, -1), asks: sorted(asks, 1) });
  }
  return states;
}

function framesOf(client: TestClient, topic: string): string[] {
  return client.messages.filter((m) => m.startsWith(`{"topic":"${topic}"`));
}

/** Sessions of the simulator holding `topic` upstream. */
function upstreamHolders(topic: string): number {
  return simulator.bybitStats().filter((s) => s.topics.includes(topic)).length;
}

describe('Bybit WebSocket protocol through the gateway', () => {
  it('answers subscribe, ping and unsubscribe as Bybit spot does, and passes topic frames through', async () => {
    const client = await bybitClient('spot');
    const subscribed = await send(client, { op: 'subscribe', req_id: 's1', args: ['publicTrade.BTCUSDT'] });
    assert.match(subscribed.conn_id, /^client-\d+$/);
    assert.deepEqual(subscribed, {
      success: true,
      ret_msg: 'subscribe',
      conn_id: subscribed.conn_id,
      req_id: 's1',
      op: 'subscribe',
    });
    await waitFor('three trade frames', () => framesOf(client, 'publicTrade.BTCUSDT').length >= 3);
    for (const text of framesOf(client, 'publicTrade.BTCUSDT')) {
      const frame = JSON.parse(text) as { topic: string; type: string; ts: number; data: { s: string }[] };
      assert.equal(frame.type, 'snapshot');
      assert.equal(typeof frame.ts, 'number');
      assert.ok(frame.data.length >= 1 && frame.data.every((t) => t.s === 'BTCUSDT'));
    }

    const pong = await send(client, { op: 'ping', req_id: 'p1' });
    assert.deepEqual(pong, {
      success: true,
      ret_msg: 'pong',
      conn_id: subscribed.conn_id,
      req_id: 'p1',
      op: 'ping',
    });

    const unsubscribed = await send(client, {
      op: 'unsubscribe',
      req_id: 'u1',
      args: ['publicTrade.BTCUSDT'],
    });
    assert.equal(unsubscribed.success, true);
    assert.equal(unsubscribed.ret_msg, 'unsubscribe');
    const replyAt = client.messages.findIndex((m) => m.includes('"req_id":"u1"'));
    // Frames of another topic arriving prove time passed: none of the released topic may follow the reply.
    await send(client, { op: 'subscribe', req_id: 's2', args: ['publicTrade.ETHUSDT'] });
    await waitFor('ETH trades', () => framesOf(client, 'publicTrade.ETHUSDT').length >= 3);
    const late = client.messages
      .slice(replyAt + 1)
      .filter((m) => m.startsWith('{"topic":"publicTrade.BTCUSDT"'));
    assert.equal(late.length, 0);
  });

  it("answers bad requests with Bybit's error replies and keeps the connection", async () => {
    const client = await bybitClient('spot');
    const badTopic = await send(client, { op: 'subscribe', req_id: 'b1', args: ['publicTrade.btcusdt'] });
    assert.equal(badTopic.success, false);
    assert.equal(badTopic.ret_msg, 'error:handler not found,topic:publicTrade.btcusdt');
    assert.equal(badTopic.op, 'subscribe');
    const badOp = await send(client, { op: 'auth', req_id: 'b2', args: [] });
    assert.deepEqual(
      [badOp.success, badOp.ret_msg, badOp.op],
      [false, 'error:handler not found,op:auth', 'auth'],
    );
    const badArgs = await send(client, { op: 'subscribe', req_id: 'b3', args: 'tickers.BTCUSDT' });
    assert.equal(badArgs.ret_msg, 'error:args must be an array of topics');
    client.ws.send('not json');
    const notJson = await waitFor('reply to text', () =>
      client.messages.find((m) => m.includes('not valid json')),
    );
    assert.equal((JSON.parse(notJson) as Reply).success, false);

    assert.equal(client.ws.readyState, WebSocket.OPEN);

    // A second connection: five messages a second is the limit, and the first used it up.
    const other = await bybitClient('spot');
    assert.equal(
      (await send(other, { op: 'subscribe', req_id: 'b4', args: ['tickers.BTCUSDT'] })).success,
      true,
    );
    const twice = await send(other, { op: 'subscribe', req_id: 'b5', args: ['tickers.BTCUSDT'] });
    assert.equal(twice.ret_msg, 'error:already subscribed,topic:tickers.BTCUSDT');
    await waitFor('ticker frames', () => framesOf(other, 'tickers.BTCUSDT').length >= 1);
    assert.equal(other.ws.readyState, WebSocket.OPEN);
  });

  it("applies Bybit's per-request args limit on spot and not on linear", async () => {
    const intervals = ['1', '3', '5', '15', '30', '60', '120', '240', '360', '720', 'D'];
    const topics = intervals.map((i) => `kline.${i}.SOLUSDT`);
    const spot = await bybitClient('spot');
    const refused = await send(spot, { op: 'subscribe', req_id: 'l1', args: topics });
    assert.deepEqual([refused.success, refused.ret_msg], [false, 'error:args size >10']);
    assert.equal(upstreamHolders('kline.1.SOLUSDT'), 0);
    const ten = await send(spot, { op: 'subscribe', req_id: 'l2', args: topics.slice(0, 10) });
    assert.equal(ten.success, true);

    const linear = await bybitClient('linear');
    const eleven = await send(linear, { op: 'subscribe', req_id: 'l3', args: topics });
    // Linear's success names no op ("Connect": success replies).
    assert.deepEqual([eleven.success, eleven.ret_msg], [true, '']);
    await waitFor('linear candles of all 11 intervals', () =>
      topics.every((t) => framesOf(linear, t).length >= 1),
    );
    const linearSessions = simulator.bybitStats().filter((s) => s.category === 'linear');
    assert.equal(linearSessions.length, 1);
    assert.deepEqual(new Set(linearSessions[0]!.topics), new Set(topics));
  });

  it('bounds the topics of one connection by CLIENT_MAX_STREAMS, refusing the whole request', async () => {
    const small = await startTestGateway({
      useNewWsManager: true,
      venues: ['binance', 'bybit'],
      clientMaxStreams: 2,
    });
    try {
      const client = await openClient(`${small.wsUrl}/bybit/v5/public/linear`);
      clients.push(client);
      const three = ['tickers.BTCUSDT', 'tickers.ETHUSDT', 'tickers.SOLUSDT'];
      const refused = await send(client, { op: 'subscribe', req_id: 'm1', args: three });
      assert.deepEqual(
        [refused.success, refused.ret_msg],
        [false, 'error:too many streams, a connection can listen to at most 2'],
      );
      assert.deepEqual(
        small.simulator!.bybitStats().flatMap((s) => s.topics),
        [],
      );
      assert.equal(
        (await send(client, { op: 'subscribe', req_id: 'm2', args: three.slice(0, 2) })).success,
        true,
      );
      const third = await send(client, { op: 'subscribe', req_id: 'm3', args: three.slice(2) });
      assert.equal(third.success, false);
      await client.close();
    } finally {
      await small.close();
    }
  });

  it('closes a client sending more than its messages per second, as for Binance', async () => {
    const client = await bybitClient('spot');
    // CLIENT_MAX_MESSAGES_PER_SECOND defaults to 5: the sixth frame within a second is one too many.
    for (let i = 0; i < 6; i++) client.ws.send(JSON.stringify({ op: 'ping', req_id: `r${i}` }));
    const closed = await client.closed;
    assert.deepEqual(closed, { code: 1008, reason: 'Too many messages' });
    assert.equal(client.messages.filter((m) => m.includes('"ret_msg":"pong"')).length, 5);
  });

  it('shares one upstream subscription between two clients of a book, the later one starting from a snapshot', async () => {
    const topic = 'orderbook.50.ETHUSDT';
    const first = await bybitClient('spot');
    const second = await bybitClient('spot');
    assert.equal((await send(first, { op: 'subscribe', req_id: 'o1', args: [topic] })).success, true);
    await waitFor('the first book frames', () => framesOf(first, topic).length >= 3);
    assert.equal((await send(second, { op: 'subscribe', req_id: 'o2', args: [topic] })).success, true);
    await waitFor('the second client frames', () => framesOf(second, topic).length >= 5);
    assert.equal(upstreamHolders(topic), 1);

    const firstBooks = replay(framesOf(first, topic));
    const secondFrames = framesOf(second, topic).map((f) => JSON.parse(f) as BookFrame);
    // The later client starts with a snapshot, then deltas continuing it one update at a time.
    assert.equal(secondFrames[0]!.type, 'snapshot');
    for (let i = 1; i < secondFrames.length; i++) {
      assert.equal(secondFrames[i]!.type, 'delta');
      assert.equal(secondFrames[i]!.data.u, secondFrames[i - 1]!.data.u + 1);
    }
    // Its snapshot is the book the first client holds at that update, level for level.
    const at = secondFrames[0]!.data.u;
    await waitFor('the first client at the snapshot update', () => replay(framesOf(first, topic)).has(at));
    const expected = replay(framesOf(first, topic)).get(at)!;
    assert.deepEqual(secondFrames[0]!.data.b, expected.bids);
    assert.deepEqual(secondFrames[0]!.data.a, expected.asks);
    // The deltas are the upstream's frames, byte for byte.
    const firstSet = new Set(framesOf(first, topic));
    await waitFor('the first client to have the deltas the second got', () => {
      for (const f of framesOf(first, topic)) firstSet.add(f);
      return framesOf(second, topic)
        .slice(1)
        .every((f) => firstSet.has(f));
    });
    assert.ok(firstBooks.size >= 3);
    // The join was served from the kept book: the venue was not asked to send the topic afresh.
    assert.equal(framesOf(first, topic).filter((f) => f.includes('"type":"snapshot"')).length, 1);

    // Letting go and subscribing again starts from a snapshot too.
    assert.equal((await send(second, { op: 'unsubscribe', req_id: 'o3', args: [topic] })).success, true);
    const before = second.messages.length;
    assert.equal((await send(second, { op: 'subscribe', req_id: 'o4', args: [topic] })).success, true);
    const again = await waitFor('a frame after subscribing again', () =>
      second.messages.slice(before).find((m) => m.startsWith(`{"topic":"${topic}"`)),
    );
    assert.equal((JSON.parse(again) as BookFrame).type, 'snapshot');
  });

  it('refuses an upgrade on a Bybit path the gateway does not serve, with 404 and why', async () => {
    const error = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${gateway.wsUrl}/bybit/v5/public/inverse`);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      ws.on('error', () => {});
    });
    assert.match(
      error,
      /^404 .*Bybit is served at \/bybit\/v5\/public\/spot and \/bybit\/v5\/public\/linear/,
    );
  });

  it('keeps serving Binance at its own paths beside Bybit', async () => {
    const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
    clients.push(client);
    const text = await waitFor('a Binance trade', () => client.messages[0]);
    assert.equal((JSON.parse(text) as { e: string }).e, 'trade');
  });
});

describe('Bybit REST market calls through the gateway', () => {
  type Answer = { retCode: number; retMsg: string; result: Record<string, unknown>; time: number };
  const get = async (path: string) => {
    const res = await fetchRaw(`${gateway.url}/bybit/v5/market/${path}`);
    return { status: res.status, type: res.headers['content-type'], body: JSON.parse(res.body) as Answer };
  };

  it("answers instruments-info, orderbook, recent-trade and kline in Bybit's shapes", async () => {
    const instruments = await get('instruments-info?category=spot');
    assert.equal(instruments.status, 200);
    assert.equal(instruments.body.retCode, 0);
    const list = instruments.body.result['list'] as { symbol: string }[];
    assert.deepEqual(
      list.map((i) => i.symbol),
      ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT'],
    );

    const book = await get('orderbook?category=spot&symbol=BTCUSDT&limit=5');
    assert.equal(book.body.retCode, 0);
    assert.equal((book.body.result['b'] as unknown[]).length, 5);
    assert.equal((book.body.result['a'] as unknown[]).length, 5);
    assert.equal(book.body.result['s'], 'BTCUSDT');

    const trades = await get('recent-trade?category=linear&symbol=BTCUSDT&limit=7');
    assert.equal(trades.body.retCode, 0);
    assert.equal((trades.body.result['list'] as unknown[]).length, 7);

    const candles = await get('kline?category=spot&symbol=ETHUSDT&interval=1&limit=3');
    assert.equal(candles.body.retCode, 0);
    assert.equal((candles.body.result['list'] as string[][]).length, 3);
  });

  it("passes Bybit's own parameter errors through and answers other paths with a Bybit body", async () => {
    const bad = await get('orderbook?category=spot&symbol=btc-usdt');
    assert.equal(bad.status, 200);
    assert.equal(bad.body.retCode, 10001);

    const unknown = await get('tickers?category=spot');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.type, 'application/json; charset=utf-8');
    assert.equal(unknown.body.retCode, 10404);
    assert.equal(unknown.body.retMsg, 'Route not found: GET /bybit/v5/market/tickers');
    assert.deepEqual(unknown.body.result, {});
    assert.ok(Math.abs(unknown.body.time - Date.now()) < 5_000);

    const hint = await fetchRaw(`${gateway.url}/bybit/v5/public/spot`);
    assert.equal(hint.status, 426);
  });
});
