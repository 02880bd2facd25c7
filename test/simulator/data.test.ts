import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { KLINE_FIELDS, PAYLOAD_FIELDS } from '../support/payload-fields.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

type Msg = Record<string, unknown>;
const DECIMAL = /^-?\d+\.\d{8}$/;

describe('simulator data', () => {
  it('sends the same events with the same ids to every subscriber of a stream', async () => {
    const sim = await startSimulator({ rate: 100 });
    try {
      const a = await connect(`${sim.url}/ws/btcusdt@trade`);
      const b = await connect(`${sim.url}/stream?streams=btcusdt@trade`);
      await waitFor('20 frames on each connection', () => a.frames.length >= 20 && b.frames.length >= 20);
      const byId = new Map((a.json() as Msg[]).map((m) => [m['t'], JSON.stringify(m)]));
      const fromB = (b.json() as Array<{ data: Msg }>).map((m) => m.data);
      const shared = fromB.filter((m) => byId.has(m['t']));
      assert.ok(shared.length >= 15, `shared events: ${shared.length}`);
      for (const m of shared) assert.equal(JSON.stringify(m), byId.get(m['t']));
      const ids = (a.json() as Msg[]).map((m) => m['t'] as number);
      for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await sim.close();
    }
  });

  it('keeps a feed advancing while nobody listens, so a returning client sees a gap', async () => {
    const clock = aheadClock();
    const sim = await startSimulator({ rate: 100, clock: clock.now });
    try {
      const first = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      await waitFor('3 frames', () => first.frames.length >= 3);
      await first.close();
      const lastSeen = Math.max(...(first.json() as Msg[]).map((m) => m['a'] as number));
      clock.advance(300);
      const second = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      const next = await second.next((m) => m['e'] === 'aggTrade');
      assert.ok((next['a'] as number) > lastSeen + 10, `gap expected: ${lastSeen} -> ${next['a']}`);
      await second.close();
    } finally {
      await sim.close();
    }
  });

  it('chains depth diffs without gaps (U = previous u + 1) and keeps bookTicker u increasing', async () => {
    const sim = await startSimulator({ rate: 100 });
    try {
      const c = await connect(`${sim.url}/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker`);
      await waitFor('30 frames', () => c.frames.length >= 30);
      const all = c.json() as Array<{ stream: string; data: Msg }>;
      const depth = all.filter((m) => m.stream === 'ethusdt@depth@100ms').map((m) => m.data);
      for (let i = 1; i < depth.length; i++) assert.equal(depth[i]!['U'], (depth[i - 1]!['u'] as number) + 1);
      for (const d of depth) assert.ok((d['u'] as number) >= (d['U'] as number));
      const book = all.filter((m) => m.stream === 'ethusdt@bookTicker').map((m) => m.data['u'] as number);
      for (let i = 1; i < book.length; i++) assert.ok(book[i]! > book[i - 1]!);
      await c.close();
    } finally {
      await sim.close();
    }
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const sim = await startSimulator({ rate: 100, seed });
      try {
        const c = await connect(`${sim.url}/ws/solusdt@trade`);
        await waitFor('5 frames', () => c.frames.length >= 5);
        await c.close();
        return (c.json() as Msg[]).slice(0, 5).map((m) => `${m['t']} ${m['p']} ${m['q']} ${m['m']}`);
      } finally {
        await sim.close();
      }
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('uses Binance field names and decimal strings for every stream kind', async () => {
    const sim = await startSimulator({ rate: 50 });
    const expected: Record<string, string[]> = {
      ...PAYLOAD_FIELDS,
      'btcusdt@depth@100ms': PAYLOAD_FIELDS['btcusdt@depth']!,
      'btcusdt@depth5@100ms': PAYLOAD_FIELDS['btcusdt@depth10']!,
      'btcusdt@ticker_4h': PAYLOAD_FIELDS['btcusdt@ticker_1h']!,
    };
    try {
      const names = [...Object.keys(expected), '!miniTicker@arr'];
      const c = await connect(`${sim.url}/stream?streams=${names.join('/')}`);
      for (const [stream, keys] of Object.entries(expected)) {
        const { data } = await c.next<{ data: Msg }>((m) => m['stream'] === stream);
        assert.deepEqual(Object.keys(data), keys, stream);
      }
      const data = async (stream: string) =>
        (await c.next<{ data: Msg }>((m) => m['stream'] === stream)).data;
      const kline = (await data('btcusdt@kline_1m'))['k'] as Msg;
      assert.deepEqual(Object.keys(kline), KLINE_FIELDS);
      assert.equal(kline['i'], '1m');
      assert.equal((kline['T'] as number) - (kline['t'] as number), 59_999);
      for (const k of ['o', 'c', 'h', 'l', 'v', 'q', 'V', 'Q']) assert.match(kline[k] as string, DECIMAL, k);
      const partial = await data('btcusdt@depth10');
      assert.equal((partial['bids'] as unknown[]).length, 10);
      for (const [p, q] of partial['asks'] as string[][]) {
        assert.match(p!, DECIMAL);
        assert.match(q!, DECIMAL);
      }
      const ticker = await data('btcusdt@ticker');
      assert.match(ticker['P'] as string, /^-?\d+\.\d{2}$/);
      for (const k of ['p', 'w', 'x', 'c', 'Q', 'b', 'B', 'a', 'A', 'o', 'h', 'l', 'v', 'q']) {
        assert.match(ticker[k] as string, DECIMAL, k);
      }
      assert.equal((await data('btcusdt@ticker_4h'))['e'], '4hTicker');
      assert.equal((await data('btcusdt@avgPrice'))['i'], '5m');
      const arr = (await c.next<{ data: Msg[] }>((m) => m['stream'] === '!miniTicker@arr')).data;
      assert.ok(Array.isArray(arr) && arr.length >= 1);
      assert.equal(arr[0]!['e'], '24hrMiniTicker');
      assert.ok(
        arr.every((t) => ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT'].includes(t['s'] as string)),
      );
      await c.close();
    } finally {
      await sim.close();
    }
  });

  it("pushes as fast as the socket drains at rate 'max', and stops while the client does not read", async () => {
    const sim = await startSimulator({ rate: 'max' });
    try {
      const c = await connect(`${sim.url}/ws/btcusdt@trade`);
      await waitFor('2000 frames', () => c.frames.length >= 2000, 10_000);
      const ids = (c.json() as Msg[]).map((m) => m['t'] as number);
      for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);
      c.ws.pause();
      // Once the kernel buffers fill, the feed must stop producing instead of queueing in memory.
      let previous = -1;
      await waitFor(
        'the send count to settle',
        () => {
          const now = sim.stats().messagesSent;
          const stable = now === previous;
          previous = now;
          return stable;
        },
        20_000,
      );
      const connection = sim.stats().connections[0]!;
      assert.ok(connection.messagesSent > 2000);
      c.ws.resume();
      await c.close();
    } finally {
      await sim.close();
    }
  });
});
