import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OrderBookView, type ResyncNotice, WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';

interface Snapshot {
  lastUpdateId: number;
  bids: string[][];
  asks: string[][];
}

/** Records the book's content at every update id it reaches, to compare with the simulator's at that id. */
class BookRecorder {
  readonly states = new Map<number, string>();
  readonly resyncs: ResyncNotice[] = [];
  updates = 0;

  readonly listener = {
    next: (book: OrderBookView) => {
      this.updates++;
      this.states.set(book.lastUpdateId, JSON.stringify({ bids: book.bids(), asks: book.asks() }));
      if (this.states.size > 2000) this.states.delete(this.states.keys().next().value as number);
    },
    resynced: (notice: ResyncNotice) => this.resyncs.push(notice),
  };
}

async function simulatorBook(sim: Simulator, symbol: string): Promise<Snapshot> {
  const res = await fetch(`${sim.httpUrl}/api/v3/depth?symbol=${symbol.toUpperCase()}&limit=5000`);
  return (await res.json()) as Snapshot;
}

/** The book equals the simulator's own book at the same update id. */
async function assertInStep(sim: Simulator, recorder: BookRecorder, symbol: string): Promise<void> {
  const truth = await simulatorBook(sim, symbol);
  await waitFor(`the book at ${truth.lastUpdateId}`, () => recorder.states.has(truth.lastUpdateId));
  assert.equal(
    recorder.states.get(truth.lastUpdateId),
    JSON.stringify({ bids: truth.bids, asks: truth.asks }),
  );
}

const fastRetry = { baseDelayMs: 100, maxDelayMs: 200 };

test('order book: follows the simulator exactly, and resynchronises by itself after drops and stalls', async () => {
  const sim = await startSimulator({ rate: 50 });
  const manager = new WSManager({ url: sim.url, retry: fastRetry, stallTimeoutMs: 800, random: () => 0.99 });
  try {
    const recorder = new BookRecorder();
    manager.orderBook('btcusdt', recorder.listener, { depth: 1000 });
    // An 800 ms stall timeout on a loaded machine may add a resync of its own at any step, so each
    // step waits for one more resync than it has seen rather than an exact count.
    await waitFor('in step', () => recorder.resyncs.length >= 1 && recorder.updates > 5);
    assert.equal(recorder.resyncs[0]!.reason, 'initial');
    await assertInStep(sim, recorder, 'btcusdt');

    let seen = recorder.resyncs.length;
    sim.dropConnections({ abrupt: true });
    await waitFor('resynced after the drop', () => recorder.resyncs.length > seen, 10_000);
    assert.ok(
      recorder.resyncs.slice(seen).some((notice) => /gap/.test(notice.reason)),
      'the drop is reported as a gap',
    );
    await assertInStep(sim, recorder, 'btcusdt');

    seen = recorder.resyncs.length;
    sim.stall();
    await waitFor('resynced after the stall', () => recorder.resyncs.length > seen, 10_000);
    await assertInStep(sim, recorder, 'btcusdt');
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('order book: after an exchange restart (update ids going back) the book is rebuilt from the new book', async () => {
  const first = await startSimulator({ rate: 50 });
  const port = first.port;
  const manager = new WSManager({
    url: first.url,
    retry: { ...fastRetry, maxAttempts: 50 },
    random: () => 0.99,
  });
  let second: Simulator | undefined;
  try {
    const recorder = new BookRecorder();
    manager.orderBook('ethusdt', recorder.listener);
    await waitFor('in step', () => recorder.resyncs.length === 1 && recorder.updates > 5);
    const before = Math.max(...recorder.states.keys());
    await first.close();
    // Same seed, same port: the restarted exchange's update ids start over, below the ones seen.
    second = await startSimulator({ rate: 50, port });
    await waitFor('resynced after the restart', () => recorder.resyncs.length === 2, 15_000);
    assert.match(recorder.resyncs[1]!.reason, /gap/);
    assert.ok(
      recorder.resyncs[1]!.lastUpdateId < before,
      'the ids went back: a fresh book, not a continuation',
    );
    await assertInStep(second, recorder, 'ethusdt');
  } finally {
    await manager.destroy();
    await second?.close();
    await first.close();
  }
});

test('order book: subscribers of one symbol share one book and one diff stream; the last one out releases it', async () => {
  const sim = await startSimulator({ rate: 50 });
  const manager = new WSManager({ url: sim.url, idleGraceMs: 0 });
  try {
    const books: OrderBookView[] = [];
    const stopA = manager.orderBook('bnbusdt', (b) => books.push(b));
    await waitFor('first book', () => books.length > 0);
    const late: OrderBookView[] = [];
    const stopB = manager.orderBook('bnbusdt', (b) => late.push(b));
    assert.equal(late.length, 1, 'a late subscriber gets the book at once');
    assert.equal(late[0], books.at(-1), 'the very same book object');
    assert.deepEqual(
      manager.listStreams().map((s) => [s.stream, s.subscribers]),
      [['bnbusdt@depth@100ms', 1]],
    );
    const bids = late[0]!.bids(5);
    assert.ok(bids.length === 5 && Number(bids[0]![0]) > Number(bids[4]![0]), 'bids best first');
    const asks = late[0]!.asks(5);
    assert.ok(Number(asks[0]![0]) > Number(bids[0]![0]), 'not crossed');
    stopA();
    stopB();
    stopB();
    await waitFor('the diff stream released', () => manager.listStreams().length === 0);
  } finally {
    await manager.destroy();
    await sim.close();
  }
});

test('order book: bad arguments and a missing REST base are refused with a message naming them', () => {
  const manager = new WSManager({ url: 'wss://example.com' });
  try {
    assert.throws(() => manager.orderBook('BTCUSDT', () => {}), /symbol must be a lowercase Binance symbol/);
    assert.throws(
      () => manager.orderBook('btcusdt', () => {}, { depth: 6000 }),
      /depth must be an integer from 1 to 5000/,
    );
    assert.throws(() => manager.orderBook('btcusdt', {} as never), /listener must be a function/);
    assert.throws(() => manager.orderBook('btcusdt', () => {}), /set the "restUrl" option/);
  } finally {
    void manager.destroy();
  }
});
