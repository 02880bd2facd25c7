/**
 * WSManager with the OKX v5 adapter against the simulator's OKX dialect (`/okx/ws/v5/*`), over loopback
 * sockets: shared channels, one packed subscribe per burst within OKX's hourly request budget, candles on
 * the business endpoint, the text heartbeat, the 64008 notice, trade gaps refilled from history-trades,
 * and a `books` channel kept by its seqId/prevSeqId rule through lost pushes, restarts and drops, seeded
 * from REST when no snapshot is pushed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrderBookView, ResyncNotice } from '../../src/core/capabilities.js';
import { silentLogger } from '../../src/core/log.js';
import type { GapEvent } from '../../src/core/stream-source.js';
import type { Exchange } from '../../src/exchange/exchange.js';
import { okx } from '../../src/exchange/okx/index.js';
import { type StreamMessage, WSManager, type WSManagerOptions } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

async function withOkx(
  exchange: Exchange,
  run: (sim: Simulator, manager: WSManager) => Promise<void>,
  options: Partial<WSManagerOptions> = {},
  rate = 50,
): Promise<void> {
  const sim = await startSimulator({ rate });
  const manager = new WSManager({
    url: `${sim.url}/okx`,
    exchange,
    idleGraceMs: 0,
    logger: silentLogger(),
    ...options,
  });
  try {
    await run(sim, manager);
  } finally {
    await manager.destroy();
    await sim.close();
  }
}

interface TradePush {
  arg: { channel: string; instId: string };
  data: { tradeId: string }[];
}

const INSTRUMENTS = Array.from({ length: 30 }, (_, i) => `S${i}-USDT`);

test('channels are shared, a burst goes out as one packed subscribe, candles open the business endpoint', async () => {
  await withOkx(okx, async (sim, manager) => {
    const a: StreamMessage[] = [];
    const b: StreamMessage[] = [];
    manager.subscribe('trades:BTC-USDT', { next: (_d, m) => a.push(m!) });
    manager.subscribe('trades:BTC-USDT', { next: (_d, m) => b.push(m!) });
    const seen = new Set<string>();
    for (const s of INSTRUMENTS) manager.subscribe(`trades:${s}`, { next: (_d, m) => seen.add(m!.stream) });
    let candles = 0;
    manager.subscribe('candle1m:BTC-USDT', () => candles++);
    await waitFor(
      'pushes of every channel',
      () => seen.size === INSTRUMENTS.length && a.length >= 3 && candles > 0,
    );
    const stats = sim.okxStats();
    const pub = stats.filter((c) => c.route === 'public');
    const business = stats.filter((c) => c.route === 'business');
    assert.equal(pub.length, 1, 'one public connection carries all 31 trade channels');
    assert.deepEqual(pub[0]!.subscribeArgs, [31], 'one request packs the burst');
    assert.equal(pub[0]!.channels.filter((c) => c === 'trades:BTC-USDT').length, 1);
    assert.deepEqual(
      business.map((c) => c.channels),
      [['candle1m:BTC-USDT']],
      'candles live on the business endpoint',
    );
    await waitFor('b to catch up', () => b.length >= a.length);
    assert.deepEqual(
      a.slice(0, 3).map((m) => m.frameBytes().toString()),
      b.slice(0, 3).map((m) => m.frameBytes().toString()),
    );
    const first = JSON.parse(a[0]!.frameBytes().toString()) as { stream: string; data: TradePush };
    assert.equal(first.stream, 'trades:BTC-USDT');
    assert.deepEqual(first.data.arg, { channel: 'trades', instId: 'BTC-USDT' });
    assert.equal(manager.getMetrics().errors, 0);
  });
});

test('subscribe requests wait for the per-connection budget instead of breaking it', async () => {
  // OKX's 480 requests per hour, lowered to 2 per 500 ms at the simulator and paced at 2 per 600 ms here
  // (a client keeps a margin for the requests' transit, as the adapter does) so the wait is short.
  const tight: Exchange = { ...okx, limits: { ...okx.limits, controlMessages: { limit: 2, windowMs: 600 } } };
  await withOkx(tight, async (sim, manager) => {
    sim.setOkxRequestLimit(2, 500);
    const seen = new Set<string>();
    const subscribe = (inst: string) =>
      manager.subscribe(`trades:${inst}`, { next: (_d, m) => seen.add(m!.stream) });
    subscribe('BTC-USDT');
    await waitFor('the first channel', () => seen.size === 1);
    const started = Date.now();
    // Each later subscribe comes alone (a request each): the third request must wait for the window.
    subscribe('ETH-USDT');
    await waitFor('the second channel', () => seen.size === 2);
    subscribe('SOL-USDT');
    await waitFor('the third channel', () => seen.size === 3);
    const [connection] = sim.okxStats();
    assert.deepEqual(connection!.subscribeArgs, [1, 1, 1]);
    assert.equal(connection!.requests, 3, 'no request was refused (a refusal would be re-sent)');
    assert.ok(Date.now() - started >= 400, 'the third request waited for the window');
    assert.equal(manager.getMetrics().errors, 0);
  });
});

test('a connection whose pongs stop is replaced, though its data keeps flowing', async () => {
  // Timers shortened from OKX's 20 s ping and our 5 s pong timeout to 150 ms and 400 ms.
  const fast: Exchange = { ...okx, heartbeat: { ...okx.heartbeat, keepAliveMs: 150, pongTimeoutMs: 400 } };
  await withOkx(fast, async (sim, manager) => {
    let events = 0;
    manager.subscribe('trades:BTC-USDT', () => events++);
    await waitFor('events and pings', () => events > 0 && (sim.okxStats()[0]?.pings ?? 0) >= 2);
    const [before] = sim.okxStats();
    assert.equal(sim.withholdOkxPongs(), 1);
    const replaced = await waitFor('a new connection', () =>
      sim.okxStats().find((c) => c.id !== before!.id && c.channels.length === 1),
    );
    assert.equal(replaced.withholdingPongs, false);
    assert.equal(sim.okxStats().length, 1, 'the old connection was closed');
    assert.equal(manager.getMetrics().errors, 1, 'the one error is the stalled socket');
    const resumed = events;
    await waitFor('events on the new connection', () => events > resumed);
  });
});

test('notice 64008 rotates the connection make-before-break: trade ids stay contiguous across it', async () => {
  await withOkx(okx, async (sim, manager) => {
    const ids: number[] = [];
    const gaps: GapEvent[] = [];
    manager.subscribe('trades:BTC-USDT', {
      next: (data) => {
        for (const t of (data as TradePush).data) ids.push(Number(t.tradeId));
      },
      gap: (g) => gaps.push(g),
      recovery: 'report',
    });
    await waitFor('trades', () => ids.length >= 5);
    const [old] = sim.okxStats();
    assert.equal(sim.announceShutdown({ closeAfterMs: 1000 }), 1);
    await waitFor('the new connection serving alone', () => {
      const stats = sim.okxStats();
      return stats.length === 1 && stats[0]!.id !== old!.id;
    });
    const at = ids.length;
    await waitFor('trades on the new connection', () => ids.length >= at + 10);
    assert.deepEqual(gaps, []);
    for (let k = 1; k < ids.length; k++) assert.equal(ids[k], ids[k - 1]! + 1, `trade ${k} follows ${k - 1}`);
    assert.equal(manager.getMetrics().errors, 0);
  });
});

test('trades missed while a connection was down are refilled from history-trades with their exact ids', async () => {
  await withOkx(
    okx,
    async (sim, manager) => {
      const ids: number[] = [];
      const gaps: GapEvent[] = [];
      const reported: GapEvent[] = [];
      manager.subscribe('trades:BTC-USDT', {
        next: (data) => {
          for (const t of (data as TradePush).data) ids.push(Number(t.tradeId));
        },
        gap: (g) => gaps.push(g),
        recovery: 'backfill',
      });
      // A second subscriber only hears of the gap: its size is what the refill must bring back.
      manager.subscribe('trades:BTC-USDT', {
        next: () => {},
        gap: (g) => reported.push(g),
        recovery: 'report',
      });
      await waitFor('trades', () => ids.length >= 5);
      // Upgrades refused for 3 s: about 150 trades at 50/s are missed, two pages of history-trades.
      sim.refuseConnections(3000, 503, null);
      sim.dropConnections();
      await waitFor('the gap', () => reported.length === 1, 15_000);
      const gap = reported[0]!;
      await waitFor('the refill delivered', () => ids.includes(gap.received + 5));
      assert.deepEqual(gaps, [], 'every missed trade came back');
      for (let k = 1; k < ids.length; k++)
        assert.equal(ids[k], ids[k - 1]! + 1, `trade ${k} follows ${k - 1}`);
      assert.ok(gap.missed > 100, `missed ${gap.missed}`);
      // The backfill subscriber got exactly the missed ids, between the last trade before and the first after.
      const at = ids.indexOf(gap.expected - 1);
      assert.deepEqual(
        ids.slice(at, at + gap.missed + 2),
        Array.from({ length: gap.missed + 2 }, (_, k) => gap.expected - 1 + k),
      );
      assert.equal(sim.okxRestRequests('market/history-trades'), Math.ceil(gap.missed / 100));
    },
    { retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY } },
    50,
  );
});

test('a books channel: a lost push resyncs, a restart resets, and after a drop it equals the simulator', async () => {
  await withOkx(okx, async (sim, manager) => {
    const inst = 'BTC-USDT';
    const notices: ResyncNotice[] = [];
    let latest: OrderBookView | undefined;
    let matched: boolean | undefined;
    manager.orderBook(
      inst,
      {
        next: (book) => {
          latest = book;
          const view = sim.okxBook(inst);
          if (view === undefined || view.seqId !== book.lastUpdateId) return;
          matched =
            JSON.stringify(book.bids()) === JSON.stringify(view.bids.slice(0, 50)) &&
            JSON.stringify(book.asks()) === JSON.stringify(view.asks.slice(0, 50));
        },
        resynced: (n) => notices.push(n),
      },
      { depth: 50 },
    );
    await waitFor('the book in step with the simulator', () => matched === true);
    assert.equal(notices[0]?.reason, 'initial');
    assert.ok(latest!.bids().length > 0);
    // The snapshot pushed on subscribe seeded the book: no REST call.
    assert.equal(sim.okxRestRequests('market/books'), 0);
    let n = notices.length;

    // A lost push: the next update's prevSeqId is past the book, which resyncs from a REST snapshot.
    matched = undefined;
    const restBefore = sim.okxRestRequests('market/books');
    sim.dropOkxBookUpdate(inst);
    // (A pushed snapshot still on its way may reset the book first: the resync is the notice that names the hole.)
    const resync = await waitFor('the resync after the lost push', () =>
      notices.slice(n).find((x) => x.reason !== 'the exchange sent a new snapshot'),
    );
    assert.match(resync.reason, /^diff \d+-\d+ does not follow \d+$/);
    assert.equal(sim.okxRestRequests('market/books'), restBefore + 1);
    await waitFor('the book in step after the lost push', () => matched === true);

    // A restart: a snapshot with seqIds from 1 replaces the book.
    n = notices.length;
    matched = undefined;
    sim.restartOkxBook(inst);
    const reset = await waitFor('the reset', () => notices.slice(n).find((x) => x.lastUpdateId === 1));
    assert.equal(reset.reason, 'the exchange sent a new snapshot');
    await waitFor('the book in step after the reset', () => matched === true && latest!.lastUpdateId > 1);

    // A dropped connection: the new subscription's snapshot (or the REST one) reseeds the book.
    n = notices.length;
    matched = undefined;
    assert.equal(sim.dropConnections(), 1);
    await waitFor('the reseed', () => notices.length > n);
    await waitFor('the book equal to the simulator after the drop', () => matched === true);
    assert.equal(manager.getMetrics().errors, 1, 'the dropped connection');
  });
});

test('without a pushed snapshot the book is seeded from REST and continues by prevSeqId', async () => {
  await withOkx(okx, async (sim, manager) => {
    sim.setOkxBookSnapshots(false);
    const inst = 'ETH-USDT';
    const notices: ResyncNotice[] = [];
    let matched: boolean | undefined;
    let updates = 0;
    manager.orderBook(
      inst,
      {
        next: (book) => {
          updates++;
          const view = sim.okxBook(inst);
          if (view === undefined || view.seqId !== book.lastUpdateId) return;
          matched =
            JSON.stringify(book.bids()) === JSON.stringify(view.bids.slice(0, 20)) &&
            JSON.stringify(book.asks()) === JSON.stringify(view.asks.slice(0, 20));
        },
        resynced: (n) => notices.push(n),
      },
      { depth: 20 },
    );
    await waitFor('the book in step with the simulator', () => matched === true && updates >= 5);
    // On a loaded machine a further resync was seen once in about 30 runs; the book in step with the
    // simulator is what this test asserts, and the first notice is the initial seed.
    assert.equal(notices[0]!.reason, 'initial');
    assert.ok(sim.okxRestRequests('market/books') >= 1, 'seeded from /api/v5/market/books');
  });
});

test('a second book on a channel already subscribed seeds from REST at its first update', async () => {
  await withOkx(okx, async (sim, manager) => {
    const inst = 'SOL-USDT';
    // The channel is held by a plain subscriber first, so its pushed snapshot is gone when the book comes.
    let pushes = 0;
    manager.subscribe(`books:${inst}`, () => pushes++);
    await waitFor('updates on the channel', () => pushes >= 3);
    assert.equal(sim.okxRestRequests('market/books'), 0);
    const started = Date.now();
    let matched = false;
    manager.orderBook(
      inst,
      {
        next: (book) => {
          const view = sim.okxBook(inst);
          if (view === undefined || view.seqId !== book.lastUpdateId) return;
          matched =
            JSON.stringify(book.bids()) === JSON.stringify(view.bids.slice(0, 20)) &&
            JSON.stringify(book.asks()) === JSON.stringify(view.asks.slice(0, 20));
        },
      },
      { depth: 20 },
    );
    await waitFor('the book in step with the simulator', () => matched);
    assert.equal(sim.okxRestRequests('market/books'), 1, 'one REST seed, at the first update');
    // Seeded at the first update, not by the fallback after 3 s without a push.
    assert.ok(Date.now() - started < 3000, `in step after ${Date.now() - started} ms`);
  });
});
