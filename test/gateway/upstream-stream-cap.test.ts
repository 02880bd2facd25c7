/**
 * Issue 9 item 4: MAX_UPSTREAM_STREAMS counts what is subscribed upstream, including the streams a
 * sharing source keeps for its idle grace after the last client left. Real gateway, simulator and ws
 * clients; the simulator's `/stats` is the upstream's own view of what it carries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunningGateway } from '../../src/gateway/index.js';
import { UpstreamStreamCap } from '../../src/gateway/upstream-stream-cap.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

/** Distinct symbols the simulator accepts (any lowercase name is a symbol to it). */
function streamsOf(prefix: string, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${prefix}${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}usdt@trade`,
  );
}

function upstreamSubscriptions(gateway: RunningGateway): number {
  return gateway.simulator!.stats().connections.reduce((n, c) => n + c.streams.length, 0);
}

describe('MAX_UPSTREAM_STREAMS counts what is subscribed upstream', () => {
  it('WSManager: a client cycling through 150 streams with a cap of 50 never holds more than 50 upstream', async () => {
    const cap = 50;
    // A high message rate so the cycle runs quickly; the per-client rate is not what is tested here.
    const gateway = await startTestGateway({
      useNewWsManager: true,
      maxUpstreamStreams: cap,
      clientMaxMessagesPerSecond: 1000,
    });
    const client = await openClient(`${gateway.wsUrl}/ws`);
    try {
      const all = streamsOf('cy', 150);
      let id = 1;
      let peakListed = 0;
      let peakUpstream = 0;
      for (let i = 0; i < all.length; i += 10) {
        const batch = all.slice(i, i + 10);
        assert.deepEqual(
          await client.control('SUBSCRIBE', batch, id),
          { result: null, id },
          `batch ${i / 10}`,
        );
        id++;
        // The simulator has the batch once WSManager's SUBSCRIBE reached it.
        await waitFor(`upstream has ${batch.at(-1)}`, () =>
          gateway.simulator!.stats().connections.some((c) => c.streams.includes(batch.at(-1)!)),
        );
        peakListed = Math.max(peakListed, gateway.source.listStreams().length);
        peakUpstream = Math.max(peakUpstream, upstreamSubscriptions(gateway));
        assert.deepEqual(await client.control('UNSUBSCRIBE', batch, id), { result: null, id });
        id++;
      }
      assert.ok(peakListed <= cap, `the source listed ${peakListed} streams, cap ${cap}`);
      assert.ok(peakUpstream <= cap, `the simulator carried ${peakUpstream} streams, cap ${cap}`);
      assert.ok(
        peakListed >= cap - 10,
        `idle streams were kept for their grace until needed (${peakListed})`,
      );
      assert.ok(gateway.source.getMetrics().idleStreams > 0, 'released streams still idle upstream');
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it('WSManager: refuses only when every upstream stream is held, and a re-subscribed idle stream costs nothing', async () => {
    const gateway = await startTestGateway({
      useNewWsManager: true,
      maxUpstreamStreams: 4,
      clientMaxMessagesPerSecond: 1000,
    });
    const clients: TestClient[] = [];
    try {
      const [a, b, c, d, e] = streamsOf('rf', 5) as [string, string, string, string, string];
      clients.push(await openClient(`${gateway.wsUrl}/stream?streams=${a}/${b}/${c}`));
      const cycler = await openClient(`${gateway.wsUrl}/ws`);
      clients.push(cycler);
      assert.deepEqual(await cycler.control('SUBSCRIBE', [d], 1), { result: null, id: 1 });
      assert.deepEqual(await cycler.control('UNSUBSCRIBE', [d], 2), { result: null, id: 2 });
      assert.equal(gateway.source.getMetrics().idleStreams, 1, `${d} idle upstream`);
      // d is idle upstream: taking it again costs no new upstream subscription and releases nothing.
      assert.deepEqual(await cycler.control('SUBSCRIBE', [d], 3), { result: null, id: 3 });
      assert.equal(gateway.source.listStreams().length, 4);
      // Every upstream stream is held: a fifth is refused.
      const refused = await cycler.control('SUBSCRIBE', [e], 4);
      assert.equal((refused['error'] as { code: number }).code, 2);
      // Once d is idle again, e takes its place early instead of being refused.
      assert.deepEqual(await cycler.control('UNSUBSCRIBE', [d], 5), { result: null, id: 5 });
      assert.deepEqual(await cycler.control('SUBSCRIBE', [e], 6), { result: null, id: 6 });
      assert.deepEqual(
        gateway.source
          .listStreams()
          .map((s) => s.stream)
          .sort(),
        [a, b, c, e].sort(),
      );
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });

  it("WSManager: the depth route's order books count against the cap, and a book past it gets 503 -1008", async () => {
    const gateway = await startTestGateway({
      useNewWsManager: true,
      maxUpstreamStreams: 3,
      simulatorRate: 20,
    });
    const client = await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`);
    const depth = (symbol: string) => fetchRaw(`${gateway.url}/api/v3/depth?symbol=${symbol}&limit=5`);
    try {
      assert.equal((await depth('BTCUSDT')).status, 200, 'the third upstream stream is a book');
      const refused = await depth('BNBUSDT');
      const upstream = upstreamSubscriptions(gateway);
      assert.deepEqual(
        [
          refused.status,
          refused.headers['content-type'],
          JSON.parse(refused.body),
          refused.headers['retry-after'],
        ],
        [
          503,
          'application/json;charset=UTF-8',
          {
            code: -1008,
            msg: 'Server is currently overloaded with other requests. Please try again in a few minutes.',
          },
          '60',
        ],
        `a fourth upstream stream for a book (the simulator carries ${upstream})`,
      );
      assert.ok(upstream <= 3, `the simulator carried ${upstream} streams, cap 3`);
      assert.equal((await depth('BTCUSDT')).status, 200, 'a kept book still answers');
      // The books hold their streams as the clients do: a client's new stream is refused too.
      const refusedClient = await client.control('SUBSCRIBE', ['solusdt@trade'], 1);
      assert.equal((refusedClient['error'] as { code: number }).code, 2);
      // A client's stream let go is idle upstream, and gives way to a book.
      assert.deepEqual(await client.control('UNSUBSCRIBE', ['ethusdt@trade'], 2), { result: null, id: 2 });
      assert.equal((await depth('BNBUSDT')).status, 200);
      assert.ok(upstreamSubscriptions(gateway) <= 3);
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it('Legacy: client subscriptions (one upstream socket each) stay within the cap while a client cycles', async () => {
    const cap = 5;
    const gateway = await startTestGateway({
      useNewWsManager: false,
      maxUpstreamStreams: cap,
      clientMaxMessagesPerSecond: 1000,
    });
    const client = await openClient(`${gateway.wsUrl}/ws`);
    try {
      const all = streamsOf('lg', 20);
      let id = 1;
      let peak = 0;
      for (let i = 0; i < all.length; i += 5) {
        const batch = all.slice(i, i + 5);
        assert.deepEqual(await client.control('SUBSCRIBE', batch, id), { result: null, id });
        id++;
        await waitFor(
          'the batch connected upstream',
          () => gateway.simulator!.stats().openConnections === cap,
        );
        peak = Math.max(
          peak,
          gateway.simulator!.stats().openConnections,
          gateway.source.getMetrics().subscribers,
        );
        const extra = await client.control('SUBSCRIBE', [`x${i}usdt@trade`], id);
        assert.equal((extra['error'] as { code: number }).code, 2, 'a sixth socket is refused');
        id++;
        assert.deepEqual(await client.control('UNSUBSCRIBE', batch, id), { result: null, id });
        id++;
        await waitFor('sockets closed upstream', () => gateway.simulator!.stats().openConnections === 0);
      }
      assert.equal(peak, cap);
    } finally {
      await client.close();
      await gateway.close();
    }
  });
});

describe('UpstreamStreamCap asks the source whether it shares upstream subscriptions', () => {
  const source = (sharesUpstream: boolean | undefined) => ({
    sharesUpstream,
    listStreams: () => [],
    forceCleanupIdleStreams: () => 0,
  });

  it('a sharing source: two clients on one stream cost one upstream stream', () => {
    const cap = new UpstreamStreamCap(2, source(true));
    assert.ok(cap.acquire('btcusdt@trade') && cap.acquire('btcusdt@trade'));
    assert.equal(cap.used, 1);
    assert.ok(cap.admits(['ethusdt@trade']));
  });

  it('a source that does not share (or does not say): every client subscription counts', () => {
    for (const shares of [false, undefined]) {
      const cap = new UpstreamStreamCap(2, source(shares));
      assert.ok(cap.acquire('btcusdt@trade') && cap.acquire('btcusdt@trade'));
      assert.equal(cap.used, 2);
      assert.ok(!cap.admits(['ethusdt@trade']));
    }
  });
});
