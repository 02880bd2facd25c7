/**
 * The simulator's OKX v5 dialect over real sockets: `/okx/ws/v5/{public,business}` with OKX's
 * acknowledgements, error codes, text pong, request budget and 64008 notice; `/okx/api/v5/*` with OKX's
 * answer shapes, paging and per-endpoint limits, which the adapter's history reads back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RestAnswer, RestGetter } from '../../src/exchange/exchange.js';
import { okx } from '../../src/exchange/okx/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { Client } from './helpers.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

async function open(route: 'public' | 'business'): Promise<Client> {
  const client = new Client(`${sim.url}/okx/ws/v5/${route}`);
  await client.opened;
  return client;
}

type Frame = Record<string, unknown>;

/** A RestGetter over the simulator's OKX REST, as the manager's client would answer. */
const rest: RestGetter = {
  async get(path, query): Promise<RestAnswer> {
    const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const res = await fetch(`${sim.httpUrl}/okx${path}?${q}`);
    return res.ok ? { ok: true, body: await res.json() } : { ok: false, reason: 'refused' };
  },
};

test('public: an acknowledgement per arg with our id, OKX error codes, the text pong', async () => {
  const client = await open('public');
  try {
    client.send({
      id: '1',
      op: 'subscribe',
      args: [
        { channel: 'trades', instId: 'BTC-USDT' },
        { channel: 'books', instId: 'BTC-USDT' },
      ],
    });
    const acks = await waitFor('two acknowledgements', () => {
      const found = client.json().filter((f) => (f as Frame)['event'] === 'subscribe') as Frame[];
      return found.length === 2 ? found : undefined;
    });
    assert.deepEqual(
      acks.map((a) => [a['id'], a['arg']]),
      [
        ['1', { channel: 'trades', instId: 'BTC-USDT' }],
        ['1', { channel: 'books', instId: 'BTC-USDT' }],
      ],
    );
    const snapshot = await client.next<{
      action: string;
      data: { prevSeqId: number; seqId: number; checksum: number }[];
    }>((m) => m['action'] === 'snapshot');
    assert.equal(snapshot.data[0]!.prevSeqId, -1);
    assert.equal(snapshot.data[0]!.checksum, 0);
    const update = await client.next<{ data: { prevSeqId: number; seqId: number }[] }>(
      (m) => m['action'] === 'update',
    );
    assert.ok(update.data[0]!.prevSeqId >= snapshot.data[0]!.seqId);
    await client.next((m) => (m['arg'] as Frame | undefined)?.['channel'] === 'trades' && 'data' in m);

    client.send({ id: '2', op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    const wrongUrl = await client.next((m) => m['id'] === '2');
    assert.deepEqual(
      [wrongUrl['event'], wrongUrl['code']],
      ['error', '60018'],
      'candles are on business only',
    );
    client.send({ id: '3', op: 'subscribe', args: [{ channel: 'trade', instId: 'BTC-USDT' }] });
    assert.equal((await client.next((m) => m['id'] === '3'))['code'], '60018');
    client.send({ id: '4', op: 'hello' });
    assert.equal((await client.next((m) => m['id'] === '4'))['code'], '60012');
    const from = client.frames.length;
    client.send('ping');
    await waitFor('the pong', () => client.frames.slice(from).includes('pong'));
  } finally {
    client.ws.close();
  }
});

test('business: candles; the hourly request budget answers 60014; 64008 comes before the close', async () => {
  sim.setOkxRequestLimit(2, 3_600_000);
  const client = await open('business');
  try {
    client.send({ id: '1', op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    const candle = await client.next<{ data: string[][] }>((m) => Array.isArray(m['data']));
    assert.equal(candle.data[0]!.length, 9, 'ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm');
    client.send({ id: '2', op: 'unsubscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    await client.next((m) => m['id'] === '2' && m['event'] === 'unsubscribe');
    client.send({ id: '3', op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    assert.deepEqual(
      [(await client.next((m) => m['id'] === '3'))['code']],
      ['60014'],
      'the third request of the hour is refused',
    );
    assert.deepEqual(sim.okxStats().find((c) => c.route === 'business')?.requests, 3);
    assert.equal(sim.announceShutdown({ closeAfterMs: 100 }), 1);
    const notice = await client.next((m) => m['event'] === 'notice');
    assert.equal(notice['code'], '64008');
    assert.equal((await client.done).code, 1001);
  } finally {
    sim.setOkxRequestLimit(480, 3_600_000);
    client.ws.close();
  }
});

test('REST: OKX shapes, history-trades pages by id, books carry seqId, limits per endpoint', async () => {
  const instruments = (await (
    await fetch(`${sim.httpUrl}/okx/api/v5/public/instruments?instType=SPOT`)
  ).json()) as {
    code: string;
    data: { instId: string }[];
  };
  assert.equal(instruments.code, '0');
  assert.ok(instruments.data.some((i) => i.instId === 'BTC-USDT'));
  const books = (await (
    await fetch(`${sim.httpUrl}/okx/api/v5/market/books?instId=BTC-USDT&sz=5`)
  ).json()) as {
    data: { asks: string[][]; seqId: number }[];
  };
  assert.equal(books.data[0]!.asks.length, 5);
  assert.equal(books.data[0]!.asks[0]!.length, 4);
  assert.ok(Number.isSafeInteger(books.data[0]!.seqId));
  const bad = (await (await fetch(`${sim.httpUrl}/okx/api/v5/market/trades?instId=btc`)).json()) as {
    code: string;
  };
  assert.equal(bad.code, '51001');

  // Let the history grow past two pages (50 trades/s), then ask the adapter for 150 trades ending at the newest.
  const newest = await waitFor(
    '160 trades of history',
    async () => {
      const res = await fetch(`${sim.httpUrl}/okx/api/v5/market/trades?instId=SOL-USDT&limit=500`);
      const body = (await res.json()) as { data: { tradeId: string }[] };
      return body.data.length >= 160 ? body : undefined;
    },
    10_000,
    200,
  );
  const to = Number(newest.data[0]!.tradeId);
  const stream = okx.streams.parse('trades:SOL-USDT')!;
  const refill = await okx.history.fetch(rest, stream, to - 150, to);
  assert.ok(refill.ok);
  assert.equal(refill.firstId, to - 150);
  assert.deepEqual(
    refill.events.map((e) => Number((e as { data: { tradeId: string }[] }).data[0]!.tradeId)),
    Array.from({ length: 150 }, (_, k) => to - 150 + k),
  );
  assert.equal(sim.okxRestRequests('market/history-trades'), 2, 'two pages of 100');

  // history-trades allows 10 requests per 2 s per IP: the 11th within the window is refused.
  let refused: Response | undefined;
  for (let k = 0; k < 10 && refused === undefined; k++) {
    const res = await fetch(`${sim.httpUrl}/okx/api/v5/market/history-trades?instId=SOL-USDT`);
    if (res.status === 429) refused = res;
  }
  assert.ok(refused, 'refused within the window');
  assert.equal(((await refused.json()) as { code: string }).code, '50011');
  assert.equal((await fetch(`${sim.httpUrl}/okx/api/v5/market/nothing`)).status, 404);
});

test('control API: OKX stats and faults over HTTP', async () => {
  const client = await open('public');
  try {
    client.send({ id: '1', op: 'subscribe', args: [{ channel: 'books', instId: 'XRP-USDT' }] });
    await client.next((m) => m['action'] === 'snapshot');
    const post = async (path: string, body: unknown) =>
      (await fetch(`${sim.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })).json();
    const stats = (await (await fetch(`${sim.httpUrl}/okx/stats`)).json()) as {
      connections: { route: string; channels: string[] }[];
    };
    assert.deepEqual(
      stats.connections.map((c) => [c.route, c.channels]),
      [['public', ['books:XRP-USDT']]],
    );
    assert.deepEqual(await post('/faults/okx/book-restart', { instId: 'XRP-USDT' }), { restarted: true });
    const restarted = await client.next<{ data: { seqId: number }[] }>(
      (m) => m['action'] === 'snapshot' && (m['data'] as { seqId: number }[])[0]!.seqId === 1,
    );
    assert.equal(restarted.data[0]!.seqId, 1);
    assert.deepEqual(await post('/faults/okx/book-drop', { instId: 'NOPE-USDT' }), { dropped: false });
    assert.deepEqual(await post('/faults/okx/withhold-pongs', {}), { connections: 1 });
    const from = client.frames.length;
    client.send('ping');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.frames.slice(from).includes('pong'), false, 'no pong while withheld');
  } finally {
    client.ws.close();
  }
});
