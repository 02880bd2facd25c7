/**
 * The gateway serving OKX v5 public market data under `/okx`: a raw `ws` client speaking OKX's protocol
 * (op-style subscribe acknowledged per arg, the text ping, unsubscribe, error events, the business path
 * for candles), one upstream subscription per channel whatever the number of clients, a client joining a
 * shared `books` channel starting from a snapshot, and OKX's REST market calls forwarded with OKX's
 * bodies. One gateway with its embedded simulator (Binance at the root, OKX under `/okx`) for the file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/core/errors.js';
import type { ControlTarget } from '../../src/exchange/dialect.js';
import { createOkxDialect } from '../../src/exchange/okx/dialect.js';
import type { RunningGateway } from '../../src/gateway/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

let gateway: RunningGateway;
let simulator: Simulator;
const clients: TestClient[] = [];

before(async () => {
  gateway = await startTestGateway({ useNewWsManager: true, venues: ['binance', 'okx'] });
  simulator = gateway.simulator!;
});

after(async () => {
  for (const client of clients) await client.close();
  await gateway.close();
});

async function okxClient(path: 'public' | 'business'): Promise<TestClient> {
  const client = await openClient(`${gateway.wsUrl}/okx/ws/v5/${path}`);
  clients.push(client);
  return client;
}

type Reply = {
  id?: string;
  event: string;
  arg?: { channel: string; instId: string };
  code?: string;
  msg?: string;
  connId: string;
};

const isPush = (m: string) => m.startsWith('{"arg"');
const repliesTo = (client: TestClient, id: string): Reply[] =>
  client.messages
    .filter((m) => !isPush(m) && m.startsWith('{') && m.includes(`"id":"${id}"`))
    .map((m) => JSON.parse(m) as Reply);

/** Sends `request` and resolves with the `count` replies echoing its `id`. */
async function send(client: TestClient, request: Record<string, unknown>, count = 1): Promise<Reply[]> {
  client.ws.send(JSON.stringify(request));
  const id = String(request['id']);
  return waitFor(`${count} replies to ${id}`, () => {
    const replies = repliesTo(client, id);
    return replies.length >= count ? replies : undefined;
  });
}

function pushesOf(client: TestClient, channel: string, instId: string): string[] {
  const prefix = `{"arg":{"channel":"${channel}","instId":"${instId}"}`;
  return client.messages.filter((m) => m.startsWith(prefix));
}

/** Sessions of the simulator holding `stream` (`channel:instId`) upstream. */
function upstreamHolders(stream: string): number {
  return simulator.okxStats().filter((s) => s.channels.includes(stream)).length;
}

type Level = [string, string, string, string];
type BookPush = {
  action: 'snapshot' | 'update';
  data: { asks: Level[]; bids: Level[]; seqId: number; prevSeqId: number; checksum: number }[];
};

/** The book after each push of a client's `books` frames, by seqId; top 50 price/size per side. */
function replay(frames: string[]): Map<number, { bids: string[][]; asks: string[][] }> {
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  const states = new Map<number, { bids: string[][]; asks: string[][] }>();
  for (const text of frames) {
    const push = JSON.parse(text) as BookPush;
    const data = push.data[0]!;
    if (push.action === 'snapshot') {
      bids.clear();
      asks.clear();
    }
    for (const [side, levels] of [
      [bids, data.bids],
      [asks, data.asks],
    ] as const) {
      for (const [price, size] of levels) {
        if (Number(size) === 0) side.delete(price);
        else side.set(price, size);
      }
    }
    const sorted = (side: Map<string, string>, dir: number) =>
      [...side.entries()].sort((x, y) => dir * (Number(x[0]) - Number(y[0]))).slice(0, 50);
    states.set(data.seqId, { bids: sorted(bids, -1), asks: sorted(asks, 1) });
  }
  return states;
}

describe('OKX WebSocket protocol through the gateway', () => {
  it('acknowledges each arg of a subscribe, answers the text ping, and passes pushes through', async () => {
    const client = await okxClient('public');
    const args = [
      { channel: 'trades', instId: 'BTC-USDT' },
      { channel: 'tickers', instId: 'ETH-USDT' },
    ];
    const acks = await send(client, { id: 's1', op: 'subscribe', args }, 2);
    assert.match(acks[0]!.connId, /^client-\d+$/);
    assert.deepEqual(
      acks,
      args.map((arg) => ({ id: 's1', event: 'subscribe', arg, connId: acks[0]!.connId })),
    );
    await waitFor('three trade pushes', () => pushesOf(client, 'trades', 'BTC-USDT').length >= 3);
    await waitFor('a ticker push', () => pushesOf(client, 'tickers', 'ETH-USDT').length >= 1);
    const ids: number[] = [];
    for (const text of pushesOf(client, 'trades', 'BTC-USDT')) {
      const push = JSON.parse(text) as { data: { instId: string; tradeId: string; px: string }[] };
      for (const t of push.data) {
        assert.equal(t.instId, 'BTC-USDT');
        assert.ok(Number(t.px) > 0);
        ids.push(Number(t.tradeId));
      }
    }
    // One shared upstream stream, passed on unchanged: trade ids follow one another.
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);

    const before = client.messages.length;
    client.ws.send('ping');
    await waitFor('pong', () => client.messages.slice(before).includes('pong'));

    const unsubscribed = await send(client, { id: 'u1', op: 'unsubscribe', args: [args[0]] });
    assert.deepEqual(unsubscribed, [
      { id: 'u1', event: 'unsubscribe', arg: args[0], connId: acks[0]!.connId },
    ]);
    const replyAt = client.messages.findIndex((m) => m.includes('"id":"u1"'));
    // Pushes of the channel still held prove time passed: none of the released one may follow the reply.
    const tickers = pushesOf(client, 'tickers', 'ETH-USDT').length;
    await waitFor('two more tickers', () => pushesOf(client, 'tickers', 'ETH-USDT').length >= tickers + 2);
    const late = client.messages
      .slice(replyAt + 1)
      .filter((m) => m.startsWith('{"arg":{"channel":"trades","instId":"BTC-USDT"}'));
    assert.equal(late.length, 0);
  });

  it('serves candles on the business path only, as OKX routes them', async () => {
    const business = await okxClient('business');
    const candle = { channel: 'candle1m', instId: 'BTC-USDT' };
    assert.equal(
      (await send(business, { id: 'c1', op: 'subscribe', args: [candle] }))[0]!.event,
      'subscribe',
    );
    await waitFor('a candle push', () => pushesOf(business, 'candle1m', 'BTC-USDT').length >= 1);
    const push = JSON.parse(pushesOf(business, 'candle1m', 'BTC-USDT')[0]!) as { data: string[][] };
    const [ts, open, high, low, close] = push.data[0]!.map(Number);
    assert.equal(ts! % 60_000, 0);
    assert.ok(low! <= open! && open! <= high! && low! <= close! && close! <= high!);
    assert.deepEqual(
      simulator
        .okxStats()
        .filter((s) => s.channels.includes('candle1m:BTC-USDT'))
        .map((s) => s.route),
      ['business'],
    );

    const wrongPath = await send(business, {
      id: 'c2',
      op: 'subscribe',
      args: [{ channel: 'trades', instId: 'BTC-USDT' }],
    });
    assert.deepEqual(
      [wrongPath[0]!.event, wrongPath[0]!.code, wrongPath[0]!.msg],
      ['error', '60018', "Wrong URL or channel:trades,instId:BTC-USDT doesn't exist"],
    );
    const publicClient = await okxClient('public');
    const candleOnPublic = await send(publicClient, { id: 'c3', op: 'subscribe', args: [candle] });
    assert.equal(candleOnPublic[0]!.code, '60018');
  });

  it("answers bad requests with OKX's error events and keeps the connection", async () => {
    const client = await okxClient('public');
    // One bad arg refuses the whole request: the good one beside it is not subscribed.
    const badInst = await send(client, {
      id: 'b1',
      op: 'subscribe',
      args: [
        { channel: 'trades', instId: 'SOL-USDT' },
        { channel: 'trades', instId: 'btc-usdt' },
      ],
    });
    assert.deepEqual(badInst, [
      {
        id: 'b1',
        event: 'error',
        code: '60018',
        msg: "Wrong URL or channel:trades,instId:btc-usdt doesn't exist",
        connId: badInst[0]!.connId,
      },
    ]);
    assert.equal(upstreamHolders('trades:SOL-USDT'), 0);
    const vip = await send(client, {
      id: 'b2',
      op: 'subscribe',
      args: [{ channel: 'books-l2-tbt', instId: 'BTC-USDT' }],
    });
    assert.equal(vip[0]!.code, '60018');
    const badOp = await send(client, { id: 'b3', op: 'login', args: [] });
    assert.deepEqual([badOp[0]!.event, badOp[0]!.code], ['error', '60012']);
    assert.match(badOp[0]!.msg!, /^Illegal request: /);
    const noArgs = await send(client, { id: 'b4', op: 'subscribe', args: [] });
    assert.equal(noArgs[0]!.code, '60012');
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    // A second connection: the first spent most of its messages of this second.
    const other = await okxClient('public');
    other.ws.send('not json');
    const notJson = await waitFor('reply to text', () =>
      other.messages.find((m) => m.includes('Illegal request: not json')),
    );
    assert.equal((JSON.parse(notJson) as Reply).event, 'error');
    assert.equal(other.ws.readyState, WebSocket.OPEN);
  });

  it('bounds the channels of one connection by CLIENT_MAX_STREAMS, refusing the whole request', async () => {
    const small = await startTestGateway({
      useNewWsManager: true,
      venues: ['binance', 'okx'],
      clientMaxStreams: 2,
    });
    try {
      const client = await openClient(`${small.wsUrl}/okx/ws/v5/public`);
      clients.push(client);
      const three = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'].map((instId) => ({ channel: 'tickers', instId }));
      const refused = await send(client, { id: 'm1', op: 'subscribe', args: three });
      assert.deepEqual(
        [refused[0]!.event, refused[0]!.code, refused[0]!.msg],
        ['error', '60012', 'Illegal request: too many streams, a connection can listen to at most 2'],
      );
      assert.deepEqual(
        small.simulator!.okxStats().flatMap((s) => s.channels),
        [],
      );
      assert.equal((await send(client, { id: 'm2', op: 'subscribe', args: three.slice(0, 2) }, 2)).length, 2);
      await client.close();
    } finally {
      await small.close();
    }
  });

  it('closes a client sending more than its messages per second', async () => {
    const client = await okxClient('public');
    // OKX's figure for one connection (10 per second) bounds CLIENT_MAX_MESSAGES_PER_SECOND (default 5).
    for (let i = 0; i < 6; i++) client.ws.send('ping');
    const closed = await client.closed;
    assert.deepEqual(closed, { code: 1008, reason: 'Too many messages' });
    assert.equal(client.messages.filter((m) => m === 'pong').length, 5);
  });

  it('shares one upstream subscription between two clients of a book, the later one starting from a snapshot', async () => {
    const first = await okxClient('public');
    const second = await okxClient('public');
    const arg = { channel: 'books', instId: 'ETH-USDT' };
    await send(first, { id: 'o1', op: 'subscribe', args: [arg] });
    await waitFor('the first book pushes', () => pushesOf(first, 'books', 'ETH-USDT').length >= 3);
    await send(second, { id: 'o2', op: 'subscribe', args: [arg] });
    await waitFor('the second client pushes', () => pushesOf(second, 'books', 'ETH-USDT').length >= 5);
    assert.equal(upstreamHolders('books:ETH-USDT'), 1);

    const secondPushes = pushesOf(second, 'books', 'ETH-USDT').map((f) => JSON.parse(f) as BookPush);
    // The later client starts with a snapshot, then updates each continuing the one before (ccxt's rule).
    assert.equal(secondPushes[0]!.action, 'snapshot');
    assert.equal(secondPushes[0]!.data[0]!.prevSeqId, -1);
    for (let i = 1; i < secondPushes.length; i++) {
      assert.equal(secondPushes[i]!.action, 'update');
      assert.equal(secondPushes[i]!.data[0]!.prevSeqId, secondPushes[i - 1]!.data[0]!.seqId);
    }
    // Its snapshot is the book the first client holds at that seqId, level for level.
    const at = secondPushes[0]!.data[0]!.seqId;
    await waitFor('the first client at the snapshot seqId', () =>
      replay(pushesOf(first, 'books', 'ETH-USDT')).has(at),
    );
    const expected = replay(pushesOf(first, 'books', 'ETH-USDT')).get(at)!;
    const top = (levels: Level[]) => levels.slice(0, 50).map(([p, s]) => [p, s]);
    assert.deepEqual(top(secondPushes[0]!.data[0]!.bids), expected.bids);
    assert.deepEqual(top(secondPushes[0]!.data[0]!.asks), expected.asks);
    // The join was served from the kept book: the venue was not asked for the channel afresh.
    assert.equal(
      pushesOf(first, 'books', 'ETH-USDT').filter((f) => f.includes('"action":"snapshot"')).length,
      1,
    );

    // Asking for a held book again starts it over from a snapshot (what a client that lost step does).
    const beforeAgain = second.messages.length;
    await send(second, { id: 'o3', op: 'subscribe', args: [arg] });
    const again = await waitFor('a push after subscribing again', () =>
      second.messages.slice(beforeAgain).find((m) => m.startsWith('{"arg":{"channel":"books"')),
    );
    assert.equal((JSON.parse(again) as BookPush).action, 'snapshot');
    assert.equal(upstreamHolders('books:ETH-USDT'), 1);
  });

  it('gives the first client of a book a snapshot from REST when OKX pushes none', async () => {
    // OKX announced that `books` stops pushing its initial snapshot: the kept book, seeded from
    // /api/v5/market/books, then gives the client one.
    simulator.setOkxBookSnapshots(false);
    try {
      const client = await okxClient('public');
      const restBefore = simulator.okxRestRequests('market/books');
      await send(client, { id: 'n1', op: 'subscribe', args: [{ channel: 'books', instId: 'BNB-USDT' }] });
      await waitFor('book pushes', () => pushesOf(client, 'books', 'BNB-USDT').length >= 4);
      const pushes = pushesOf(client, 'books', 'BNB-USDT').map((f) => JSON.parse(f) as BookPush);
      assert.equal(pushes[0]!.action, 'snapshot');
      assert.deepEqual([pushes[0]!.data[0]!.prevSeqId, pushes[0]!.data[0]!.checksum], [-1, 0]);
      assert.ok(pushes[0]!.data[0]!.bids.length >= 10);
      for (let i = 1; i < pushes.length; i++) {
        assert.equal(pushes[i]!.action, 'update');
        assert.equal(pushes[i]!.data[0]!.prevSeqId, pushes[i - 1]!.data[0]!.seqId);
      }
      assert.ok(simulator.okxRestRequests('market/books') > restBefore);
    } finally {
      simulator.setOkxBookSnapshots(true);
    }
  });

  it('refuses an upgrade on an OKX path the gateway does not serve, with 404 and why', async () => {
    const error = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${gateway.wsUrl}/okx/ws/v5/private`);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      ws.on('error', () => {});
    });
    assert.match(error, /^404 .*OKX is served at \/okx\/ws\/v5\/public and \/okx\/ws\/v5\/business/);
  });

  it('keeps serving Binance at its own paths beside OKX', async () => {
    const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
    clients.push(client);
    const text = await waitFor('a Binance trade', () => client.messages[0]);
    assert.equal((JSON.parse(text) as { e: string }).e, 'trade');
  });
});

describe("OKX's per-connection request budget", () => {
  it('refuses subscribe requests past the budget with 60014 until the window ends', () => {
    let now = 0;
    const dialect = createOkxDialect({ requests: { limit: 3, windowMs: 1_000 }, now: () => now });
    const held: string[] = [];
    const target = (): ControlTarget => ({
      getCombined: () => false,
      setCombined: () => {},
      subscribe: (streams) => {
        held.push(...streams);
        return undefined;
      },
      unsubscribe: () => {},
      list: () => [...held],
      connectionId: 'c',
      path: '/okx/ws/v5/public',
    });
    const one = target();
    const request = (id: string) =>
      JSON.stringify({ id, op: 'subscribe', args: [{ channel: 'trades', instId: 'BTC-USDT' }] });
    const events = (answer: string | readonly string[]) =>
      (typeof answer === 'string' ? [answer] : answer).map((a) => (JSON.parse(a) as Reply).event);
    for (const id of ['1', '2', '3'])
      assert.deepEqual(events(dialect.answerControl(request(id), one)), ['subscribe']);
    const fourth = dialect.answerControl(request('4'), one) as string;
    assert.deepEqual(JSON.parse(fourth), {
      id: '4',
      event: 'error',
      code: '60014',
      msg: 'Requests too frequent.',
      connId: 'c',
    });
    // Pings are not requests; another connection has a budget of its own.
    assert.equal(dialect.answerControl('ping', one), 'pong');
    assert.deepEqual(events(dialect.answerControl(request('5'), target())), ['subscribe']);
    now = 1_000;
    assert.deepEqual(events(dialect.answerControl(request('6'), one)), ['subscribe']);
  });
});

describe('OKX REST market calls through the gateway', () => {
  type Answer = { code: string; msg: string; data: unknown[] };
  const get = async (path: string) => {
    const res = await fetchRaw(`${gateway.url}/okx/api/v5/${path}`);
    return { status: res.status, type: res.headers['content-type'], body: JSON.parse(res.body) as Answer };
  };

  it("answers instruments, books, trades, history-trades and candles in OKX's shapes", async () => {
    const instruments = await get('public/instruments?instType=SPOT');
    assert.equal(instruments.status, 200);
    assert.equal(instruments.body.code, '0');
    assert.deepEqual(
      (instruments.body.data as { instId: string }[]).map((i) => i.instId),
      ['BTC-USDT', 'ETH-USDT', 'BNB-USDT', 'SOL-USDT', 'XRP-USDT'],
    );
    const books = await get('market/books?instId=BTC-USDT&sz=5');
    assert.equal(books.body.code, '0');
    const book = books.body.data[0] as { asks: string[][]; bids: string[][]; seqId: number };
    assert.equal(book.asks.length, 5);
    assert.equal(book.bids.length, 5);
    assert.ok(Number(book.bids[0]![0]) < Number(book.asks[0]![0]));
    assert.equal(typeof book.seqId, 'number');

    const trades = await get('market/trades?instId=BTC-USDT&limit=7');
    assert.equal(trades.body.code, '0');
    assert.equal(trades.body.data.length, 7);
    const newest = Number((trades.body.data[0] as { tradeId: string }).tradeId);
    const history = await get(`market/history-trades?instId=BTC-USDT&type=1&after=${newest}&limit=4`);
    assert.deepEqual(
      (history.body.data as { tradeId: string }[]).map((t) => Number(t.tradeId)),
      [newest - 1, newest - 2, newest - 3, newest - 4],
    );
    const candles = await get('market/candles?instId=ETH-USDT&bar=1m&limit=3');
    assert.equal(candles.body.code, '0');
    assert.equal(candles.body.data.length, 3);
  });

  it("passes OKX's own parameter errors through and answers other paths with an OKX body", async () => {
    const bad = await get('market/books?instId=btc-usdt');
    assert.equal(bad.status, 200);
    assert.equal(bad.body.code, '51001');

    const unknown = await get('market/tickers?instType=SPOT');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.type, 'application/json');
    assert.deepEqual(unknown.body, {
      code: '50404',
      msg: 'Route not found: GET /okx/api/v5/market/tickers',
      data: [],
    });

    const hint = await fetchRaw(`${gateway.url}/okx/ws/v5/public`);
    assert.equal(hint.status, 426);
  });
});

describe('VENUES and OKX_URL', () => {
  const errorOf = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      return error.message;
    }
    return assert.fail('expected a ConfigError');
  };

  it('serve OKX beside Binance when listed, on the simulator or on OKX_URL', () => {
    const local = loadConfig({ VENUES: 'binance,okx', USE_NEW_WS_MANAGER: 'true' });
    assert.deepEqual([local.venues, local.okxUrl], [['binance', 'okx'], undefined]);
    const real = loadConfig({
      VENUES: 'binance,bybit,okx',
      USE_NEW_WS_MANAGER: 'true',
      UPSTREAM_URL: 'wss://stream.binance.com:9443',
      BYBIT_URL: 'wss://stream.bybit.com',
      OKX_URL: 'wss://ws.okx.com:8443/',
    });
    assert.equal(real.okxUrl, 'wss://ws.okx.com:8443');
  });

  it('refuse settings that cannot work, each with one line naming what to set', () => {
    assert.equal(
      errorOf({ VENUES: 'binance,okx' }),
      'VENUES includes okx, which only WSManager serves: expected USE_NEW_WS_MANAGER=true',
    );
    assert.equal(
      errorOf({ VENUES: 'binance,okx', USE_NEW_WS_MANAGER: 'true', UPSTREAM_URL: 'ws://127.0.0.1:9' }),
      'VENUES includes okx and UPSTREAM_URL is set but OKX_URL is not: expected an OKX WebSocket base such as wss://ws.okx.com:8443',
    );
    // Clustered mode carries OKX: an ingest node reads it, a gateway serves it from NATS.
    assert.deepEqual(loadConfig({ VENUES: 'binance,okx', NATS_URL: 'nats://127.0.0.1:4222' }).venues, [
      'binance',
      'okx',
    ]);
    assert.equal(
      errorOf({ OKX_URL: 'wss://ws.okx.com:8443' }),
      'OKX_URL is set but VENUES does not include okx: expected VENUES=binance,okx',
    );
    assert.equal(
      errorOf({ VENUES: 'binance,okx', USE_NEW_WS_MANAGER: 'true', OKX_URL: 'https://www.okx.com' }),
      'OKX_URL="https://www.okx.com" is not valid: expected a ws:// or wss:// URL such as wss://ws.okx.com:8443',
    );
  });
});
