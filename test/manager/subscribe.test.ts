import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { from, Observable, retry, take, toArray } from 'rxjs';
import { ErrorCodes, InvalidArgumentError, StreamError } from '../../src/core/errors.js';
import { type StreamMessage, WSManager } from '../../src/manager/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogger, withDeadline } from './helpers.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ rate: 50 });
});
after(() => sim.close());

function controlMessages(): number {
  return sim.stats().controlMessagesReceived;
}

test('subscribers of a stream share one upstream subscription and get payload and raw bytes', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const before = controlMessages();
    const a: unknown[] = [];
    const b: StreamMessage[] = [];
    const unA = manager.subscribe('btcusdt@aggTrade', (data) => a.push(data));
    const unB = manager.subscribe('btcusdt@aggTrade', { next: (_d, m) => b.push(m) });
    await waitFor('events for both subscribers', () => a.length >= 5 && b.length >= 5);
    // The simulator is shared: wait for an earlier test's sockets to be gone rather than assert at once.
    await waitFor('only this manager connected', () => sim.stats().openConnections === 1);
    assert.deepEqual(sim.stats().connections[0]!.streams, ['btcusdt@aggTrade']);
    assert.equal(controlMessages() - before, 1, 'one SUBSCRIBE for both subscribers');
    const m = b[0]!;
    assert.equal(m.stream, 'btcusdt@aggTrade');
    assert.deepEqual(JSON.parse(m.payloadBytes().toString()), m.data);
    assert.deepEqual(JSON.parse(m.frameBytes().toString()), { stream: 'btcusdt@aggTrade', data: m.data });
    assert.equal((m.data as { e: string }).e, 'aggTrade');
    unA();
    unA();
    assert.equal(manager.getMetrics().subscribers, 1, 'a second unsubscribe call is harmless');
    const countA = a.length;
    await waitFor('more events for B', () => b.length >= 15);
    assert.equal(a.length, countA, 'no event after unsubscribe');
    unB();
  } finally {
    await manager.destroy();
  }
});

test('a throwing handler harms no other subscriber and is counted', async () => {
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const manager = new WSManager({ url: sim.url, registry, logger });
  try {
    let good = 0;
    manager.subscribe('ethusdt@trade', () => {
      throw new Error('boom');
    });
    manager.subscribe('ethusdt@trade', () => good++);
    await waitFor('the good subscriber receiving', () => good >= 10);
    const text = await registry.metrics();
    const threw = Number(
      /ws_manager_errors_total\{venue="binance",reason="handler_threw"\} (\d+)/.exec(text)?.[1],
    );
    assert.ok(threw >= 10, `handler_threw counted (${threw})`);
    const logged = lines.filter((l) => l.msg.includes('handler threw'));
    assert.ok(
      logged.length >= 1 && logged.length < 3,
      `handler errors logged rate-limited (${logged.length})`,
    );
  } finally {
    await manager.destroy();
  }
});

test('invalid stream names and listeners throw a TypeError with a stable code naming the value', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    for (const bad of ['BTCUSDT@trade', 'btcusdt@nope', '', 'btcusdt@kline_2m']) {
      assert.throws(
        () => manager.subscribe(bad, () => {}),
        (err: unknown) =>
          err instanceof TypeError &&
          err instanceof InvalidArgumentError &&
          err.code === ErrorCodes.INVALID_STREAM &&
          err.message.includes(JSON.stringify(bad)),
      );
    }
    assert.throws(
      () => manager.subscribe(42 as unknown as string, () => {}),
      (err: unknown) =>
        err instanceof TypeError && (err as InvalidArgumentError).code === ErrorCodes.INVALID_STREAM,
    );
    assert.throws(
      () => manager.subscribe('btcusdt@trade', {} as never),
      (err: unknown) => err instanceof InvalidArgumentError && err.code === ErrorCodes.INVALID_ARGUMENT,
    );
    assert.throws(() => manager.forceCleanupIdleStreams(-1), { code: ErrorCodes.INVALID_ARGUMENT });
    assert.throws(() => new WSManager({ url: sim.url, registry: {} as Registry }), {
      code: ErrorCodes.INVALID_OPTION,
    });
    assert.equal(manager.listStreams().length, 0, 'nothing was subscribed');
  } finally {
    await manager.destroy();
  }
});

test('RxJS: rxjs from() accepts the minimal Observable, and the Observable constructor can be injected', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const viaFrom = await new Promise<unknown[]>((resolve, reject) => {
      from(manager.observable('bnbusdt@trade'))
        .pipe(take(3), toArray())
        .subscribe({ next: resolve, error: reject });
    });
    assert.equal(viaFrom.length, 3);
    assert.equal((viaFrom[0] as { e: string }).e, 'trade');
    const observable = manager.observable('bnbusdt@trade', Observable);
    assert.ok(observable instanceof Observable);
    const viaCtor = await new Promise<unknown[]>((resolve, reject) => {
      observable.pipe(take(2), toArray()).subscribe({ next: resolve, error: reject });
    });
    assert.equal(viaCtor.length, 2);
    await waitFor('take() unsubscribing', () => manager.getMetrics().subscribers === 0);
    assert.throws(() => manager.observable('nope'), { code: ErrorCodes.INVALID_STREAM });
    const errors: unknown[] = [];
    from(manager.observable('solusdt@trade')).subscribe({ error: (e) => errors.push(e) });
    await manager.destroy();
    assert.equal(
      (errors[0] as StreamError).code,
      ErrorCodes.DESTROYED,
      'destroy ends the Observable with error',
    );
  } finally {
    await manager.destroy();
  }
});

test('async iterator: yields payloads, ends on break, overflow policies', async () => {
  const manager = new WSManager({ url: sim.url });
  try {
    const got: unknown[] = [];
    for await (const trade of manager.iterate('xrpusdt@trade')) {
      got.push(trade);
      if (got.length === 5) break;
    }
    assert.equal(got.length, 5);
    await waitFor('break unsubscribing', () => manager.getMetrics().subscribers === 0);

    const overflowing = manager.iterate('xrpusdt@trade', { bufferSize: 3 });
    const first = await overflowing.next();
    assert.equal(first.done, false);
    await waitFor('the buffer overflowing', () => manager.getMetrics().subscribers === 0);
    let yielded = 0;
    await assert.rejects(
      async () => {
        for (;;) {
          const r = await overflowing.next();
          if (r.done) break;
          yielded++;
        }
      },
      (err: unknown) => err instanceof StreamError && err.code === ErrorCodes.ITERATOR_OVERFLOW,
    );
    assert.equal(yielded, 3, 'buffered events are yielded before the overflow error');

    const dropping = manager.iterate('xrpusdt@trade', { bufferSize: 2, overflow: 'drop-oldest' });
    await dropping.next();
    await waitFor('events being dropped', () => dropping.dropped >= 3);
    assert.equal((await dropping.next()).done, false);
    await dropping.return();
    assert.throws(() => manager.iterate('xrpusdt@trade', { bufferSize: 0 }), {
      code: ErrorCodes.INVALID_OPTION,
    });
  } finally {
    await manager.destroy();
  }
});

test('destroy() errors open subscriptions with WS_ERR_DESTROYED; subscribe() after destroy throws', async () => {
  const registry = new Registry();
  const manager = new WSManager({ url: sim.url, registry });
  const errors: StreamError[] = [];
  manager.subscribe('btcusdt@bookTicker', { next: () => {}, error: (e) => errors.push(e) });
  await waitFor('the connection opening', () => manager.getMetrics().activeConnections === 1);
  await manager.destroy();
  await manager.destroy();
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, ErrorCodes.DESTROYED);
  const m = manager.getMetrics();
  assert.equal(m.activeConnections, 0);
  assert.equal(m.streamCleanups, m.streamCreations);
  assert.equal(m.isHealthy, false);
  assert.match(
    await registry.metrics(),
    /ws_manager_stream_cleanups_by_reason_total\{venue="binance",reason="destroyed"\} 1/,
  );
  assert.throws(() => manager.subscribe('btcusdt@trade', () => {}), { code: ErrorCodes.DESTROYED });
});

test('subscribing again from error() (what rxjs retry() does) gets a live subscription, counted once', async () => {
  // The exchange takes 1 stream per connection while the manager packs 2: the second stream is rejected,
  // and so is its re-subscription made from inside error().
  const local = await startSimulator({ rate: 20, limits: { maxStreamsPerConnection: 1 } });
  const manager = new WSManager({ url: local.url, maxStreamsPerConnection: 2 });
  try {
    manager.subscribe('btcusdt@trade', () => {});
    const errors: StreamError[] = [];
    const onError = (e: StreamError) => {
      errors.push(e);
      if (errors.length === 1) manager.subscribe('ethusdt@trade', { next: () => {}, error: onError });
    };
    manager.subscribe('ethusdt@trade', { next: () => {}, error: onError });
    await waitFor('the re-subscription rejected in its turn', () => errors.length === 2, 10_000);
    assert.deepEqual(
      errors.map((e) => e.code),
      [ErrorCodes.SUBSCRIBE_REJECTED, ErrorCodes.SUBSCRIBE_REJECTED],
    );
    const m = manager.getMetrics();
    assert.equal(m.subscribers, 1, 'only the btc subscriber is left');
    assert.equal(m.activeStreams, 1);
    assert.equal(m.streamCreations, 3);
    assert.equal(m.streamCleanups, 2);
    assert.deepEqual(
      manager.listStreams().map((s) => s.stream),
      ['btcusdt@trade'],
    );
  } finally {
    await manager.destroy();
    await local.close();
  }
  assert.equal(manager.getMetrics().subscribers, 0, 'destroy() leaves no subscriber counted');
});

test('rxjs retry() re-subscribes after WS_ERR_SUBSCRIBE_REJECTED and receives events', async () => {
  // The first SUBSCRIBE of eth is rejected (one stream per connection, the manager packs 2); when btc
  // leaves, the retried subscription fits and delivers.
  const local = await startSimulator({ rate: 20, limits: { maxStreamsPerConnection: 1 } });
  const manager = new WSManager({ url: local.url, maxStreamsPerConnection: 2, idleGraceMs: 0 });
  try {
    const unBtc = manager.subscribe('btcusdt@trade', () => {});
    await waitFor('btc upstream', () => local.stats().connections[0]?.streams.length === 1);
    let attempts = 0;
    const got = new Promise<unknown[]>((resolve, reject) => {
      from(manager.observable('ethusdt@trade'))
        .pipe(
          retry({
            count: 3,
            delay: () => {
              attempts++;
              unBtc();
              manager.forceCleanupIdleStreams();
              return from([0]);
            },
          }),
          take(3),
          toArray(),
        )
        .subscribe({ next: resolve, error: reject });
    });
    const events = await withDeadline('three events after the retry', got);
    assert.equal(events.length, 3);
    assert.equal(attempts, 1);
    await waitFor('take() unsubscribing', () => manager.getMetrics().subscribers === 0);
  } finally {
    await manager.destroy();
    await local.close();
  }
});

test('frame listeners get the bytes; a stream only they read is routed without parsing its payloads', async () => {
  const manager = new WSManager({ url: sim.url });
  const parse = JSON.parse;
  let parsed = 0;
  JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
    if (text.startsWith('{"stream":"bnbusdt@trade"')) parsed++;
    return parse(text, reviver);
  }) as typeof JSON.parse;
  try {
    const frames: Buffer[] = [];
    const unFrames = manager.subscribe('bnbusdt@trade', {
      frames: true,
      next: (frame) => frames.push(frame.payloadBytes()),
    });
    await waitFor('frames', () => frames.length >= 5);
    assert.equal(parsed, 0, 'no frame of a stream only frame listeners read is parsed');
    const ids = frames.map((bytes) => (parse(bytes.toString()) as { t: number }).t);
    assert.deepEqual(
      ids,
      ids.map((_, i) => ids[0]! + i),
      'events in order, once each',
    );
    const data: unknown[] = [];
    const unData = manager.subscribe('bnbusdt@trade', (d) => data.push(d));
    await waitFor('data', () => data.length >= 3);
    assert.ok(parsed >= 3, 'a subscriber of the payload gets it parsed');
    assert.equal((data[0] as { e: string }).e, 'trade');
    unData();
    const since = parsed;
    const count = frames.length;
    await waitFor('more frames', () => frames.length >= count + 5);
    assert.ok(parsed <= since + 1, 'unparsed again once only frame listeners are left');
    unFrames();
  } finally {
    JSON.parse = parse;
    await manager.destroy();
  }
});
