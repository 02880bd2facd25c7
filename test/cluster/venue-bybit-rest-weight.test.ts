/**
 * Bybit's REST requests at the exchange do not grow with the number of clustered gateways: the same
 * client load (three clients, each loading the market's instruments, a book, recent trades and candles)
 * spread over one gateway and then over three, against a fresh cluster each time, costs the simulator
 * the same requests from its one client address, the ingest node's. Bybit counts requests, not weights
 * (each call costs one). Gateways never call the exchange: the ingest node asks a kept call
 * (instruments-info, per query) once for all of them. Real nats-server, simulator, ingest node and
 * gateways on loopback.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import type { Simulator } from '../../src/simulator/index.js';
import { fetchRaw } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startRestCluster } from './venue-cluster.js';

const CLIENTS = 3;
const ENDPOINTS = ['instruments-info', 'orderbook', 'recent-trade', 'kline'] as const;
/** Each client's calls, in the order a client library starting up makes them. */
const CALLS = [
  'instruments-info?category=spot',
  'instruments-info?category=linear&symbol=BTCUSDT',
  'orderbook?category=spot&symbol=BTCUSDT&limit=50',
  'recent-trade?category=spot&symbol=BTCUSDT&limit=10',
  'kline?category=linear&symbol=BTCUSDT&interval=1&limit=5',
];

/** The simulator's count of Bybit requests per endpoint. */
function requestsAt(simulator: Simulator): Record<string, number> {
  return Object.fromEntries(ENDPOINTS.map((e) => [e, simulator.bybitRestRequests(e)]));
}

/** Starts a fresh cluster with `gateways` gateways, runs the load, and returns the requests it cost the exchange. */
async function requestsOfLoad(t: TestContext, gateways: number): Promise<Record<string, number> | undefined> {
  const cluster = await startRestCluster(t, 'bybit', ['btcusdt']);
  if (cluster === undefined) return undefined;
  // Closed before the next cluster of the same test starts.
  try {
    const { simulator } = cluster;
    const ingest = await cluster.startIngest('ingest');
    const started = await cluster.startGateways(Array.from({ length: gateways }, (_, g) => `gw${g}`));
    // The ingest node's own calls (none for Bybit: its books are seeded by the stream) stay out of the count.
    await waitFor('the Bybit feeds leased', () =>
      ingest.feeds.slice(1).every((f) => f.leases.ownedShards().length === 2),
    );
    const before = requestsAt(simulator);
    for (let c = 0; c < CLIENTS; c++) {
      const gateway = started[c % gateways]!;
      for (const call of CALLS) {
        const res = await fetchRaw(`${gateway.url}/bybit/v5/market/${call}`);
        assert.equal(res.status, 200, `${call} through gateway ${c % gateways}: ${res.body}`);
        assert.equal((JSON.parse(res.body) as { retCode: number }).retCode, 0, call);
      }
    }
    const after = requestsAt(simulator);
    return Object.fromEntries(ENDPOINTS.map((e) => [e, after[e]! - before[e]!]));
  } finally {
    await cluster.close();
  }
}

it('the same client load costs Bybit the same requests through 1 and through 3 gateways', async (t) => {
  const one = await requestsOfLoad(t, 1);
  if (one === undefined) return t.skip('nats-server is not installed');
  const three = await requestsOfLoad(t, 3);
  t.diagnostic(`one gateway ${JSON.stringify(one)}, three ${JSON.stringify(three)}`);
  // Each instruments-info query once (kept by the ingest node for every gateway), every other call
  // once per client: what one process with the same clients would spend. Three gateways asking the
  // exchange themselves would have cost 6 instruments-info calls.
  const expected = { 'instruments-info': 2, orderbook: CLIENTS, 'recent-trade': CLIENTS, kline: CLIENTS };
  assert.deepEqual({ one, three }, { one: expected, three: expected });
});
