/**
 * The simulator's Bybit v5 dialect over real sockets: `/bybit/v5/public/{spot,linear}` with Bybit's
 * replies, limits, JSON pong and faults; `/bybit/v5/market/*` with Bybit's answer shapes, which the
 * adapter's history reads back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bybitSpot } from '../../src/exchange/bybit/index.js';
import type { RestAnswer, RestGetter } from '../../src/exchange/exchange.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { Client } from './helpers.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

interface Reply {
  success: boolean;
  ret_msg: string;
  conn_id: string;
  req_id: string;
  op: string;
}

async function open(category: 'spot' | 'linear'): Promise<Client> {
  const client = new Client(`${sim.url}/bybit/v5/public/${category}`);
  await client.opened;
  return client;
}

/** Sends `msg` and waits for the reply carrying its req_id. */
async function request(client: Client, msg: Record<string, unknown>): Promise<Reply> {
  client.ws.send(JSON.stringify(msg));
  return waitFor(`the reply to ${String(msg['req_id'])}`, () =>
    (client.json() as Reply[]).find((f) => f.req_id === msg['req_id'] && 'success' in f),
  );
}

test('spot: Bybit replies, the 10-arg limit, unknown topics and the JSON pong', async () => {
  const client = await open('spot');
  try {
    const eleven = Array.from({ length: 11 }, (_, i) => `publicTrade.S${i}USDT`);
    const tooMany = await request(client, { op: 'subscribe', req_id: 'a', args: eleven });
    assert.deepEqual(
      [tooMany.success, tooMany.ret_msg, tooMany.op],
      [false, 'error:args size >10', 'subscribe'],
    );
    const unknown = await request(client, { op: 'subscribe', req_id: 'b', args: ['trade.BTCUSDT'] });
    assert.equal(unknown.ret_msg, 'error:handler not found,topic:trade.BTCUSDT');
    const ok = await request(client, { op: 'subscribe', req_id: 'c', args: ['publicTrade.BTCUSDT'] });
    assert.deepEqual([ok.success, ok.ret_msg], [true, 'subscribe']);
    const twice = await request(client, { op: 'subscribe', req_id: 'd', args: ['publicTrade.BTCUSDT'] });
    assert.equal(twice.ret_msg, 'error:already subscribed,topic:publicTrade.BTCUSDT');
    const pong = await request(client, { op: 'ping', req_id: 'e' });
    assert.deepEqual([pong.success, pong.ret_msg, pong.op], [true, 'pong', 'ping']);
    const event = (await waitFor('a trade', () =>
      (client.json() as { topic?: string }[]).find((f) => f.topic === 'publicTrade.BTCUSDT'),
    )) as { type: string; ts: number; data: Record<string, unknown>[] };
    assert.equal(event.type, 'snapshot');
    assert.deepEqual(Object.keys(event.data[0]!), ['T', 's', 'S', 'v', 'p', 'L', 'i', 'BT', 'seq']);
    const stats = sim.bybitStats().find((c) => c.category === 'spot')!;
    assert.deepEqual(stats.subscribeArgs, [11, 1, 1, 1]);
    assert.deepEqual(stats.topics, ['publicTrade.BTCUSDT']);
    const bye = await request(client, { op: 'unsubscribe', req_id: 'f', args: ['publicTrade.BTCUSDT'] });
    assert.deepEqual([bye.success, bye.ret_msg], [true, 'unsubscribe']);
  } finally {
    client.ws.close();
    await client.done;
  }
});

test('linear: an empty ret_msg on success, and the 21,000-character cap per connection', async () => {
  const client = await open('linear');
  try {
    const ok = await request(client, { op: 'subscribe', req_id: '1', args: ['tickers.BTCUSDT'] });
    assert.deepEqual([ok.success, ok.ret_msg], [true, '']);
    // 1,400 topics of 15 characters: 21,000 with the one above is over the cap.
    const many = Array.from({ length: 1400 }, (_, i) =>
      `tickers.T${String(i).padStart(4, '0')}USDT`.slice(0, 15),
    );
    assert.equal(many[0]!.length, 15);
    const over = await request(client, { op: 'subscribe', req_id: '2', args: [...new Set(many)] });
    assert.deepEqual([over.success, over.ret_msg], [false, 'error:args length exceeds 21000 characters']);
  } finally {
    client.ws.close();
    await client.done;
  }
});

test('an order-book subscription starts with a snapshot; deltas follow with u one higher each', async () => {
  const client = await open('spot');
  try {
    await request(client, { op: 'subscribe', req_id: '1', args: ['orderbook.50.ETHUSDT'] });
    const frames = await waitFor('a snapshot and three deltas', () => {
      const books = (
        client.json() as { topic?: string; type: string; data: { u: number; b: unknown[] } }[]
      ).filter((f) => f.topic === 'orderbook.50.ETHUSDT');
      return books.length >= 4 ? books : undefined;
    });
    assert.equal(frames[0]!.type, 'snapshot');
    assert.equal(frames[0]!.data.b.length, 50);
    const us = frames.map((f) => f.data.u);
    assert.deepEqual(
      us,
      us.map((_, k) => us[0]! + k),
    );
    assert.ok(frames.slice(1).every((f) => f.type === 'delta'));
  } finally {
    client.ws.close();
    await client.done;
  }
});

test('faults: withheld pongs, malformed frames, and an unknown path', async () => {
  const client = await open('spot');
  try {
    const id = sim.bybitStats().at(-1)!.id;
    assert.equal(sim.withholdBybitPongs({ id }), 1);
    client.ws.send('{"op":"ping","req_id":"p"}');
    assert.equal(sim.sendMalformed({ id, count: 4 }), 1);
    await waitFor('the malformed frames', () => client.frames.length >= 4);
    assert.deepEqual(client.frames.slice(0, 4), [
      '{"topic":"publicTrade.BTCUSDT","type":"snap',
      'this is not JSON',
      '{"topic":42}',
      '',
    ]);
    await waitFor('the ping counted', () => sim.bybitStats().find((c) => c.id === id)?.pings === 1);
    assert.equal(client.frames.length, 4, 'no pong');
  } finally {
    client.ws.close();
    await client.done;
  }
  const lost = new Client(`${sim.url}/bybit/v5/public/option`);
  await assert.rejects(lost.opened, /HTTP 404/);
  // Latency delays every outgoing frame, pongs included.
  const slow = await open('linear');
  try {
    sim.setLatency(150);
    const sentAt = Date.now();
    await request(slow, { op: 'ping', req_id: 'slow' });
    assert.ok(Date.now() - sentAt >= 140, `pong after ${Date.now() - sentAt} ms`);
  } finally {
    sim.setLatency(0);
    slow.ws.close();
    await slow.done;
  }
});

/** The adapter's REST access, as the manager's client would give it, over plain fetch. */
const restGetter: RestGetter = {
  async get(path, query): Promise<RestAnswer> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const res = await fetch(`${sim.httpUrl}/bybit${path}?${qs}`);
    return res.ok ? { ok: true, body: await res.json() } : { ok: false, reason: 'refused' };
  },
};

async function market(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.httpUrl}/bybit/v5/market/${path}`);
  return {
    status: res.status,
    body: res.status === 200 ? ((await res.json()) as Record<string, unknown>) : {},
  };
}

test('REST: Bybit answer shapes, parameter errors, the recent-trade window, and refusals', async () => {
  const info = await market('instruments-info?category=spot&symbol=BTCUSDT');
  assert.deepEqual(Object.keys(info.body), ['retCode', 'retMsg', 'result', 'retExtInfo', 'time']);
  const instrument = (info.body['result'] as { list: Record<string, unknown>[] }).list[0]!;
  assert.deepEqual(
    [instrument['symbol'], instrument['baseCoin'], instrument['quoteCoin']],
    ['BTCUSDT', 'BTC', 'USDT'],
  );

  const book = (await market('orderbook?category=linear&symbol=BTCUSDT&limit=10')).body['result'] as {
    b: string[][];
    a: string[][];
    u: number;
  };
  assert.equal(book.b.length, 10);
  assert.ok(Number(book.b[0]![0]) < Number(book.a[0]![0]));

  const trades = (await market('recent-trade?category=spot&symbol=BTCUSDT')).body['result'] as {
    list: { execId: string; time: string }[];
  };
  assert.equal(trades.list.length, 60, 'spot answers the latest 60');
  const tradeIds = trades.list.map((t) => Number(t.execId));
  assert.deepEqual(
    tradeIds,
    tradeIds.map((_, k) => tradeIds[0]! - k),
    'newest first',
  );
  const tooMany = await market('recent-trade?category=spot&symbol=BTCUSDT&limit=61');
  assert.deepEqual(
    [tooMany.body['retCode'], tooMany.body['retMsg']],
    [10001, 'params error: limit must be 1-60'],
  );
  assert.equal((await market('kline?category=inverse&symbol=BTCUSDT&interval=1')).body['retCode'], 10001);
  assert.equal((await market('tickers?category=spot')).status, 404);

  sim.refuseConnections(500, 429, 2);
  const refused = await fetch(`${sim.httpUrl}/bybit/v5/market/orderbook?category=spot&symbol=BTCUSDT`);
  assert.deepEqual([refused.status, refused.headers.get('retry-after')], [429, '2']);
  sim.refuseConnections(0);
});

test('REST klines (newest first) are refilled by the adapter as closing updates, oldest first', async () => {
  const now = Date.now();
  const minute = 60_000;
  const from = Math.floor(now / minute) * minute - 5 * minute;
  const to = from + 3 * minute;
  const rows = (await market(`kline?category=spot&symbol=BTCUSDT&interval=1&start=${from}&end=${to - 1}`))
    .body['result'] as { list: string[][] };
  assert.deepEqual(
    rows.list.map((r) => Number(r[0])),
    [from + 2 * minute, from + minute, from],
  );
  const refill = await bybitSpot.history.fetch(
    restGetter,
    bybitSpot.streams.parse('kline.1.BTCUSDT')!,
    from,
    to,
  );
  assert.ok(refill.ok);
  assert.equal(refill.firstId, from);
  const candles = refill.events.map(
    (e) => (e as { data: { start: number; confirm: boolean; end: number }[] }).data[0]!,
  );
  assert.deepEqual(
    candles.map((c) => [c.start, c.end, c.confirm]),
    [0, 1, 2].map((k) => [from + k * minute, from + (k + 1) * minute - 1, true]),
  );
  assert.equal(rows.list[2]![4], (refill.events[0] as { data: { close: string }[] }).data[0]!.close);
});

test('control API: Bybit stats and book faults over HTTP', async () => {
  const client = await open('spot');
  try {
    await request(client, { op: 'subscribe', req_id: '1', args: ['orderbook.50.SOLUSDT'] });
    const post = (path: string, body: unknown) =>
      fetch(`${sim.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) }).then(
        async (r) => [r.status, await r.json()] as const,
      );
    assert.deepEqual(await post('/faults/bybit/book-restart', { topic: 'orderbook.50.SOLUSDT' }), [
      200,
      { restarted: true },
    ]);
    const restart = await waitFor('the u=1 snapshot', () =>
      (client.json() as { topic?: string; type: string; data: { u: number } }[]).find(
        (f) => f.topic === 'orderbook.50.SOLUSDT' && f.data.u === 1,
      ),
    );
    assert.equal(restart.type, 'snapshot');
    assert.deepEqual(await post('/faults/bybit/book-skip', { topic: 'publicTrade.SOLUSDT' }), [
      200,
      { skipped: false },
    ]);
    assert.equal((await post('/faults/bybit/book-skip', { topic: 7 }))[0], 400);
    const stats = (await (await fetch(`${sim.httpUrl}/bybit/stats`)).json()) as {
      connections: { topics: string[] }[];
    };
    assert.ok(stats.connections.some((c) => c.topics.includes('orderbook.50.SOLUSDT')));
  } finally {
    client.ws.close();
    await client.done;
  }
});
