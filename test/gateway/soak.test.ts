/**
 * The soak benchmark's small version (bench/soak.bench.ts has the full one): 5,000 lean clients on one
 * gateway process, then all of them dropped and reconnecting at once. Correctness only, never speed:
 * every client receives, none is cut, memory stays under a generous ceiling, and upstream sees nothing
 * of the storm. The gateway, the simulator and the clients each run in processes of their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Clients,
  processUsage,
  type Server,
  startClients,
  startGatewayProcess,
  startSimulator,
  stop,
  symbols,
} from '../../bench/soak-processes.js';

const CLIENTS = 5000;
/** Far above the few KiB a client costs (docs/benchmarks.md): this catches a leak, not a regression. */
const RSS_CEILING_PER_CLIENT = 64 * 1024;

describe('5,000 clients on one gateway, then all reconnecting at once', () => {
  const list = symbols(100);
  const streams = list.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  let gateway: Server;
  let clients: Clients;
  let idleRss: number;

  before(async () => {
    simulator = await startSimulator(list, 2);
    gateway = await startGatewayProcess(simulator.url, CLIENTS, false);
    idleRss = processUsage(gateway.pid).rss;
    clients = startClients(
      gateway.port,
      streams.map((s) => `/ws/${s}`),
      CLIENTS,
      2,
    );
  });

  after(async () => {
    await clients?.close();
    await gateway?.close();
    if (simulator) await stop(simulator.child);
  });

  it('every client is admitted, receives its stream, and none is cut', async () => {
    const connected = await clients.connect();
    assert.equal(connected.open, CLIENTS, JSON.stringify(connected));
    const window = await clients.window(3000);
    assert.equal(window.closedByServer, 0);
    assert.equal(window.silent, 0, `${window.silent} clients received nothing in 3 s`);
    const rss = processUsage(gateway.pid).rss;
    assert.ok(
      rss - idleRss < CLIENTS * RSS_CEILING_PER_CLIENT,
      `gateway RSS grew by ${Math.round((rss - idleRss) / 1024 / CLIENTS)} KiB per client`,
    );
  });

  it('all clients dropped at once are back within 30 s, receiving, with nothing seen upstream', async () => {
    const before = await gateway.metrics();
    const back = await clients.reconnect();
    assert.equal(back.open, CLIENTS, JSON.stringify(back));
    assert.ok(back.ms < 30_000, `back in ${back.ms} ms`);
    const window = await clients.window(3000);
    assert.equal(window.silent, 0, `${window.silent} clients received nothing in 3 s after the storm`);
    const after = await gateway.metrics();
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(delta('ws_manager_upstream_connect_attempts_total'), 0, 'no upstream reconnect');
    assert.equal(delta('ws_manager_message_gaps_total'), 0, 'no upstream gap');
    assert.equal(delta('ws_manager_stream_creations_total'), 0, 'streams were kept through the storm');
  });
});
