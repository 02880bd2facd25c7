/**
 * Refilling Bybit trades missed during an outage: `publicTrade` carries no contiguous id, so the stream
 * shows no gap, and `/v5/market/recent-trade` answers only the latest 60 spot trades. Through the
 * manager's REST client, `refillRecentTrades` gives back what that window holds between the last trade
 * seen and the first one live again, and says whether it reached back far enough. The simulator's trade
 * ids do grow by one, which lets the test check exactly what was refilled and what was not. Candles,
 * whose closing update (`confirm:true`) shows what an outage took, are refilled by the manager itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { bybitSpot, refillRecentTrades, type TradeMark } from '../../src/exchange/bybit/index.js';
import { WSManager } from '../../src/manager/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';

interface TradeEnvelope {
  data: { i: string; T: number }[];
}

const ids = (events: readonly Record<string, unknown>[]): number[] =>
  events.map((e) => Number((e as unknown as TradeEnvelope).data[0]!.i));

test('trades missed in an outage are refilled from the recent-trade window, and an outage longer than it is reported', async () => {
  // 20 trades/s: the 60-trade window covers 3 s.
  const sim = await startSimulator({ rate: 20 });
  const manager = new WSManager({
    url: `${sim.url}/bybit`,
    exchange: bybitSpot,
    logger: silentLogger(),
    retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY },
  });
  const topic = bybitSpot.streams.parse('publicTrade.BTCUSDT')!;
  const seen: TradeMark[] = [];
  let connection = '';
  /** Index in `seen` of the first trade each connection delivered. */
  const firstOf = new Map<string, number>();
  manager.subscribe(topic.name, (data) => {
    const live = sim.bybitStats()[0]?.id ?? '';
    if (live !== connection) {
      connection = live;
      firstOf.set(live, seen.length);
    }
    for (const t of (data as TradeEnvelope).data) seen.push({ i: t.i, T: t.T });
  });
  const rest = manager.rest!;
  try {
    // A short outage (upgrades refused for 0.5 s, about 10 trades): the window still holds the last
    // trade seen, so everything in between comes back.
    await waitFor('trades', () => seen.length >= 5);
    sim.refuseConnections(500, 503, null);
    sim.dropConnections();
    const resumed = await waitFor('trades on a new connection', () =>
      firstOf.size === 2 ? [...firstOf.values()][1] : undefined,
    );
    const short = await refillRecentTrades(rest, 'spot', topic, seen[resumed - 1]!, seen[resumed]!);
    assert.ok(short.ok);
    assert.equal(short.complete, true);
    const missed = Number(seen[resumed]!.i) - Number(seen[resumed - 1]!.i) - 1;
    assert.ok(missed > 0, 'the outage lost trades');
    assert.deepEqual(
      ids(short.events),
      Array.from({ length: missed }, (_, k) => Number(seen[resumed - 1]!.i) + 1 + k),
    );

    // A long outage (upgrades refused for 4 s, about 80 trades): the window no longer reaches back.
    sim.dropConnections();
    sim.refuseConnections(4000, 503, null);
    const again = await waitFor(
      'trades after the refusal',
      () => (firstOf.size === 3 ? [...firstOf.values()][2] : undefined),
      15_000,
    );
    const lastSeen = seen[again - 1]!;
    const firstLive = seen[again]!;
    const long = await refillRecentTrades(rest, 'spot', topic, lastSeen, firstLive);
    assert.ok(long.ok);
    assert.equal(long.complete, false, 'the window did not reach the last trade seen');
    assert.equal(long.window, 60);
    const got = ids(long.events);
    // What it refilled runs without a hole up to the first live trade...
    assert.equal(got.at(-1), Number(firstLive.i) - 1);
    assert.deepEqual(
      got,
      Array.from({ length: got.length }, (_, k) => got[0]! + k),
    );
    // ...and what it could not is exactly what lay before its oldest trade.
    const unrefilled = got[0]! - Number(lastSeen.i) - 1;
    assert.ok(unrefilled > 0, `trades ${Number(lastSeen.i) + 1} to ${got[0]! - 1} are gone`);
    assert.ok(long.oldestTime! > lastSeen.T);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

interface KlineEnvelope {
  data: { start: number; confirm: boolean; close: string }[];
}

test('kline candles closed during an outage reach backfill subscribers as closing updates, in order', async () => {
  // The simulator's clock jumps 3 minutes during the outage, so 1-minute candles close unseen.
  const clock = aheadClock();
  const sim = await startSimulator({ rate: 20, clock: clock.now });
  const manager = new WSManager({
    url: `${sim.url}/bybit`,
    exchange: bybitSpot,
    logger: silentLogger(),
    retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY },
  });
  const filled: KlineEnvelope['data'][number][] = [];
  const plain: KlineEnvelope['data'][number][] = [];
  manager.subscribe('kline.1.BTCUSDT', {
    next: (d) => filled.push(...(d as KlineEnvelope).data),
    recovery: 'backfill',
  });
  manager.subscribe('kline.1.BTCUSDT', (d) => plain.push(...(d as KlineEnvelope).data));
  try {
    await waitFor('a candle update', () => filled.length > 0);
    const first = filled[0]!.start;
    sim.dropConnections({ abrupt: true });
    clock.advance(3 * 60_000);
    await waitFor(
      'a candle three minutes on',
      () => filled.some((c) => c.start >= first + 3 * 60_000),
      10_000,
    );
    await waitFor('the live candle after the refill', () => plain.some((c) => c.start >= first + 3 * 60_000));
    const closes = (list: typeof filled) => list.filter((c) => c.confirm).map((c) => c.start);
    const refilled = closes(filled);
    assert.deepEqual(
      refilled.slice(0, 3),
      [0, 1, 2].map((k) => first + k * 60_000),
      `closes: ${refilled.join(',')}`,
    );
    // A real minute boundary may pass during the test and close a candle live; the jump's are not.
    const live = closes(plain);
    assert.ok(live.every((t) => refilled.includes(t)));
    assert.ok(refilled.length - live.length >= 2, `live closes: ${live.join(',')}`);
    // In time order: no refilled close after a later candle's update.
    for (let k = 1; k < filled.length; k++) assert.ok(filled[k]!.start >= filled[k - 1]!.start);
    // The refilled closes are the venue's own bars.
    const rows = (
      (await (
        await fetch(
          `${sim.httpUrl}/bybit/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&start=${first}`,
        )
      ).json()) as { result: { list: string[][] } }
    ).result.list;
    const closeOf = new Map(rows.map((r) => [Number(r[0]), r[4]]));
    for (const c of filled.filter((x) => x.confirm)) assert.equal(c.close, closeOf.get(c.start));
  } finally {
    await manager.destroy();
    await sim.close();
  }
});
