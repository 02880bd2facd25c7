import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { type GapEvent, WSManager, type WSManagerOptions } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { aheadClock } from '../support/ahead-clock.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogger, sleep } from './helpers.js';

// A fixed ~300 ms reconnect delay (random 0.99, first retry not immediate): at 100 events/s every outage
// leaves a hole of about 30 events to refill.
const slowRetry = { baseDelayMs: 300, maxDelayMs: 300, healthyAfterMs: 600_000 };

interface Recorder {
  ids: number[];
  gaps: GapEvent[];
}

function record(
  manager: WSManager,
  stream: string,
  key: 'a' | 't',
  recovery?: 'backfill' | 'report',
): Recorder {
  const r: Recorder = { ids: [], gaps: [] };
  manager.subscribe(stream, {
    next: (d) => r.ids.push((d as Record<string, number>)[key]!),
    gap: (g) => r.gaps.push(g),
    ...(recovery === undefined ? {} : { recovery }),
  });
  return r;
}

function assertContiguous(ids: number[], what: string): void {
  for (let i = 1; i < ids.length; i++)
    assert.equal(ids[i], ids[i - 1]! + 1, `${what}: ${ids[i - 1]} then ${ids[i]}`);
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** Runs `run` against a fresh simulator and a manager connected to it, both closed afterwards. */
async function withManager<T>(
  simOptions: Parameters<typeof startSimulator>[0],
  options: Omit<WSManagerOptions, 'url'>,
  run: (manager: WSManager, sim: Simulator) => Promise<T>,
): Promise<T> {
  const sim = await startSimulator(simOptions);
  const manager = new WSManager({ url: sim.url, ...options });
  try {
    return await run(manager, sim);
  } finally {
    await manager.destroy();
    await sim.close();
  }
}

test('backfill: after abrupt drops the aggTrade ids a subscriber sees are contiguous, with no gap call', async () => {
  const registry = new Registry();
  await withManager(
    { rate: 100 },
    { registry, recovery: 'backfill', retry: slowRetry, random: () => 0.99 },
    async (manager, sim) => {
      const filled = record(manager, 'btcusdt@aggTrade', 'a');
      const reported = record(manager, 'btcusdt@aggTrade', 'a', 'report');
      await waitFor('first events', () => filled.ids.length >= 5);
      for (let round = 1; round <= 2; round++) {
        const seen = filled.ids.length;
        sim.dropConnections({ abrupt: true });
        await waitFor('the retry', () => manager.getMetrics().retryCount === round);
        await waitFor('live events after the refill', () => filled.ids.length >= seen + 60);
      }
      assertContiguous(filled.ids, 'backfill subscriber');
      assert.deepEqual(filled.gaps, []);
      assert.equal(reported.gaps.length, 2, 'a report subscriber of the same stream still gets the gaps');
      const missed = reported.gaps.reduce((n, g) => n + g.missed, 0);
      assert.ok(missed >= 30, `missed ${missed}`);
      assert.equal(await metric(registry, 'ws_manager_refills_total'), 2);
      assert.equal(await metric(registry, 'ws_manager_refilled_events_total'), missed);
      assert.ok((await metric(registry, 'ws_manager_rest_requests_total')) >= 2);
      assert.equal(
        await metric(registry, 'ws_manager_rest_weight_used_total'),
        4 * (await metric(registry, 'ws_manager_rest_requests_total')),
      );
    },
  );
});

test('backfill: a stalled upstream is replaced and the events of the stall refilled', async () => {
  await withManager(
    { rate: 100 },
    { recovery: 'backfill', stallTimeoutMs: 800, retry: slowRetry, random: () => 0.99 },
    async (manager, sim) => {
      const r = record(manager, 'ethusdt@aggTrade', 'a');
      await waitFor('first events', () => r.ids.length >= 5);
      assert.equal(sim.stall(), 1);
      const seen = r.ids.length;
      await waitFor('the retry', () => manager.getMetrics().retryCount === 1, 10_000);
      await waitFor('events after the stall', () => r.ids.length >= seen + 100, 10_000);
      assertContiguous(r.ids, 'after a stall');
      assert.deepEqual(r.gaps, []);
    },
  );
});

test('backfill: trade streams are refilled from the recent trades', async () => {
  await withManager({ rate: 100 }, { retry: slowRetry, random: () => 0.99 }, async (manager, sim) => {
    const r = record(manager, 'bnbusdt@trade', 't', 'backfill');
    await waitFor('first events', () => r.ids.length >= 5);
    const seen = r.ids.length;
    sim.dropConnections({ abrupt: true });
    await waitFor('the retry', () => manager.getMetrics().retryCount === 1);
    await waitFor('events after the refill', () => r.ids.length >= seen + 60);
    assertContiguous(r.ids, 'trade ids');
    assert.deepEqual(r.gaps, []);
  });
});

test('backfill: when the history no longer reaches the hole, the lost part is reported and the rest refilled', async () => {
  await withManager(
    { rate: 100, rest: { historySize: 10 } },
    { recovery: 'backfill', retry: slowRetry, random: () => 0.99 },
    async (manager, sim) => {
      const r = record(manager, 'solusdt@aggTrade', 'a');
      await waitFor('first events', () => r.ids.length >= 5);
      const last = () => r.ids.at(-1)!;
      sim.dropConnections({ abrupt: true });
      const before = last();
      await waitFor('the retry', () => manager.getMetrics().retryCount === 1);
      await waitFor('the gap reported', () => r.gaps.length === 1);
      await waitFor('events after it', () => r.ids.length > 0 && last() > r.gaps[0]!.received + 20);
      const gap = r.gaps[0]!;
      assert.equal(gap.expected, before + 1);
      assert.ok(gap.missed > 0);
      const at = r.ids.indexOf(gap.received);
      assert.equal(r.ids[at - 1], before, 'the gap sits exactly where the history ends');
      assertContiguous(r.ids.slice(at), 'after the reported part');
      assertContiguous(r.ids.slice(0, at), 'before the drop');
    },
  );
});

test('backfill: a refill the REST budget cannot pay for is reported as a gap, never sent', async () => {
  const registry = new Registry();
  // aggTrades costs 4: a budget of 3 per minute pays for nothing.
  await withManager(
    { rate: 100 },
    { registry, recovery: 'backfill', restWeightPerMinute: 3, retry: slowRetry, random: () => 0.99 },
    async (manager, sim) => {
      const r = record(manager, 'xrpusdt@aggTrade', 'a');
      await waitFor('first events', () => r.ids.length >= 5);
      sim.dropConnections({ abrupt: true });
      await waitFor('the gap reported', () => r.gaps.length === 1);
      await sleep(50);
      assert.equal(await metric(registry, 'ws_manager_rest_requests_total'), 0);
      const failures = await registry.getSingleMetric('ws_manager_refill_failures_total')?.get();
      assert.equal(failures?.values.find((v) => v.labels['reason'] === 'budget')?.value, 1);
    },
  );
});

test('backfill: REST answering 429 pauses REST calls for its Retry-After and the gap is reported', async () => {
  // The simulator's weight budget, like Binance's, resets when its clock's window turns: a new window
  // mid-test would let the refill through. A 10-minute window, entered at its start: the clock the
  // simulator and the manager share is moved there instead of waiting for it.
  const windowMs = 600_000;
  const clock = aheadClock();
  clock.advance(windowMs - (Date.now() % windowMs));
  const registry = new Registry();
  await withManager(
    { rate: 100, rest: { weightLimit: 4, requestsBeforeBan: 0, windowMs }, clock: clock.now },
    { registry, recovery: 'backfill', retry: slowRetry, random: () => 0.99, now: clock.now },
    async (manager, sim) => {
      const r = record(manager, 'btcusdt@aggTrade', 'a');
      await waitFor('first events', () => r.ids.length >= 5);
      // Spend the simulator's budget for this IP (weight 4 of 4), so the refill gets a 429.
      assert.equal((await fetch(`${sim.httpUrl}/api/v3/aggTrades?symbol=BTCUSDT&limit=1`)).status, 200);
      for (let round = 1; round <= 2; round++) {
        sim.dropConnections({ abrupt: true });
        await waitFor('the gap reported', () => r.gaps.length === round);
      }
      // The first refill met the 429; the second one was not sent (Retry-After), so no 418 could follow.
      assert.equal(await metric(registry, 'ws_manager_rest_requests_total'), 1);
      const failures =
        (await registry.getSingleMetric('ws_manager_refill_failures_total')?.get())?.values ?? [];
      assert.equal(failures.find((v) => v.labels['reason'] === 'refused')?.value, 1);
      assert.equal(failures.find((v) => v.labels['reason'] === 'retry_after')?.value, 1);
    },
  );
});

test('backfill: kline candles closed during an outage arrive as their closing updates, in order', async () => {
  await withManager(
    { rate: 20 },
    { retry: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Number.POSITIVE_INFINITY } },
    async (manager, sim) => {
      type Kline = { k: { t: number; x: boolean; c: string; o: string; v: string } };
      const filled: Kline[] = [];
      const plain: Kline[] = [];
      manager.subscribe('btcusdt@kline_1s', { next: (d) => filled.push(d as Kline), recovery: 'backfill' });
      manager.subscribe('btcusdt@kline_1s', (d) => plain.push(d as Kline));
      await waitFor('a closed candle', () => filled.some((e) => e.k.x), 5000);
      // Upgrades refused for 2.5 s while the connection is dropped: at least two candles close unseen.
      sim.refuseConnections(2500, 503, null);
      sim.dropConnections({ abrupt: true });
      const closedBefore = filled.filter((e) => e.k.x).length;
      await waitFor(
        'closes after the outage',
        () => filled.filter((e) => e.k.x).length >= closedBefore + 5,
        15_000,
      );
      const closes = (events: Kline[]) => events.filter((e) => e.k.x).map((e) => e.k.t);
      const filledCloses = closes(filled);
      for (let i = 1; i < filledCloses.length; i++)
        assert.equal(filledCloses[i], filledCloses[i - 1]! + 1000, `closes: ${filledCloses.join(',')}`);
      const plainCloses = closes(plain);
      assert.ok(
        plainCloses.some((t, i) => i > 0 && t !== plainCloses[i - 1]! + 1000),
        'without backfill a close is missing',
      );
      // The refilled closes are the exchange's own bars.
      const rows = (await (
        await fetch(`${sim.httpUrl}/api/v3/klines?symbol=BTCUSDT&interval=1s`)
      ).json()) as unknown[][];
      const byOpen = new Map(rows.map((r) => [r[0] as number, r]));
      for (const e of filled.filter((x) => x.k.x && !plainCloses.includes(x.k.t))) {
        const row = byOpen.get(e.k.t)!;
        assert.deepEqual([e.k.o, e.k.c, e.k.v], [row[1], row[4], row[5]]);
      }
      // Every candle's updates come in time order: no refilled close after a later candle's update.
      for (let i = 1; i < filled.length; i++) assert.ok(filled[i]!.k.t >= filled[i - 1]!.k.t);
    },
  );
});

test('backfill: refills refused on many streams at once give one line and one summary, not a line per gap', async () => {
  const { logger, lines } = captureLogger();
  const symbols = Array.from({ length: 12 }, (_, i) => `sym${i}usdt`);
  await withManager(
    { rate: 100, symbols },
    { logger, recovery: 'backfill', restWeightPerMinute: 3, retry: slowRetry, random: () => 0.99 },
    async (manager, sim) => {
      const recorders = symbols.map((s) => record(manager, `${s}@aggTrade`, 'a'));
      await waitFor('first events on every stream', () => recorders.every((r) => r.ids.length >= 3));
      sim.dropConnections({ abrupt: true });
      await waitFor('a gap reported on every stream', () => recorders.every((r) => r.gaps.length >= 1));
      await manager.destroy();
    },
  );
  const refused = lines.filter((l) => l.msg.startsWith('WSManager gap could not be refilled'));
  assert.equal(refused.length, 2, refused.map((l) => l.msg).join(' | '));
  const summary = refused[1] as unknown as {
    msg: string;
    repeated: number;
    byReason: Record<string, number>;
  };
  assert.match(summary.msg, /\(repeated\)$/);
  assert.equal(summary.repeated, symbols.length - 1);
  assert.deepEqual(summary.byReason, { budget: symbols.length - 1 });
});
