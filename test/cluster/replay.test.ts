/**
 * A gateway whose NATS connection is cut for 3 s (a loopback TCP proxy between it and nats-server)
 * misses the events published meanwhile; it sees the per-stream sequence jump after reconnecting,
 * fetches the range from the JetStream history and delivers it before the live events, so its
 * clients see contiguous exchange ids. With a history shorter than the cut, the loss is reported.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { startGateway } from '../../src/roles/start-gateway.js';
import { startIngest } from '../../src/roles/start-ingest.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startNatsServer } from './nats-server.js';
import { startTcpProxy } from './tcp-proxy.js';
import { contiguousTradeIds } from './trades.js';

const SYMBOLS = ['repaaausdt', 'repbbbusdt', 'repcccusdt', 'repdddusdt'];
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

function counter(text: string, name: string): number {
  return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Outcome {
  readonly cutOffClients: { client: TestClient; stream: string }[];
  readonly directClients: { client: TestClient; stream: string }[];
  /** The cut-off gateway's Prometheus text after recovery. */
  readonly metrics: string;
}

/** Two gateways (one behind the proxy), one ingest node; cut the proxy for 3 s and wait for recovery. */
async function cutFor3s(t: TestContext, historyMaxAgeSeconds: number): Promise<Outcome | undefined> {
  const nats = await startNatsServer(t);
  if (nats === undefined) return undefined;
  cleanups.push(() => nats.stop());
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
  cleanups.push(() => simulator.close());
  const common = { port: 0, shardCount: 4, leaseTtlSeconds: 3, historyMaxAgeSeconds };
  const ingest = await startIngest(
    { ...common, upstreamUrl: simulator.url, natsUrl: nats.url, nodeId: 'ingest' },
    { logger: silentLogger() },
  );
  cleanups.push(() => ingest.close());
  const proxy = await startTcpProxy(nats.port);
  cleanups.push(() => proxy.close());
  const cutOff = await startGateway(
    { ...common, natsUrl: `nats://127.0.0.1:${proxy.port}`, nodeId: 'cut-off' },
    { logger: silentLogger() },
  );
  cleanups.push(() => cutOff.close());
  const direct = await startGateway(
    { ...common, natsUrl: nats.url, nodeId: 'direct' },
    { logger: silentLogger() },
  );
  cleanups.push(() => direct.close());
  const open = async (wsUrl: string) =>
    Promise.all(
      STREAMS.map(async (stream) => ({ client: await openClient(`${wsUrl}/ws/${stream}`), stream })),
    );
  const cutOffClients = await open(cutOff.wsUrl);
  const directClients = await open(direct.wsUrl);
  const all = [...cutOffClients, ...directClients];
  cleanups.push(() => Promise.all(all.map(({ client }) => client.close())));
  await waitFor(
    'every client receiving',
    () => all.every(({ client }) => client.messages.length >= 10),
    20_000,
  );

  proxy.cut(3000);
  await new Promise((r) => setTimeout(r, 3000));
  const counts = all.map(({ client }) => client.messages.length);
  await waitFor(
    'clients receiving after the cut',
    () => all.every(({ client }, i) => client.messages.length >= counts[i]! + 20),
    15_000,
  );
  const metrics = await (await fetch(`${cutOff.url}/api/ws/metrics?format=prometheus`)).text();
  return { cutOffClients, directClients, metrics };
}

describe('clustered mode: replay from history after a gateway lost NATS', () => {
  it('fills the 3 s gap from JetStream: contiguous ids, nothing reported missed', async (t) => {
    const outcome = await cutFor3s(t, 120);
    if (outcome === undefined) return;
    for (const { client, stream } of [...outcome.cutOffClients, ...outcome.directClients]) {
      const verdict = contiguousTradeIds(client.messages, stream);
      assert.equal(verdict.gaps, 0, `${stream}: contiguous ids (${JSON.stringify(verdict.missing)})`);
    }
    const text = outcome.metrics;
    assert.ok(counter(text, 'ws_manager_cluster_replays_total') >= STREAMS.length, 'every stream replayed');
    assert.ok(
      counter(text, 'ws_manager_cluster_replayed_messages_total') >= STREAMS.length * 20,
      'about 3 s each',
    );
    assert.equal(counter(text, 'ws_manager_cluster_replay_failures_total'), 0);
    assert.equal(counter(text, 'ws_manager_cluster_missed_messages_total'), 0);
    assert.ok(counter(text, 'ws_manager_broker_reconnects_total') >= 1);
  });

  it('reports what a 1 s history no longer holds instead of hiding it', async (t) => {
    const outcome = await cutFor3s(t, 1);
    if (outcome === undefined) return;
    const lost = outcome.cutOffClients.filter(
      ({ client, stream }) => contiguousTradeIds(client.messages, stream).gaps > 0,
    );
    assert.equal(lost.length, STREAMS.length, 'every stream of the cut-off gateway lost events');
    const text = outcome.metrics;
    assert.ok(
      counter(text, 'ws_manager_cluster_replay_failures_total') >= STREAMS.length,
      'replay failures counted',
    );
    assert.ok(
      counter(text, 'ws_manager_cluster_missed_messages_total') > 0,
      'missed sequence numbers counted',
    );
    // The gateway that kept its link lost nothing.
    for (const { client, stream } of outcome.directClients) {
      assert.equal(contiguousTradeIds(client.messages, stream).gaps, 0, `${stream} on the other gateway`);
    }
  });
});
