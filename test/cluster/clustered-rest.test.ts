/**
 * The `/api/v3/*` routes of a clustered gateway (NATS_URL), served through the ingest tier over NATS
 * request/reply, answer as a single-process gateway's do against the same simulator: status, Binance's
 * bodies and per-client weights. An ingest node stopping finishes what it received; a request a dead
 * node took is sent again. Without any ingest node, or with one that does not answer, a call gets the
 * single-process gateway's answer to an unreachable exchange, never a hang. Real nats-server,
 * simulator, ingest nodes and gateways on loopback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { NatsRest } from '../../src/cluster/nats-rest.js';
import { acknowledge, requestAnswer, sendAnswer } from '../../src/cluster/rest-wire.js';
import { BOOK_SUBJECT, REST_HEADERS, REST_QUEUE, REST_SUBJECT } from '../../src/cluster/subjects.js';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, type HttpResult, startTestGateway } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, startNatsServer } from './nats-server.js';

const SYMBOLS = ['restausdt', 'restbusdt', 'restcusdt', 'restdusdt', 'resteusdt', 'restfusdt'];
// Small, so that the exchangeInfo answer (about 2.2 KB here) and the book snapshots travel in several
// messages (1 KiB each, the least rest-wire.ts sends), as Binance's exchangeInfo (several MiB) does
// under NATS's default 1 MiB.
const MAX_PAYLOAD = 4500;
const CHUNK = 1024;
const common = { port: 0, host: '127.0.0.1', shardCount: 4, leaseTtlSeconds: 3 };

/**
 * The weight each call charged its client, from the gateway's `X-MBX-USED-WEIGHT-1M` (a count in windows
 * aligned to the minute, so a window that began since the last call counts from 0).
 */
function chargedWeights(): (res: HttpResult) => number {
  let last = 0;
  return (res) => {
    const used = Number(res.headers['x-mbx-used-weight-1m']);
    const charged = used >= last ? used - last : used;
    last = used;
    return charged;
  };
}

/** An answer without what differs between two calls a moment apart (the clock). */
function comparable(
  res: HttpResult,
  charged: (res: HttpResult) => number = () => 0,
): { status: number; type: unknown; weight: number; body: unknown } {
  let body: unknown = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {}
  if (typeof body === 'object' && body !== null && 'serverTime' in body) {
    (body as Record<string, unknown>)['serverTime'] = 'a time';
  }
  return {
    status: res.status,
    type: res.headers['content-type'],
    weight: charged(res),
    body,
  };
}

describe('REST in the clustered mode', () => {
  it('a clustered gateway answers /api/v3/* as a single-process gateway does', async (t) => {
    const cleanups: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      for (const close of cleanups.reverse()) await close().catch(() => {});
    });
    const nats = await startNatsServer(t, { config: `max_payload: ${MAX_PAYLOAD}\n` });
    if (nats === undefined) return;
    cleanups.push(() => nats.stop());
    const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
    cleanups.push(() => simulator.close());
    const ingest = await startIngest(
      { ...common, natsUrl: nats.url, upstreamUrl: simulator.url, nodeId: 'ingest' },
      { logger: silentLogger() },
    );
    cleanups.push(() => ingest.close());
    await waitFor('shards leased', () => ingest.leases.ownedShards().length === 4, 10_000);
    const clustered = await startGateway(
      { ...common, natsUrl: nats.url, nodeId: 'gateway' },
      { logger: silentLogger() },
    );
    cleanups.push(() => clustered.close());
    const single = await startTestGateway({ upstreamUrl: simulator.url, useNewWsManager: true });
    cleanups.push(() => single.close());

    // Same calls, same order, to each gateway: the same answers and the same per-client weights.
    const weightOf = { single: chargedWeights(), clustered: chargedWeights() };
    const pair = async (call: string) => {
      const a = await fetchRaw(`${single.url}${call}`);
      const b = await fetchRaw(`${clustered.url}${call}`);
      return [comparable(a, weightOf.single), comparable(b, weightOf.clustered), b] as const;
    };
    const [fullSingle, fullClustered, full] = await pair('/api/v3/exchangeInfo');
    assert.deepEqual(fullClustered, fullSingle);
    assert.equal(full.status, 200, full.body);
    assert.ok(full.body.length > 2 * CHUNK, `three messages or more: ${full.body.length} bytes`);
    const calls = [
      '/api/v3/ping',
      '/api/v3/exchangeInfo?symbol=RESTAUSDT',
      '/api/v3/exchangeInfo?symbol=NOPEUSDT',
      '/api/v3/depth?symbol=NOPEUSDT',
      '/api/v3/depth?symbol=restausdt',
      '/api/v3/trades',
      '/api/v3/klines?symbol=RESTAUSDT&interval=7m',
      '/api/v3/nothing',
    ];
    for (const call of calls) {
      const [a, b] = await pair(call);
      assert.deepEqual(b, a, call);
    }
    // Answers that move with the market: the same status, weight and shape.
    const moving = [
      '/api/v3/time',
      '/api/v3/trades?symbol=RESTAUSDT&limit=5',
      '/api/v3/aggTrades?symbol=RESTAUSDT&limit=5',
      '/api/v3/klines?symbol=RESTAUSDT&interval=1m&limit=3',
      '/api/v3/depth?symbol=RESTBUSDT&limit=5',
    ];
    for (const call of moving) {
      const [ca, cb, b] = await pair(call);
      assert.equal(cb.status, 200, `${call}: ${b.body}`);
      assert.deepEqual([cb.status, cb.type, cb.weight], [ca.status, ca.type, ca.weight], call);
      if (Array.isArray(ca.body)) {
        assert.ok(Array.isArray(cb.body), call);
        assert.equal(cb.body.length, ca.body.length, call);
        assert.deepEqual(Object.keys(cb.body[0]), Object.keys(ca.body[0]), call);
      } else {
        assert.deepEqual(Object.keys(cb.body as object), Object.keys(ca.body as object), call);
      }
    }
    const depth = JSON.parse(
      (await fetchRaw(`${clustered.url}/api/v3/depth?symbol=RESTBUSDT&limit=5`)).body,
    ) as { lastUpdateId: number; bids: string[][]; asks: string[][] };
    assert.equal(depth.bids.length, 5);
    assert.ok(Number(depth.bids[0]![0]) < Number(depth.asks[0]![0]), 'best bid below best ask');
    const truth = JSON.parse(
      (await fetchRaw(`${simulator.httpUrl}/api/v3/depth?symbol=RESTBUSDT&limit=5`)).body,
    ) as { lastUpdateId: number };
    assert.ok(truth.lastUpdateId - depth.lastUpdateId < 20, 'the book follows the exchange');

    // The gateways never called the exchange: the ingest node's REST client made every call.
    assert.equal(
      (await clustered.registry.getSingleMetric('ws_manager_rest_requests_total')?.get())?.values.length ?? 0,
      0,
    );
    const made = (await ingest.registry.getSingleMetric('ws_manager_rest_requests_total')?.get())?.values[0]
      ?.value;
    assert.ok((made ?? 0) >= 7, `the ingest node made the calls: ${made}`);

    // Requests that are not well formed get an answer that says so, and the node goes on answering.
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    for (const [subject, body] of [
      [REST_SUBJECT, 'not json'],
      [REST_SUBJECT, JSON.stringify({ path: '/elsewhere', weight: 1, maxBytes: 10 })],
      [REST_SUBJECT, JSON.stringify({ path: '/api/v3/ping', weight: -1, maxBytes: 10 })],
      [BOOK_SUBJECT, JSON.stringify({ symbol: 'NOT A SYMBOL', depth: 10 })],
      [BOOK_SUBJECT, JSON.stringify({ symbol: 'restausdt', depth: 10_000_000 })],
    ] as const) {
      const answer = await requestAnswer(nc, subject, body, {
        ackMs: 1000,
        attempts: 1,
        answerMs: 2000,
        maxBytes: 1000,
      });
      assert.ok(answer.ok, body);
      assert.equal(answer.headers?.get(REST_HEADERS.outcome), 'invalid', body);
    }
    assert.equal((await fetchRaw(`${clustered.url}/api/v3/trades?symbol=RESTAUSDT&limit=1`)).status, 200);
  });

  it('an ingest node stopping (SIGTERM) finishes the answers under way and the other node takes the next', async (t) => {
    const cleanups: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      for (const close of cleanups.reverse()) await close().catch(() => {});
    });
    const nats = await startNatsServer(t);
    if (nats === undefined) return;
    cleanups.push(() => nats.stop());
    const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
    cleanups.push(() => simulator.close());
    const [a, b] = await Promise.all(
      ['stop-a', 'stop-b'].map((nodeId) =>
        startIngest(
          { ...common, natsUrl: nats.url, upstreamUrl: simulator.url, nodeId },
          { logger: silentLogger() },
        ),
      ),
    );
    cleanups.push(
      () => a!.close(),
      () => b!.close(),
    );
    const gateway = await startGateway(
      { ...common, natsUrl: nats.url, nodeId: 'gateway' },
      { logger: silentLogger() },
    );
    cleanups.push(() => gateway.close());
    const callsOf = async (node: typeof a) =>
      (await node!.registry.getSingleMetric('ws_manager_rest_requests_total')?.get())?.values[0]?.value ?? 0;
    // Every exchange answer takes 600 ms, so calls are under way at both nodes when one stops.
    simulator.setLatency(600);
    const trades = () => fetchRaw(`${gateway.url}/api/v3/trades?symbol=RESTAUSDT&limit=2`);
    const underWay = Array.from({ length: 8 }, trades);
    await waitFor(
      'calls under way at both nodes',
      async () => (await callsOf(a)) > 0 && (await callsOf(b)) > 0,
    );
    const stopped = a!.close();
    const answers = await Promise.all(underWay);
    assert.deepEqual(
      answers.map((r) => r.status),
      answers.map(() => 200),
    );
    await stopped;
    const atStop = await callsOf(a);
    simulator.setLatency(0);
    const after = await Promise.all(Array.from({ length: 4 }, trades));
    assert.deepEqual(
      after.map((r) => r.status),
      after.map(() => 200),
    );
    assert.equal(await callsOf(a), atStop, 'the stopped node took no more calls');
  });

  it('no ingest node: the answer of a single-process gateway whose exchange is unreachable, at once', async (t) => {
    const cleanups: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      for (const close of cleanups.reverse()) await close().catch(() => {});
    });
    const nats = await startNatsServer(t);
    if (nats === undefined) return;
    cleanups.push(() => nats.stop());
    const clustered = await startGateway(
      { ...common, natsUrl: nats.url, nodeId: 'alone' },
      { logger: silentLogger() },
    );
    cleanups.push(() => clustered.close());
    const unreachable = await startTestGateway({
      upstreamUrl: `ws://127.0.0.1:${await freePort()}`,
      useNewWsManager: true,
    });
    cleanups.push(() => unreachable.close());
    for (const call of [
      '/api/v3/trades?symbol=RESTAUSDT',
      '/api/v3/exchangeInfo',
      '/api/v3/time',
      '/api/v3/depth?symbol=RESTAUSDT&limit=10',
    ]) {
      const expected = await fetchRaw(`${unreachable.url}${call}`);
      const started = Date.now();
      const answer = await fetchRaw(`${clustered.url}${call}`);
      const tookMs = Date.now() - started;
      assert.deepEqual(comparable(answer), comparable(expected), call);
      assert.equal(answer.status, 502, call);
      assert.equal(JSON.parse(answer.body).code, -1001, call);
      assert.ok(tookMs < 1000, `${call} answered in ${tookMs} ms`);
    }
  });

  it('a request no node acknowledges (sent to a dead one) is sent again, and another node answers it', async (t) => {
    const nats = await startNatsServer(t);
    if (nats === undefined) return;
    const nc = await connect({ servers: nats.url });
    const nodes = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
    t.after(async () => {
      for (const c of [nc, ...nodes]) await c.close();
      await nats.stop();
    });
    // Two members of the queue group: one takes requests and never acknowledges them, as a node the
    // server has not yet found dead; the other answers.
    let swallowed = 0;
    nodes[0]!.subscribe(REST_SUBJECT, {
      queue: REST_QUEUE,
      callback: () => {
        swallowed++;
      },
    });
    let answered = 0;
    nodes[1]!.subscribe(REST_SUBJECT, {
      queue: REST_QUEUE,
      callback: (_e, msg) => {
        acknowledge(nodes[1]!, msg.reply!);
        answered++;
        sendAnswer(
          nodes[1]!,
          msg.reply!,
          { [REST_HEADERS.outcome]: 'ok', [REST_HEADERS.status]: '200', [REST_HEADERS.contentType]: 'json' },
          Buffer.from(`[${answered}]`),
        );
      },
    });
    await Promise.all(nodes.map((c) => c.flush()));
    // Many sendings at most, so that no call can meet the silent member every time.
    const rest = new NatsRest(nc, silentLogger(), { ackTimeoutMs: 200, attempts: 30 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => rest.forward('/api/v3/trades?symbol=RESTAUSDT', 25, 1 << 20)),
    );
    assert.deepEqual(
      answers.map((a) => a.ok && a.status),
      answers.map(() => 200),
    );
    // More than once for a call whose acknowledgement came late on a busy machine (then sent again).
    assert.ok(answered >= 20, `the answering member answered ${answered} requests`);
    assert.ok(swallowed > 0, 'the silent member got some of the requests');
  });

  it('an ingest node that does not answer, or stops halfway: no answer after the timeout, never a hang', async (t) => {
    const nats = await startNatsServer(t);
    if (nats === undefined) return;
    const nc = await connect({ servers: nats.url });
    const silent = await connect({ servers: nats.url });
    t.after(async () => {
      await nc.close();
      await silent.close();
      await nats.stop();
    });
    // A member of the queue group that swallows book requests and answers REST ones halfway.
    silent.subscribe(BOOK_SUBJECT, { queue: REST_QUEUE, callback: () => {} });
    silent.subscribe(REST_SUBJECT, {
      queue: REST_QUEUE,
      callback: (_e, msg) => {
        const h = natsHeaders();
        h.set(REST_HEADERS.outcome, 'ok');
        h.set(REST_HEADERS.status, '200');
        msg.respond('[{"id":1}', { headers: h });
      },
    });
    await silent.flush();
    const rest = new NatsRest(nc, silentLogger(), {
      forwardTimeoutMs: 300,
      snapshotTimeoutMs: 300,
      ackTimeoutMs: 100,
      attempts: 3,
    });
    let started = Date.now();
    assert.deepEqual(await rest.forward('/api/v3/trades?symbol=RESTAUSDT', 25, 1 << 20), {
      ok: false,
      reason: 'unreachable',
      retryAfterMs: 0,
    });
    let tookMs = Date.now() - started;
    // Its first message counts as the acknowledgement: the answer's timeout applies.
    assert.ok(tookMs >= 400 && tookMs < 1500, `forward gave up after ${tookMs} ms`);
    started = Date.now();
    assert.equal(await rest.snapshot('restausdt', 100), undefined);
    tookMs = Date.now() - started;
    // Never acknowledged: three sendings of 100 ms.
    assert.ok(tookMs >= 300 && tookMs < 1500, `snapshot gave up after ${tookMs} ms`);
  });
});
