/**
 * WSManager with the Bybit v5 adapter against the simulator's Bybit dialect (`/bybit/v5/public/*`), over
 * loopback sockets: shared topics, subscribe batching within Bybit's limits, the JSON heartbeat, and a
 * stream-seeded order book through gaps, restarts and drops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrderBookView, ResyncNotice } from '../../src/core/capabilities.js';
import { silentLogger } from '../../src/core/log.js';
import { bybitLinear, bybitSpot } from '../../src/exchange/bybit/index.js';
import type { Exchange } from '../../src/exchange/exchange.js';
import { type StreamMessage, WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

async function withBybit(
  exchange: Exchange,
  run: (sim: Simulator, manager: WSManager) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ rate: 50 });
  const manager = new WSManager({
    url: `${sim.url}/bybit`,
    exchange,
    idleGraceMs: 0,
    logger: silentLogger(),
  });
  try {
    await run(sim, manager);
  } finally {
    await manager.destroy();
    await sim.close();
  }
}

const SYMBOLS = Array.from({ length: 25 }, (_, i) => `S${i}USDT`);

test('two subscribers share one upstream subscription; spot subscribes go out 10 args at most', async () => {
  await withBybit(bybitSpot, async (sim, manager) => {
    const a: StreamMessage[] = [];
    const b: StreamMessage[] = [];
    manager.subscribe('publicTrade.BTCUSDT', { next: (_d, m) => a.push(m!) });
    manager.subscribe('publicTrade.BTCUSDT', { next: (_d, m) => b.push(m!) });
    const seen = new Set<string>();
    for (const s of SYMBOLS) manager.subscribe(`publicTrade.${s}`, { next: (_d, m) => seen.add(m!.stream) });
    await waitFor('events of every topic', () => seen.size === SYMBOLS.length && a.length >= 3);
    const [connection, ...others] = sim.bybitStats();
    assert.equal(others.length, 0, 'one connection carries all 26 topics');
    assert.equal(connection!.category, 'spot');
    assert.deepEqual(connection!.subscribeArgs, [10, 10, 6], 'batches of at most 10 args');
    assert.equal(connection!.topics.filter((t) => t === 'publicTrade.BTCUSDT').length, 1);
    // Both subscribers get the very same events, in the Bybit envelope, delivered as combined frames.
    await waitFor('b to catch up', () => b.length >= a.length);
    assert.deepEqual(
      a.slice(0, 3).map((m) => m.frameBytes().toString()),
      b.slice(0, 3).map((m) => m.frameBytes().toString()),
    );
    const first = JSON.parse(a[0]!.frameBytes().toString()) as {
      stream: string;
      data: { topic: string; type: string };
    };
    assert.equal(first.stream, 'publicTrade.BTCUSDT');
    assert.equal(first.data.topic, 'publicTrade.BTCUSDT');
    assert.equal(first.data.type, 'snapshot');
    assert.equal(manager.getMetrics().errors, 0);
  });
});

test('linear packs one subscribe; the 21,000-character cap opens a further connection', async () => {
  await withBybit(bybitLinear, async (sim, manager) => {
    const seen = new Set<string>();
    for (const s of SYMBOLS) manager.subscribe(`tickers.${s}`, { next: (_d, m) => seen.add(m!.stream) });
    await waitFor('tickers of every topic', () => seen.size === SYMBOLS.length);
    assert.deepEqual(
      sim.bybitStats().map((c) => [c.category, c.subscribeArgs]),
      [['linear', [25]]],
    );
  });
  // The same cap, lowered to 60 characters so four 19-character topics need two connections.
  const small: Exchange = { ...bybitSpot, limits: { ...bybitSpot.limits, argCharsPerConnection: 60 } };
  await withBybit(small, async (sim, manager) => {
    const seen = new Set<string>();
    for (const s of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'])
      manager.subscribe(`publicTrade.${s}`, { next: (_d, m) => seen.add(m!.stream) });
    await waitFor('events of the four topics', () => seen.size === 4);
    assert.deepEqual(
      sim
        .bybitStats()
        .map((c) => c.topics.length)
        .sort(),
      [1, 3],
    );
  });
});

test('a connection whose pongs stop is replaced, though its data keeps flowing', async () => {
  // Timers shortened from Bybit's 20 s ping and our 10 s pong timeout to 150 ms and 400 ms.
  const fast: Exchange = {
    ...bybitSpot,
    heartbeat: { ...bybitSpot.heartbeat, keepAliveMs: 150, pongTimeoutMs: 400 },
  };
  await withBybit(fast, async (sim, manager) => {
    let events = 0;
    manager.subscribe('publicTrade.BTCUSDT', () => events++);
    await waitFor('events and pings', () => events > 0 && (sim.bybitStats()[0]?.pings ?? 0) >= 2);
    const [before] = sim.bybitStats();
    assert.equal(sim.withholdBybitPongs(), 1);
    const replaced = await waitFor('a new connection', () =>
      sim.bybitStats().find((c) => c.id !== before!.id && c.topics.length === 1),
    );
    assert.equal(replaced.withholdingPongs, false);
    assert.equal(sim.bybitStats().length, 1, 'the old connection was closed');
    // The one error is the stalled socket (`ws_manager_errors_total{reason="stalled"}`).
    assert.equal(manager.getMetrics().errors, 1);
    const resumed = events;
    await waitFor('events on the new connection', () => events > resumed);
  });
});

test('a stream-seeded book: a gap has it sent afresh, a u=1 snapshot resets it, and after a drop it equals the simulator', async () => {
  await withBybit(bybitSpot, async (sim, manager) => {
    const topic = 'orderbook.50.BTCUSDT';
    const notices: ResyncNotice[] = [];
    let latest: OrderBookView | undefined;
    /** Set when the book and the simulator's topic stood at the same `u`: whether their levels matched. */
    let matched: boolean | undefined;
    manager.orderBook(
      'BTCUSDT',
      {
        next: (book) => {
          latest = book;
          const view = sim.bybitBook(topic);
          if (view === undefined || view.u !== book.lastUpdateId) return;
          matched =
            JSON.stringify(book.bids()) === JSON.stringify(view.bids) &&
            JSON.stringify(book.asks()) === JSON.stringify(view.asks);
        },
        resynced: (n) => notices.push(n),
      },
      { depth: 50 },
    );
    await waitFor('the book in step with the simulator', () => matched === true);
    assert.equal(notices[0]?.reason, 'initial');
    // The book keeps no more than the 50 levels its topic carries (matched above compares them all).
    assert.ok(latest!.bids().length <= 50 && latest!.bids().length > 0);

    // A lost update: the book never applies a delta past the hole; it has the topic sent afresh
    // (unsubscribe, subscribe: one more subscribe request upstream) and the new snapshot reseeds it.
    const subscribesBefore = sim.bybitStats()[0]!.subscribeArgs.length;
    matched = undefined;
    sim.skipBybitBookUpdate(topic);
    await waitFor('the reseed after the gap', () => notices.length === 2);
    assert.match(notices[1]!.reason, /^diff \d+-\d+ does not follow \d+$/);
    assert.equal(sim.bybitStats()[0]!.subscribeArgs.length, subscribesBefore + 1);
    await waitFor('the book in step after the gap', () => matched === true);

    // The service "restarts": u=1 overwrites the book, and deltas continue from 2.
    matched = undefined;
    sim.restartBybitBook(topic);
    await waitFor('the reset', () => notices.length === 3);
    assert.deepEqual(
      { u: notices[2]!.lastUpdateId, reason: notices[2]!.reason },
      { u: 1, reason: 'the exchange sent a new snapshot' },
    );
    await waitFor('the book in step after the reset', () => matched === true && latest!.lastUpdateId > 1);

    // A dropped connection: the new one's snapshot reseeds the book.
    matched = undefined;
    assert.equal(sim.dropConnections(), 1);
    await waitFor('the reseed', () => notices.length === 4);
    assert.equal(notices[3]!.reason, 'the exchange sent a new snapshot');
    await waitFor('the book equal to the simulator after the drop', () => matched === true);
  });
});
