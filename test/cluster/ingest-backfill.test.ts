/**
 * An upstream blip on an ingest node: the exchange drops its socket, its WSManager reconnects and
 * refills the missed ids from the exchange's REST history before publishing on, so the gateway's
 * clients on trade and aggTrade streams see every exchange id once, in order.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachReceivesMore, metricValue, openStreamClients, summarise } from './handover-clients.js';
import { startSmallCluster } from './small-cluster.js';

const SYMBOLS = ['blipausdt', 'blipbusdt', 'blipcusdt'];
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

it("an ingest node's upstream socket dropped: its clients miss and repeat no exchange id", async (t) => {
  const cluster = await startSmallCluster(t, { symbols: SYMBOLS, rate: 50 });
  if (cluster === undefined) return;
  const { simulator, gateway, ingest } = cluster;
  const clients = await openStreamClients([gateway.wsUrl], STREAMS, 1);
  cluster.closeLater(() => Promise.all(clients.map((c) => c.client.close())));
  await eachReceivesMore(clients, 10, 10_000);
  const attempts = simulator.stats().connectionAttempts;

  assert.ok(simulator.dropConnections({ abrupt: true }) > 0, 'the ingest node had a socket to drop');
  await eachReceivesMore(clients, 30, 10_000);

  assert.ok(simulator.stats().connectionAttempts > attempts, 'the ingest node reconnected');
  const { events, faulty } = summarise(clients);
  assert.deepEqual(faulty, [], 'every client saw each exchange id once, in order');
  const refilled = await metricValue(ingest.registry, 'ws_manager_refilled_events_total');
  assert.ok(refilled > 0, `the ingest node refilled the ids missed while it reconnected (${refilled})`);
  t.diagnostic(`${events} events over ${clients.length} clients; ${refilled} refilled by the ingest node`);
});
