/**
 * Issue 11: GET /api/v3/depth served by the gateway from the order books it keeps, so a Binance client
 * whose REST and WebSocket bases both point at the gateway can keep an order book, and many snapshot
 * requests cost the exchange one book's snapshots. Real gateway (WSManager), embedded simulator, ws client.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway } from './helpers.js';

interface Depth {
  lastUpdateId: number;
  bids: string[][];
  asks: string[][];
}

describe('GET /api/v3/depth through the gateway', () => {
  it('lets a client keep an order book with the gateway as both REST and WebSocket base', async () => {
    const registry = new Registry();
    const gateway = await startTestGateway({ useNewWsManager: true, simulatorRate: 50 }, { registry });
    const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@depth@100ms`);
    try {
      // What a client library does first: the symbol's rules and the server's clock, from the gateway.
      const info = JSON.parse((await fetchRaw(`${gateway.url}/api/v3/exchangeInfo?symbol=BTCUSDT`)).body) as {
        symbols: Array<{ symbol: string; status: string }>;
      };
      assert.deepEqual(
        info.symbols.map((s) => [s.symbol, s.status]),
        [['BTCUSDT', 'TRADING']],
      );
      assert.equal((await fetchRaw(`${gateway.url}/api/v3/time`)).status, 200);
      await waitFor('first diffs', () => client.messages.length >= 3);
      // Binance's procedure, run by the client against the gateway.
      const snapshot = await fetchRaw(`${gateway.url}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
      assert.equal(snapshot.headers['x-mbx-used-weight-1m'], String(20 + 1 + 50), "Binance's weights");
      const first = JSON.parse(snapshot.body) as Depth;
      const bids = new Map(first.bids.map(([p, q]) => [p!, q!]));
      const asks = new Map(first.asks.map(([p, q]) => [p!, q!]));
      let applied = first.lastUpdateId;
      let index = 0;
      const states = new Map<number, string>();
      const sorted = (m: Map<string, string>, desc: boolean) =>
        [...m].sort((x, y) => (desc ? -1 : 1) * (Number(x[0]) - Number(y[0])));
      const follow = (): number => {
        for (; index < client.messages.length; index++) {
          const d = JSON.parse(client.messages[index]!) as {
            U: number;
            u: number;
            b: string[][];
            a: string[][];
          };
          if (d.u <= applied) continue;
          assert.ok(d.U <= applied + 1, `diff ${d.U}-${d.u} follows ${applied}`);
          for (const [p, q] of d.b) Number(q) === 0 ? bids.delete(p!) : bids.set(p!, q!);
          for (const [p, q] of d.a) Number(q) === 0 ? asks.delete(p!) : asks.set(p!, q!);
          applied = d.u;
          states.set(applied, JSON.stringify({ bids: sorted(bids, true), asks: sorted(asks, false) }));
        }
        return applied;
      };
      await waitFor('diffs applied', () => follow() > first.lastUpdateId + 20);
      // The exchange's own book, at an update id the client reaches.
      const truth = JSON.parse(
        (await fetchRaw(`${gateway.simulator!.httpUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`)).body,
      ) as Depth;
      await waitFor('the exchange snapshot id', () => follow() >= truth.lastUpdateId);
      assert.equal(states.get(truth.lastUpdateId), JSON.stringify({ bids: truth.bids, asks: truth.asks }));

      // Many snapshots through the gateway: the exchange paid for one (beside exchangeInfo and time).
      for (let i = 0; i < 10; i++) {
        const res = await fetchRaw(`${gateway.url}/api/v3/depth?symbol=BTCUSDT&limit=5`);
        assert.equal(res.status, 200);
        const d = JSON.parse(res.body) as Depth;
        assert.equal(d.bids.length, 5);
        assert.ok(Number(d.bids[0]![0]) < Number(d.asks[0]![0]));
      }
      const requests = (await registry.getSingleMetric('ws_manager_rest_requests_total')?.get())?.values[0]
        ?.value;
      assert.equal(requests, 3, 'one snapshot from the exchange for every request');
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it('answers bad requests with Binance error bodies', async () => {
    const gateway = await startTestGateway({ useNewWsManager: true });
    try {
      const lower = await fetchRaw(`${gateway.url}/api/v3/depth?symbol=btcusdt`);
      assert.equal(lower.status, 400);
      assert.equal(JSON.parse(lower.body).code, -1100);
      const missing = await fetchRaw(`${gateway.url}/api/v3/depth`);
      assert.equal(JSON.parse(missing.body).code, -1102);
    } finally {
      await gateway.close();
    }
  });
});
