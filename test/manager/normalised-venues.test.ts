/**
 * The cross-venue view over loopback sockets: one `Venues` over a Binance, a Bybit spot and an OKX
 * WSManager, each on the simulator's own dialect of that venue. Trades of `BTC/USDT` come from all three
 * in one shape, equal field for field to the venue frames captured beside them on the same streams;
 * bad symbols and venues are refused before anything is subscribed; unsubscribing releases the
 * upstream streams; books of all three arrive in one shape.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { binance } from '../../src/exchange/binance/index.js';
import { type BybitPublicTrade, bybitLinear, bybitSpot } from '../../src/exchange/bybit/index.js';
import type { Exchange, Trade } from '../../src/exchange/exchange.js';
import { type OkxTrade, okx } from '../../src/exchange/okx/index.js';
import { type BookUpdate, InvalidArgumentError, Venues, WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

let sim: Simulator;
let managers: WSManager[];
let venues: Venues;

function manager(url: string, exchange: Exchange): WSManager {
  // idleGraceMs 0: a stream nobody reads is released at once, so the unsubscribe test sees it go.
  return new WSManager({ url, exchange, idleGraceMs: 0, logger: silentLogger() });
}

before(async () => {
  sim = await startSimulator({ rate: 50 });
  managers = [
    manager(sim.url, binance),
    manager(`${sim.url}/bybit`, bybitSpot),
    manager(`${sim.url}/bybit`, bybitLinear),
    manager(`${sim.url}/okx`, okx),
  ];
  venues = new Venues(managers);
});

after(async () => {
  await Promise.all(managers.map((m) => m.destroy()));
  await sim.close();
});

/** What a venue's own frame says of each trade, read here independently of the adapters' readers. */
type Expected = Pick<Trade, 'id' | 'price' | 'amount' | 'side' | 'timestamp'>;

function expectedOf(venue: string, payload: unknown): Expected[] {
  if (venue === 'binance') {
    const t = payload as { t: number; p: string; q: string; m: boolean; T: number };
    return [{ id: String(t.t), price: t.p, amount: t.q, side: t.m ? 'sell' : 'buy', timestamp: t.T }];
  }
  if (venue === 'bybit') {
    const { data } = payload as { data: { i: string; p: string; v: string; S: string; T: number }[] };
    return data.map((t) => ({
      id: t.i,
      price: t.p,
      amount: t.v,
      side: t.S === 'Buy' ? 'buy' : 'sell',
      timestamp: t.T,
    }));
  }
  const { data } = payload as {
    data: { tradeId: string; px: string; sz: string; side: 'buy' | 'sell'; ts: string }[];
  };
  return data.map((t) => ({
    id: t.tradeId,
    price: t.px,
    amount: t.sz,
    side: t.side,
    timestamp: Number(t.ts),
  }));
}

const RAW_STREAMS: Record<string, [number, string]> = {
  binance: [0, 'btcusdt@trade'],
  bybit: [1, 'publicTrade.BTCUSDT'],
  okx: [3, 'trades:BTC-USDT'],
};

test('trades of BTC/USDT come from all three venues, equal to the venue frames they were read from', async () => {
  const expected = new Map<string, Expected[]>();
  const rawStops = Object.entries(RAW_STREAMS).map(([venue, [index, stream]]) => {
    expected.set(venue, []);
    return managers[index]!.subscribe(stream, (payload: unknown) =>
      expected.get(venue)!.push(...expectedOf(venue, payload)),
    );
  });
  const trades: Trade[] = [];
  const stop = venues.trades('BTC/USDT', (t) => trades.push(t), { venues: ['binance', 'bybit', 'okx'] });
  const PER_VENUE = 5;
  const count = (venue: string) => trades.filter((t) => t.venue === venue).length;
  await waitFor(`${PER_VENUE} trades from each venue`, () =>
    ['binance', 'bybit', 'okx'].every((v) => count(v) >= PER_VENUE),
  );
  stop();
  for (const s of rawStops) s();

  for (const venue of ['binance', 'bybit', 'okx']) {
    const got = trades.filter((t) => t.venue === venue);
    const raw = expected.get(venue)!;
    // The normalised subscriber and the raw one share the venue's stream and joined it in one tick:
    // the same trades in the same order, each field as the frame had it.
    assert.deepEqual(
      got.map(({ id, price, amount, side, timestamp }) => ({ id, price, amount, side, timestamp })),
      raw.slice(0, got.length),
      `${venue}: normalised trades equal the frames`,
    );
    for (const t of got) {
      assert.equal(t.symbol, 'BTC/USDT');
      assert.equal(t.raw, undefined, 'raw only when asked for');
      assert.equal(typeof t.timestamp, 'number');
    }
  }
  // The simulator's venues view one market: a trade id seen on all three carries the same figures.
  const byId = (venue: string) => new Map(trades.filter((t) => t.venue === venue).map((t) => [t.id, t]));
  const [b, y, o] = [byId('binance'), byId('bybit'), byId('okx')];
  const common = [...b.keys()].filter((id) => y.has(id) && o.has(id));
  assert.ok(common.length > 0, 'the three venues share trades of the one simulated market');
  for (const id of common) {
    const pick = (t: Trade) => [t.price, t.amount, t.side, t.timestamp];
    assert.deepEqual(pick(y.get(id)!), pick(b.get(id)!), `bybit trade ${id}`);
    assert.deepEqual(pick(o.get(id)!), pick(b.get(id)!), `okx trade ${id}`);
  }
  assert.deepEqual(venues.stats(), [
    { venue: 'binance', unreadTrades: 0 },
    { venue: 'bybit', unreadTrades: 0 },
    { venue: 'okx', unreadTrades: 0 },
  ]);
});

test('a perpetual goes to the linear manager and to OKX swaps, with raw items when asked', async () => {
  const trades: Trade[] = [];
  const stop = venues.trades(
    'BTC/USDT:USDT',
    { next: (t) => trades.push(t) },
    { venues: ['bybit', 'okx'], raw: true },
  );
  await waitFor('perpetual trades of both venues', () =>
    ['bybit', 'okx'].every((v) => trades.some((t) => t.venue === v)),
  );
  assert.ok(
    sim.bybitStats().some((c) => c.category === 'linear' && c.topics.includes('publicTrade.BTCUSDT')),
    'the linear manager carries it',
  );
  stop();
  const bybitTrade = trades.find((t) => t.venue === 'bybit')!;
  const okxTrade = trades.find((t) => t.venue === 'okx')!;
  assert.equal(bybitTrade.symbol, 'BTC/USDT:USDT');
  assert.equal((bybitTrade.raw as { i: string }).i, bybitTrade.id);
  assert.equal((okxTrade.raw as { instId: string; tradeId: string }).instId, 'BTC-USDT-SWAP');
  assert.equal((okxTrade.raw as { tradeId: string }).tradeId, okxTrade.id);
  // The raw items carry exactly the fields their payload types declare.
  const bybitFields: (keyof BybitPublicTrade)[] = ['BT', 'L', 'S', 'T', 'i', 'p', 's', 'seq', 'v'];
  const okxFields: (keyof OkxTrade)[] = ['count', 'instId', 'px', 'side', 'sz', 'tradeId', 'ts'];
  assert.deepEqual(Object.keys(bybitTrade.raw as object).sort(), bybitFields);
  assert.deepEqual(Object.keys(okxTrade.raw as object).sort(), okxFields);
});

test('bad symbols, venues, depths and listeners are refused before anything is subscribed', () => {
  const before = managers.map((m) => m.listStreams().length);
  const refuse = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message));
  const noop = () => {};
  refuse(
    () => venues.trades('btcusdt', noop),
    /binance cannot read it: symbol must be an uppercase unified symbol/,
  );
  refuse(
    () => venues.trades('BTC/USDT', noop, { venues: ['kraken'] }),
    /no manager for venue "kraken"; the venues given are "binance", "bybit", "okx"/,
  );
  refuse(
    () => venues.trades('BTC/USDT:USDT', noop),
    /binance cannot read it: the binance adapter serves spot only/,
  );
  refuse(
    () => venues.trades('BTC/USDC:USDC', noop, { venues: ['okx', 'bybit'] }),
    /bybit cannot read it: .*USDT-settled perpetuals only/,
  );
  refuse(() => venues.trades('BTC/USDT', noop, { venues: [] }), /venues must be a non-empty array/);
  refuse(() => venues.trades('BTC/USDT', noop, { venues: ['okx', 'okx'] }), /names a venue twice/);
  refuse(() => venues.trades('BTC/USDT', 42 as never), /listener must be a function/);
  refuse(
    () => venues.trades('BTC/USDT', noop, { recovery: 'refill' as never }),
    /recovery must be "backfill" or "report"/,
  );
  refuse(() => venues.books('BTC/USDT', noop, { depth: 401 }), /depth must be an integer from 1 to 400/);
  refuse(() => new Venues([]), /non-empty array/);
  refuse(
    () => new Venues([managers[0]!, managers[0]!]),
    /two managers of binance \(spot\); give one per venue and category/,
  );
  refuse(() => venues.locate('bybit', 'BTC/USD:BTC'), /bybit cannot read it/);
  assert.deepEqual(venues.locate('okx', 'BTC/USD:BTC').venueSymbol, 'BTC-USD-SWAP');
  assert.deepEqual(
    managers.map((m) => m.listStreams().length),
    before,
    'no stream was subscribed by a refused call',
  );
});

test('unsubscribing releases every venue upstream stream; a second call does nothing', async () => {
  let seen = 0;
  const stop = venues.trades('ETH/USDT', () => seen++);
  const upstream = () => ({
    binance: sim.stats().connections.some((c) => c.streams.includes('ethusdt@trade')),
    bybit: sim.bybitStats().some((c) => c.topics.includes('publicTrade.ETHUSDT')),
    okx: sim.okxStats().some((c) => c.channels.includes('trades:ETH-USDT')),
  });
  await waitFor('the three streams upstream', () => Object.values(upstream()).every(Boolean) && seen > 0);
  stop();
  stop();
  await waitFor('the three streams released upstream', () => Object.values(upstream()).every((on) => !on));
  for (const m of managers) {
    assert.deepEqual(
      m.listStreams().filter((s) => /eth/i.test(s.stream)),
      [],
      `${m.exchange.name}: no ETH stream left`,
    );
  }
  const after = seen;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(seen, after, 'nothing delivered after unsubscribe');
});

test('books of BTC/USDT from all three venues in one shape, at the depth asked', async () => {
  const updates: BookUpdate[] = [];
  // Depth 10 reads OKX's `books` channel (5 would read `books5`) and Bybit's `orderbook.50`.
  // Where the simulator shows the venue's book at the update's own id, the update must equal its top
  // ten levels (the simulator shows Bybit's and OKX's books as last sent).
  const equalTops = new Set<string>();
  const differing: string[] = [];
  const simulated = (u: BookUpdate) => {
    if (u.venue === 'bybit') {
      const view = sim.bybitBook('orderbook.50.BTCUSDT');
      return view?.u === u.sequence ? view : undefined;
    }
    const view = u.venue === 'okx' ? sim.okxBook('BTC-USDT') : undefined;
    return view?.seqId === u.sequence ? view : undefined;
  };
  const stop = venues.books(
    'BTC/USDT',
    (u) => {
      updates.push(u);
      const view = simulated(u);
      if (view === undefined) return;
      const expected = { bids: view.bids.slice(0, 10), asks: view.asks.slice(0, 10) };
      if (JSON.stringify({ bids: u.bids, asks: u.asks }) === JSON.stringify(expected)) equalTops.add(u.venue);
      else differing.push(`${u.venue} at ${u.sequence}`);
    },
    { depth: 10 },
  );
  await waitFor(
    'a book update of each venue, Bybit and OKX seen equal to the simulator',
    () =>
      ['binance', 'bybit', 'okx'].every((v) =>
        updates.some((u) => u.venue === v && u.bids.length > 0 && u.asks.length > 0),
      ) &&
      (equalTops.size === 2 || differing.length > 0),
  );
  stop();
  assert.deepEqual(differing, [], 'updates differing from the simulator at the same id');
  for (const venue of ['binance', 'bybit', 'okx']) {
    const u = updates.findLast((x) => x.venue === venue && x.bids.length > 0)!;
    assert.equal(u.symbol, 'BTC/USDT');
    assert.ok(u.bids.length <= 10 && u.asks.length <= 10, `${venue}: at most 10 levels`);
    assert.ok(Number(u.bids[0]![0]) < Number(u.asks[0]![0]), `${venue}: best bid below best ask`);
    for (let i = 1; i < u.bids.length; i++)
      assert.ok(Number(u.bids[i]![0]) < Number(u.bids[i - 1]![0]), 'bids best first');
    for (let i = 1; i < u.asks.length; i++)
      assert.ok(Number(u.asks[i]![0]) > Number(u.asks[i - 1]![0]), 'asks best first');
    assert.equal(typeof u.sequence, 'number');
  }
});

test("a venue-qualified stream reaches that venue's manager by the venue's own name", async () => {
  const okxPushes: { arg: { instId: string } }[] = [];
  const linearTopics: string[] = [];
  const binanceIds: number[] = [];
  const stops = [
    venues.subscribe({ venue: 'okx', stream: 'trades:BTC-USDT' }, (p) =>
      okxPushes.push(p as { arg: { instId: string } }),
    ),
    venues.subscribe({ venue: 'bybit', category: 'linear', stream: 'publicTrade.ETHUSDT' }, (p) =>
      linearTopics.push((p as { topic: string }).topic),
    ),
    // Binance names stay as they are.
    venues.subscribe({ venue: 'binance', stream: 'btcusdt@trade' }, (t) =>
      binanceIds.push((t as { t: number }).t),
    ),
  ];
  await waitFor(
    'pushes of each',
    () => okxPushes.length > 0 && linearTopics.length > 0 && binanceIds.length > 0,
  );
  assert.ok(
    sim.bybitStats().some((c) => c.category === 'linear' && c.topics.includes('publicTrade.ETHUSDT')),
    'the linear manager carries it',
  );
  for (const s of stops) s();
  assert.equal(okxPushes[0]!.arg.instId, 'BTC-USDT');
  assert.equal(linearTopics[0], 'publicTrade.ETHUSDT');
  const refuse = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (e: unknown) => e instanceof TypeError && message.test(e.message));
  const noop = () => {};
  refuse(
    () => venues.subscribe({ venue: 'bybit', stream: 'publicTrade.BTCUSDT' }, noop),
    /bybit has several managers \(spot, linear\); name the category/,
  );
  refuse(
    () => venues.subscribe({ venue: 'okx', category: 'spot', stream: 'trades:BTC-USDT' }, noop),
    /no manager for venue "okx" and category "spot"; the managers given are binance \(spot\), bybit \(spot\), bybit \(linear\), okx \(all\)/,
  );
  refuse(() => venues.subscribe({ venue: 'okx', stream: 'btcusdt@trade' }, noop), /btcusdt@trade/);
});

test('a listener that throws loses no trade: every id still arrives, in order', async () => {
  const ids: number[] = [];
  const stop = venues.trades(
    'SOL/USDT',
    (t) => {
      ids.push(Number(t.id));
      throw new Error('a consumer bug');
    },
    { venues: ['okx'] },
  );
  await waitFor('ten trades despite the exceptions', () => ids.length >= 10);
  stop();
  for (let k = 1; k < ids.length; k++) assert.equal(ids[k], ids[k - 1]! + 1, `trade ${k} follows ${k - 1}`);
});
