import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

type Msg = Record<string, unknown>;
type Json = Record<string, unknown>;

async function get(base: string, path: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, headers: res.headers, body: JSON.parse(await res.text()) as unknown };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('simulator REST API', () => {
  it('answers ping, time and exchangeInfo, charging Binance weights in X-MBX-USED-WEIGHT-1M', async () => {
    const sim = await startSimulator({ symbols: ['btcusdt', 'ethbtc'] });
    try {
      const ping = await get(sim.httpUrl, '/api/v3/ping');
      assert.equal(ping.status, 200);
      assert.deepEqual(ping.body, {});
      assert.equal(ping.headers.get('x-mbx-used-weight-1m'), '1');
      const before = Date.now();
      const time = await get(sim.httpUrl, '/api/v3/time');
      assert.ok(((time.body as Json)['serverTime'] as number) >= before);
      assert.equal(time.headers.get('x-mbx-used-weight-1m'), '2');
      const info = await get(sim.httpUrl, '/api/v3/exchangeInfo');
      assert.equal(info.headers.get('x-mbx-used-weight-1m'), '22');
      const body = info.body as { rateLimits: Json[]; symbols: Json[] };
      assert.deepEqual(body.rateLimits[0], {
        rateLimitType: 'REQUEST_WEIGHT',
        interval: 'MINUTE',
        intervalNum: 1,
        limit: 6000,
      });
      assert.deepEqual(
        body.symbols.map((s) => [s['symbol'], s['baseAsset'], s['quoteAsset'], s['status']]),
        [
          ['BTCUSDT', 'BTC', 'USDT', 'TRADING'],
          ['ETHBTC', 'ETH', 'BTC', 'TRADING'],
        ],
      );
      const filters = body.symbols[0]?.['filters'] as Json[];
      assert.equal(filters.find((f) => f['filterType'] === 'PRICE_FILTER')?.['tickSize'], '0.01000000');
      const depth = await get(sim.httpUrl, '/api/v3/depth?symbol=BTCUSDT&limit=1000');
      assert.equal(depth.headers.get('x-mbx-used-weight-1m'), String(22 + 50));
    } finally {
      await sim.close();
    }
  });

  it('answers bad requests with Binance error bodies', async () => {
    const sim = await startSimulator();
    try {
      const cases: Array<[string, number, Json]> = [
        [
          '/api/v3/aggTrades',
          400,
          { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." },
        ],
        [
          '/api/v3/depth?symbol=btcusdt',
          400,
          {
            code: -1100,
            msg: "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
          },
        ],
        ['/api/v3/trades?symbol=DOGEUSDT', 400, { code: -1121, msg: 'Invalid symbol.' }],
        ['/api/v3/klines?symbol=BTCUSDT&interval=7m', 400, { code: -1120, msg: 'Invalid interval.' }],
        [
          '/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=2',
          400,
          { code: -1128, msg: 'Combination of optional parameters invalid.' },
        ],
        [
          '/api/v3/aggTrades?symbol=BTCUSDT&fromId=abc',
          400,
          {
            code: -1100,
            msg: "Illegal characters found in parameter 'fromId'; legal range is '^[0-9]{1,20}$'.",
          },
        ],
        [
          '/api/v3/historicalTrades?symbol=BTCUSDT',
          404,
          { code: -5000, msg: 'Path /api/v3/historicalTrades, Method GET is invalid' },
        ],
      ];
      for (const [path, status, body] of cases) {
        const answer = await get(sim.httpUrl, path);
        assert.equal(answer.status, status, path);
        assert.deepEqual(answer.body, body, path);
      }
    } finally {
      await sim.close();
    }
  });

  it('serves the aggTrades the stream carried, and the ones a dropped client missed, with contiguous ids', async () => {
    const clock = aheadClock();
    const sim = await startSimulator({ rate: 100, clock: clock.now });
    try {
      const client = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      await waitFor('20 frames', () => client.frames.length >= 20);
      await client.close();
      const seen = client.json() as Msg[];
      const first = seen[0]?.['a'] as number;
      const last = seen.at(-1)?.['a'] as number;
      const replay = (
        await get(sim.httpUrl, `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${first}&limit=${seen.length}`)
      ).body as Json[];
      assert.deepEqual(
        replay,
        seen.map(({ e: _e, E: _E, s: _s, ...row }) => row),
      );

      clock.advance(300); // nobody listens: the feed goes on, the client misses ~30 events
      const back = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      const resumed = await back.next((m) => m['e'] === 'aggTrade');
      await back.close();
      const missed = (
        await get(sim.httpUrl, `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${last + 1}&limit=1000`)
      ).body as Json[];
      for (const [i, row] of missed.entries()) assert.equal(row['a'], last + 1 + i);
      const hole = (resumed['a'] as number) - last - 1;
      assert.ok(hole >= 15, `missed: ${hole}`);
      const { e: _e, E: _E, s: _s, ...resumedRow } = resumed;
      assert.deepEqual(missed[hole], resumedRow, 'the history runs up to the event the stream resumed with');

      const times = missed.map((r) => r['T'] as number);
      const window = (
        await get(sim.httpUrl, `/api/v3/aggTrades?symbol=BTCUSDT&startTime=${times[5]}&endTime=${times[10]}`)
      ).body as Json[];
      assert.ok(window.length >= 6);
      assert.ok(window.every((r) => (r['T'] as number) >= times[5]! && (r['T'] as number) <= times[10]!));
      const latest = (await get(sim.httpUrl, '/api/v3/aggTrades?symbol=BTCUSDT&limit=3')).body as Json[];
      assert.equal(latest.length, 3);
      assert.equal(latest[2]?.['a'], (latest[0]?.['a'] as number) + 2);
    } finally {
      await sim.close();
    }
  });

  it('has recent history on a fresh simulator for every listed symbol, ids running on into the streams', async () => {
    const sim = await startSimulator({ rate: 20, symbols: ['btcusdt', 'ethbtc'] });
    try {
      const startedAt = Date.now();
      for (const symbol of ['BTCUSDT', 'ETHBTC']) {
        const agg = (await get(sim.httpUrl, `/api/v3/aggTrades?symbol=${symbol}&limit=20`)).body as Json[];
        assert.equal(agg.length, 20, `${symbol} aggTrades on the first request`);
        for (const [i, row] of agg.entries()) assert.equal(row['a'], (agg[0]?.['a'] as number) + i);
        const times = agg.map((r) => r['T'] as number);
        assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!));
        // 1000 events at rate 20 span 50 s before the first request.
        assert.ok((times[0] as number) >= startedAt - 51_000 && (times.at(-1) as number) <= Date.now());
        const trades = (await get(sim.httpUrl, `/api/v3/trades?symbol=${symbol}&limit=20`)).body as Json[];
        assert.equal(trades.length, 20, `${symbol} trades on the first request`);
        const klines = (await get(sim.httpUrl, `/api/v3/klines?symbol=${symbol}&interval=1m&limit=30`))
          .body as number[][];
        assert.equal(klines.length, 30, `${symbol} klines on the first request`);
        for (let i = 1; i < klines.length; i++) assert.equal(klines[i]![0], klines[i - 1]![0]! + 60_000);
      }

      const last = (await get(sim.httpUrl, '/api/v3/aggTrades?symbol=BTCUSDT&limit=1')).body as Json[];
      const lastId = last[0]?.['a'] as number;
      const client = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      const first = await client.next((m) => m['e'] === 'aggTrade');
      await client.close();
      const between = (await get(sim.httpUrl, `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${lastId}&limit=1000`))
        .body as Json[];
      for (const [i, row] of between.entries()) assert.equal(row['a'], lastId + i);
      assert.ok(
        between.some((row) => row['a'] === first['a']),
        `the stream's first id ${first['a']} follows the history's ${lastId}`,
      );
    } finally {
      await sim.close();
    }
  });

  it('keeps a bounded history: a fromId older than it starts at the oldest event kept', async () => {
    const sim = await startSimulator({ rate: 1000, rest: { historySize: 50 } });
    try {
      const client = await connect(`${sim.url}/ws/btcusdt@aggTrade`);
      await waitFor('120 frames', () => client.frames.length >= 120);
      const firstSeen = (client.json() as Msg[])[0]?.['a'] as number;
      const rows = (await get(sim.httpUrl, `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${firstSeen}&limit=1000`))
        .body as Json[];
      assert.ok(rows.length <= 50 && rows.length > 0);
      assert.ok((rows[0]?.['a'] as number) > firstSeen, 'the oldest events were forgotten');
      await client.close();
    } finally {
      await sim.close();
    }
  });

  it('serves recent trades matching the trade stream', async () => {
    const sim = await startSimulator({ rate: 100 });
    try {
      const client = await connect(`${sim.url}/ws/ethusdt@trade`);
      await waitFor('5 frames', () => client.frames.length >= 5);
      const rows = (await get(sim.httpUrl, '/api/v3/trades?symbol=ETHUSDT&limit=1000')).body as Json[];
      const byId = new Map(rows.map((r) => [r['id'], r]));
      for (const t of (client.json() as Msg[]).slice(0, 5)) {
        const row = byId.get(t['t']);
        assert.ok(row, `trade ${t['t']} in /trades`);
        assert.equal(row['price'], t['p']);
        assert.equal(row['qty'], t['q']);
        assert.equal(row['time'], t['T']);
        assert.equal(row['isBuyerMaker'], t['m']);
        assert.match(row['quoteQty'] as string, /^\d+\.\d{8}$/);
      }
      await client.close();
    } finally {
      await sim.close();
    }
  });

  it('serves the klines of the kline stream', async () => {
    const sim = await startSimulator({ rate: 50 });
    try {
      const client = await connect(`${sim.url}/ws/btcusdt@kline_1s`);
      const closed = await client.next((m) => (m['k'] as Json)['x'] === true, 5000);
      const k = closed['k'] as Json;
      const rows = (await get(sim.httpUrl, '/api/v3/klines?symbol=BTCUSDT&interval=1s')).body as unknown[][];
      const row = rows.find((r) => r[0] === k['t']);
      assert.ok(row, 'the closed candle is served');
      assert.deepEqual(row, [
        k['t'],
        k['o'],
        k['h'],
        k['l'],
        k['c'],
        k['v'],
        k['T'],
        k['q'],
        k['n'],
        k['V'],
        k['Q'],
        '0',
      ]);
      for (let i = 1; i < rows.length; i++)
        assert.ok((rows[i]?.[0] as number) > (rows[i - 1]?.[0] as number));
      await client.close();
    } finally {
      await sim.close();
    }
  });

  it('gives a depth snapshot consistent with the diff stream: a book kept from both equals the next snapshot', async () => {
    const sim = await startSimulator({ rate: 200 });
    try {
      const client = await connect(`${sim.url}/ws/btcusdt@depth@100ms`);
      await waitFor('5 frames', () => client.frames.length >= 5);
      const snapshot = async (): Promise<{ lastUpdateId: number; bids: string[][]; asks: string[][] }> =>
        (await get(sim.httpUrl, '/api/v3/depth?symbol=BTCUSDT&limit=5000')).body as never;
      // Binance's procedure: buffer diffs, fetch a snapshot, drop diffs with u <= lastUpdateId, the first
      // applied one straddles lastUpdateId + 1, then each U = previous u + 1.
      const first = await snapshot();
      const bids = new Map(first.bids.map(([p, q]) => [p, q] as [string, string]));
      const asks = new Map(first.asks.map(([p, q]) => [p, q] as [string, string]));
      let applied = first.lastUpdateId;
      let index = 0;
      const applyUntil = async (target: number): Promise<void> => {
        await waitFor(`diffs up to ${target}`, () => {
          for (; index < client.frames.length && applied < target; index++) {
            const d = JSON.parse(client.frames[index] as string) as {
              U: number;
              u: number;
              b: string[][];
              a: string[][];
            };
            if (d.u <= applied) continue;
            assert.ok(d.U <= applied + 1, `diff ${d.U}-${d.u} chains after ${applied}`);
            for (const [p, q] of d.b) q === '0.00000000' ? bids.delete(p!) : bids.set(p!, q!);
            for (const [p, q] of d.a) q === '0.00000000' ? asks.delete(p!) : asks.set(p!, q!);
            applied = d.u;
          }
          return applied >= target;
        });
      };
      await sleep(200);
      const later = await snapshot();
      assert.ok(later.lastUpdateId > first.lastUpdateId);
      await applyUntil(later.lastUpdateId);
      assert.equal(applied, later.lastUpdateId, 'a diff ends exactly at the snapshot');
      const sorted = (m: Map<string, string>, desc: boolean): string[][] =>
        [...m].sort((x, y) => (desc ? -1 : 1) * (Number(x[0]) - Number(y[0])));
      assert.deepEqual(sorted(bids, true), later.bids);
      assert.deepEqual(sorted(asks, false), later.asks);
      assert.ok(Number(later.bids[0]?.[0]) < Number(later.asks[0]?.[0]), 'the book is not crossed');
      await client.close();
    } finally {
      await sim.close();
    }
  });

  it('answers 429 with Retry-After beyond the weight budget, then 418 to an IP that keeps going', async () => {
    const sim = await startSimulator({ rest: { weightLimit: 5, requestsBeforeBan: 2, banMs: 120_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await get(sim.httpUrl, '/api/v3/ping')).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
      const limited = await get(sim.httpUrl, '/api/v3/ping');
      assert.equal(limited.status, 429);
      assert.deepEqual(limited.body, {
        code: -1003,
        msg: 'Too much request weight used; current limit is 5 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
      });
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(limited.headers.get('x-mbx-used-weight-1m'), '6');
      assert.equal((await get(sim.httpUrl, '/api/v3/ping')).status, 429);
      assert.equal((await get(sim.httpUrl, '/api/v3/ping')).status, 429);
      const banned = await get(sim.httpUrl, '/api/v3/ping');
      assert.equal(banned.status, 418);
      assert.match(
        (banned.body as Json)['msg'] as string,
        /^Way too much request weight used; IP banned until \d+\./,
      );
      assert.ok(Number(banned.headers.get('retry-after')) >= 119);
      assert.equal((await get(sim.httpUrl, '/api/v3/time')).status, 418, 'the ban holds for every endpoint');
    } finally {
      await sim.close();
    }
  });

  it('applies injected refusals and latency to REST answers', async () => {
    const sim = await startSimulator();
    try {
      sim.refuseConnections(5000, 503, 7);
      const refused = await get(sim.httpUrl, '/api/v3/ping');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '7');
      sim.refuseConnections(0);
      sim.setLatency(150);
      const started = Date.now();
      assert.equal((await get(sim.httpUrl, '/api/v3/ping')).status, 200);
      assert.ok(Date.now() - started >= 140, 'the answer was held back by the injected latency');
    } finally {
      await sim.close();
    }
  });

  it('rejects bad REST limits with a message naming the option', async () => {
    await assert.rejects(
      startSimulator({ rest: { weightLimit: 0 } }),
      /rest\.weightLimit must be an integer from 1/,
    );
  });
});
