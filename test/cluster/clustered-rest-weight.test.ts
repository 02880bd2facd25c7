/**
 * The exchange's REST weight in the clustered mode. Two ingest nodes behind one IP share one budget for
 * clients' calls (each follows the IP's count the exchange reports). And the weight does not grow with
 * the number of clustered gateways: the same client load
 * (three clients, each following Binance's order-book procedure and loading the market's rules and
 * recent trades) spread over one gateway and then over three, against a fresh cluster each time,
 * costs the simulator's per-IP budget the same weight. Gateways never call the exchange: the ingest
 * node asks kept calls (exchangeInfo) once and answers the gateways' book snapshots from its own book.
 * Real nats-server, simulator, ingest node, gateways and ws clients on loopback.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { depthWeight } from '../../src/exchange/binance/rest-limits.js';
import { CLIENT_SHARE } from '../../src/manager/rest-client.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, openClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';

const SYMBOL = 'wgtausdt';
const CLIENTS = 3;
/** Each client's REST calls (the depth snapshot is its procedure's step 3, after its stream flows). */
const CALLS = [
  '/api/v3/exchangeInfo',
  `/api/v3/exchangeInfo?symbol=${SYMBOL.toUpperCase()}`,
  `/api/v3/depth?symbol=${SYMBOL.toUpperCase()}&limit=100`,
  `/api/v3/trades?symbol=${SYMBOL.toUpperCase()}&limit=10`,
];

/** The weight 127.0.0.1 used at the simulator so far, this reading's own (a ping, weight 1) included. */
async function usedWeight(simulator: Simulator): Promise<number> {
  const res = await fetchRaw(`${simulator.httpUrl}/api/v3/ping`);
  return Number(res.headers['x-mbx-used-weight-1m']);
}

/** Starts a fresh cluster with `gateways` gateways, runs the load, and returns the weight it cost the exchange. */
async function weightOfLoad(t: TestContext, gateways: number): Promise<number | undefined> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const nats = await startNatsServer(t);
    if (nats === undefined) return undefined;
    cleanups.push(() => nats.stop());
    // A weight window longer than the test (Binance's is a minute), so no window ends between readings.
    const simulator = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      symbols: [SYMBOL],
      rate: 20,
      rest: { windowMs: 24 * 3600_000 },
    });
    cleanups.push(() => simulator.close());
    const common = { natsUrl: nats.url, port: 0, host: '127.0.0.1', shardCount: 4, leaseTtlSeconds: 3 };
    const ingest = await startIngest(
      { ...common, upstreamUrl: simulator.url, nodeId: 'ingest' },
      { logger: silentLogger() },
    );
    cleanups.push(() => ingest.close());
    await waitFor('shards leased', () => ingest.leases.ownedShards().length === 4, 10_000);
    const started: RunningGateway[] = [];
    for (let g = 0; g < gateways; g++) {
      const gateway = await startGateway({ ...common, nodeId: `gw${g}` }, { logger: silentLogger() });
      cleanups.push(() => gateway.close());
      started.push(gateway);
    }
    const before = await usedWeight(simulator);
    for (let c = 0; c < CLIENTS; c++) {
      const gateway = started[c % gateways]!;
      const client = await openClient(`${gateway.wsUrl}/ws/${SYMBOL}@depth@100ms`);
      cleanups.push(() => client.close());
      await waitFor(`client ${c}'s diffs`, () => client.messages.length >= 2);
      for (const call of CALLS) {
        const res = await fetchRaw(`${gateway.url}${call}`);
        assert.equal(res.status, 200, `${call} through gateway ${c % gateways}: ${res.body}`);
      }
    }
    // Less the second reading's own weight.
    return (await usedWeight(simulator)) - 1 - before;
  } finally {
    for (const close of cleanups.reverse()) await close().catch(() => {});
  }
}

it('two ingest nodes behind one IP keep one budget for clients between them, not one each', async (t) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const close of cleanups.reverse()) await close().catch(() => {});
  });
  const nats = await startNatsServer(t);
  if (nats === undefined) return;
  cleanups.push(() => nats.stop());
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    symbols: [SYMBOL],
    rest: { windowMs: 24 * 3600_000 },
  });
  cleanups.push(() => simulator.close());
  const common = { natsUrl: nats.url, port: 0, host: '127.0.0.1', shardCount: 4, leaseTtlSeconds: 3 };
  const ingests = await Promise.all(
    ['budget-a', 'budget-b'].map((nodeId) =>
      startIngest({ ...common, upstreamUrl: simulator.url, nodeId }, { logger: silentLogger() }),
    ),
  );
  for (const ingest of ingests) cleanups.push(() => ingest.close());
  const gateway = await startGateway({ ...common, nodeId: 'gw' }, { logger: silentLogger() });
  cleanups.push(() => gateway.close());
  // Each node's budget for clients' calls (WSManager's default 1200 a minute, three quarters of it).
  const share = Math.floor(1200 * CLIENT_SHARE);
  const tradesWeight = 25;
  const before = await usedWeight(simulator);
  let served = 0;
  let refused = 0;
  for (let i = 0; i < Math.ceil((2 * share) / tradesWeight) + 4; i++) {
    const res = await fetchRaw(`${gateway.url}/api/v3/trades?symbol=${SYMBOL.toUpperCase()}&limit=1`);
    if (res.status === 200) served++;
    else {
      assert.equal(res.status, 429, res.body);
      assert.equal(JSON.parse(res.body).code, -1003);
      assert.match(JSON.parse(res.body).msg, new RegExp(`current limit is ${share} request weight`));
      refused++;
    }
  }
  const spent = (await usedWeight(simulator)) - 1 - before;
  const calls = await Promise.all(
    ingests.map(
      async (i) =>
        (await i.registry.getSingleMetric('ws_manager_rest_requests_total')?.get())?.values[0]?.value,
    ),
  );
  t.diagnostic(`served ${served}, refused ${refused}, spent ${spent}, calls per node ${calls.join('/')}`);
  assert.ok(
    calls.every((n) => (n ?? 0) > 0),
    `both nodes answered: ${calls.join('/')}`,
  );
  // One share for the IP (36 calls), and at most a call more per node: what one node's count of the
  // IP lags behind the other's answers. Two budgets would have served 72.
  assert.ok(
    served >= share / tradesWeight && served <= share / tradesWeight + 2,
    `served ${served} calls of ${tradesWeight}`,
  );
  assert.equal(spent, served * tradesWeight);
});

it('the same client load costs the exchange the same weight through 1 and through 3 gateways', async (t) => {
  const one = await weightOfLoad(t, 1);
  if (one === undefined) return;
  const three = await weightOfLoad(t, 3);
  // exchangeInfo and exchangeInfo?symbol= (20 each) once, one snapshot of the ingest node's book
  // (limit 1000), and each client's trades (25): what one process with the same clients would spend.
  const expected = 20 + 20 + depthWeight(1000) + CLIENTS * 25;
  assert.deepEqual({ one, three }, { one: expected, three: expected });
});
