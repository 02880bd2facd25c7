/**
 * The behaviour both upstream implementations share, run once per value of USE_NEW_WS_MANAGER:
 * the same downstream protocol, the same byte forwarding, the same metrics contract, the same health
 * verdict when idle, and gap reporting after an upstream drop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GapEvent, StreamMessage } from '../../src/core/stream-source.js';
import type { RunningGateway } from '../../src/gateway/index.js';
import { recordUpgradeAttempts } from '../support/upgrade-attempts.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway } from './helpers.js';

for (const useNewWsManager of [false, true]) {
  const implementation = useNewWsManager ? 'WSManager' : 'Legacy';

  describe(`StreamSource contract through the gateway: ${implementation}`, () => {
    let gateway: RunningGateway;

    before(async () => {
      // Short legacy reconnect delay so the drop test stays fast (the production default is 5 s), and a
      // control budget above Binance's 5/s so one test can send a burst of control messages.
      gateway = await startTestGateway({
        useNewWsManager,
        legacyReconnectDelayMs: 200,
        clientMaxMessagesPerSecond: 50,
        adminToken: 'admin-secret',
      });
    });
    after(async () => {
      await gateway.close();
    });

    it('reports which implementation serves', async () => {
      assert.equal(gateway.source.implementation, implementation);
      const res = await fetchRaw(`${gateway.url}/api/ws/metrics`);
      assert.equal(res.status, 200);
      const body = JSON.parse(res.body) as { success: boolean; metrics: Record<string, unknown> };
      assert.equal(body.success, true);
      assert.equal(body.metrics['implementation'], implementation);
      assert.equal(body.metrics['isHealthy'], true);
    });

    it('is healthy when idle with no streams', async () => {
      assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);
      assert.equal((await fetchRaw(`${gateway.url}/readyz`)).status, 200);
    });

    it('serves raw payloads on /ws/<stream>', async () => {
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
      await waitFor('raw trades', () => client.messages.length >= 3);
      for (const text of client.messages.slice(0, 3)) {
        const event = JSON.parse(text) as Record<string, unknown>;
        assert.equal(event['e'], 'trade');
        assert.equal(event['s'], 'BTCUSDT');
        assert.equal('stream' in event, false);
      }
      await client.close();
    });

    it('serves wrapped frames on /stream?streams=a/b', async () => {
      const client = await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@aggTrade`);
      await waitFor(
        'both streams',
        () =>
          client.messages.some((m) => m.startsWith('{"stream":"btcusdt@trade"')) &&
          client.messages.some((m) => m.startsWith('{"stream":"ethusdt@aggTrade"')),
      );
      const frame = JSON.parse(client.messages[0]!) as { stream: string; data: Record<string, unknown> };
      assert.ok(['btcusdt@trade', 'ethusdt@aggTrade'].includes(frame.stream));
      assert.equal(typeof frame.data['E'], 'number');
      await client.close();
    });

    it('answers live control messages like Binance', async () => {
      const client = await openClient(`${gateway.wsUrl}/ws`);
      assert.deepEqual(await client.control('SUBSCRIBE', ['bnbusdt@trade'], 1), { result: null, id: 1 });
      assert.deepEqual(await client.control('LIST_SUBSCRIPTIONS', undefined, 2), {
        result: ['bnbusdt@trade'],
        id: 2,
      });
      assert.deepEqual(await client.control('GET_PROPERTY', ['combined'], 3), { result: false, id: 3 });
      await waitFor('raw event', () => client.messages.some((m) => m.startsWith('{"e":"trade"')));
      assert.deepEqual(await client.control('SET_PROPERTY', ['combined', true], 4), { result: null, id: 4 });
      const before = client.messages.length;
      await waitFor('combined event after SET_PROPERTY', () =>
        client.messages.slice(before).some((m) => m.startsWith('{"stream":"bnbusdt@trade","data":{')),
      );
      const invalid = await client.control('SUBSCRIBE', ['BTCUSDT@trade'], 5);
      assert.deepEqual(invalid['error'], { code: 2, msg: 'Invalid request: invalid stream' });
      assert.deepEqual(await client.control('UNSUBSCRIBE', ['bnbusdt@trade'], 6), { result: null, id: 6 });
      assert.deepEqual(await client.control('LIST_SUBSCRIPTIONS', undefined, 7), { result: [], id: 7 });
      await client.close();
    });

    it('builds the combined frame from the payload bytes', async () => {
      const seen: StreamMessage[] = [];
      const unsubscribe = gateway.source.subscribe('solusdt@trade', (_data, message) => seen.push(message));
      await waitFor('events in process', () => seen.length >= 2);
      unsubscribe();
      for (const message of seen) {
        const expected = `{"stream":"solusdt@trade","data":${message.payloadBytes().toString()}}`;
        assert.equal(message.frameBytes().toString(), expected);
        assert.deepEqual(JSON.parse(message.payloadBytes().toString()), message.data);
      }
    });

    it('lists streams with their subscribers in the admin API', async () => {
      // Release whatever earlier tests left idle, so the count below is this test's stream alone.
      await fetchRaw(`${gateway.url}/api/ws/admin/cleanup?idleMs=0`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-secret' },
      });
      const a = await openClient(`${gateway.wsUrl}/ws/xrpusdt@bookTicker`);
      const b = await openClient(`${gateway.wsUrl}/ws/xrpusdt@bookTicker`);
      await waitFor('bookTicker events', () => a.messages.length > 0 && b.messages.length > 0);
      const res = await fetchRaw(`${gateway.url}/api/ws/admin/streams`, {
        headers: { authorization: 'Bearer admin-secret' },
      });
      assert.equal(res.status, 200);
      const body = JSON.parse(res.body) as { streams: Array<{ stream: string; subscribers: number }> };
      const entry = body.streams.find((s) => s.stream === 'xrpusdt@bookTicker');
      assert.equal(entry?.subscribers, 2);
      await a.close();
      await b.close();
      await waitFor(
        'subscribers released',
        () =>
          !gateway.source.listStreams().some((s) => s.stream === 'xrpusdt@bookTicker' && s.subscribers > 0),
      );
      const cleanup = await fetchRaw(`${gateway.url}/api/ws/admin/cleanup?idleMs=0`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-secret' },
      });
      assert.equal(cleanup.status, 200);
      // WSManager keeps a stream idle for a grace period after its last subscriber, so forcing releases
      // it; the legacy baseline closed the sockets the moment the clients left, so nothing was idle.
      assert.equal((JSON.parse(cleanup.body) as { released: number }).released, useNewWsManager ? 1 : 0);
      assert.equal(
        gateway.source.listStreams().some((s) => s.stream === 'xrpusdt@bookTicker'),
        false,
        'no stream held after forced cleanup',
      );
    });

    it('reconnects after an upstream drop and reports the gap', async () => {
      const gaps: GapEvent[] = [];
      let received = 0;
      const unsubscribe = gateway.source.subscribe('ethusdt@trade', {
        next: () => {
          received++;
        },
        gap: (gap) => gaps.push(gap),
        // Reported, not refilled: the gateway's WSManager backfills by default (UPSTREAM_GAP_RECOVERY).
        recovery: 'report',
      });
      await waitFor('events before the drop', () => received >= 2);
      const retriesBefore = gateway.source.getMetrics().retryCount ?? 0;
      // Upgrades refused for 300 ms: WSManager reconnects a healthy connection at once, and the outage
      // must outlast a few events for a gap to be sure.
      gateway.simulator!.refuseConnections(300, 503, null);
      assert.ok(gateway.simulator!.dropConnections({ abrupt: true }) >= 1);
      await waitFor('gap after reconnect', () => gaps.length >= 1, 20_000);
      unsubscribe();
      assert.ok(gaps[0]!.missed >= 1);
      assert.equal(gaps[0]!.missed, gaps[0]!.received - gaps[0]!.expected);
      assert.ok((gateway.source.getMetrics().retryCount ?? 0) > retriesBefore);
      assert.ok(gateway.source.getMetrics().messageGaps >= 1);
    });

    it('honours Retry-After: no upstream attempt before it passes, unhealthy meanwhile, then serves again', async () => {
      // A gateway of its own: the drop test above leaves WSManager's consecutive-failure count raised,
      // which would stretch its first backoff (full jitter up to 2 s) past the 1.5 s refusal window.
      const gateway = await startTestGateway({ useNewWsManager, legacyReconnectDelayMs: 200 });
      const sim = gateway.simulator!;
      const client = await openClient(`${gateway.wsUrl}/ws/xrpusdt@trade`);
      const recorder = recordUpgradeAttempts(sim);
      try {
        await waitFor('events', () => client.messages.length > 0);
        const before = recorder.attempts.length;
        // Refusals for 1.5 s (the first reconnect comes within it for both: a 200 ms fixed delay, a
        // jittered backoff below 1 s), each naming Retry-After: 2.
        sim.refuseConnections(1500, 429, 2);
        sim.dropConnections({ abrupt: true });
        const ready = await waitFor('readyz 503', async () => {
          const res = await fetchRaw(`${gateway.url}/readyz`);
          return res.status === 503 ? res : undefined;
        });
        assert.match(
          JSON.parse(ready.body).reason,
          /HTTP 429: no connection attempt for [12] s \(Retry-After\)/,
        );
        const text = (await fetchRaw(`${gateway.url}/api/ws/metrics?format=prometheus`)).body;
        const waiting = Number(
          /^ws_manager_upstream_retry_after_seconds\{venue="binance"\} (\S+)$/m.exec(text)?.[1],
        );
        assert.ok(waiting > 0 && waiting <= 2, `retry-after gauge ${waiting}`);
        await waitFor('the refused attempt recorded', () => recorder.attempts.length > before);
        const refused = recorder.attempts[before]!;
        const count = client.messages.length;
        await waitFor('served again', () => client.messages.length > count + 3, 10_000);
        // Attempts already in flight when the first refusal came back may be refused too; none after.
        const early = recorder.attempts
          .slice(before)
          .filter((a) => a.after > refused.seenBy + 100 && a.seenBy < refused.after + 2000);
        assert.deepEqual(early, [], 'no attempt during the Retry-After pause');
        assert.equal((await fetchRaw(`${gateway.url}/readyz`)).status, 200);
      } finally {
        recorder.stop();
        await client.close();
        await gateway.close();
      }
    });
  });
}
