/**
 * A gateway whose NATS connection is cut for 3 s (a loopback TCP proxy between it and nats-server)
 * misses the events published meanwhile; it sees the per-stream sequence jump after reconnecting,
 * fetches the range from the JetStream history and delivers it before the live events, so its
 * clients see contiguous exchange ids.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type RunningIngest, startIngest } from '../../src/cluster/start-ingest.js';
import { type RunningGateway, startGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/log.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient, waitFor } from '../gateway/helpers.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { contiguousTradeIds } from './trades.js';

const SYMBOLS = ['repaaausdt', 'repbbbusdt', 'repcccusdt', 'repdddusdt'];
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

function counter(text: string, name: string): number {
  return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

describe('clustered mode: replay from history after a gateway lost NATS', () => {
  let nats: NatsServer | undefined;
  let simulator: Simulator | undefined;
  let ingest: RunningIngest | undefined;
  let proxy: TcpProxy | undefined;
  const gateways: RunningGateway[] = [];
  const clients: { client: TestClient; stream: string }[] = [];

  after(async () => {
    await Promise.all(clients.map(({ client }) => client.close()));
    await Promise.all(gateways.map((g) => g.close()));
    await ingest?.close();
    await proxy?.close();
    await simulator?.close();
    await nats?.stop();
  });

  it('fills the 3 s gap from JetStream: contiguous ids, nothing reported missed', async (t) => {
    nats = await startNatsServer(t);
    if (nats === undefined) return;
    simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
    const common = { upstreamUrl: simulator.url, port: 0, shardCount: 4, leaseTtlSeconds: 3 };
    ingest = await startIngest(
      { ...common, natsUrl: nats.url, nodeId: 'ingest' },
      { logger: silentLogger() },
    );
    proxy = await startTcpProxy(nats.port);
    const cutOff = await startGateway(
      { ...common, natsUrl: `nats://127.0.0.1:${proxy.port}`, nodeId: 'cut-off' },
      { logger: silentLogger() },
    );
    const direct = await startGateway(
      { ...common, natsUrl: nats.url, nodeId: 'direct' },
      { logger: silentLogger() },
    );
    gateways.push(cutOff, direct);
    for (const gateway of gateways) {
      for (const stream of STREAMS)
        clients.push({ client: await openClient(`${gateway.wsUrl}/ws/${stream}`), stream });
    }
    await waitFor(
      () => clients.every(({ client }) => client.messages.length >= 10),
      'every client receiving',
      20_000,
    );

    proxy.cut(3000);
    await new Promise((r) => setTimeout(r, 3000));
    const resumedAt = Date.now();
    const counts = clients.map(({ client }) => client.messages.length);
    // Back: every client gets at least 3 s of events more (the replayed range, then live ones).
    await waitFor(
      () => clients.every(({ client }, i) => client.messages.length >= counts[i]! + 20),
      'clients receiving after the cut',
      15_000,
    );
    t.diagnostic(`resumed ${Date.now() - resumedAt} ms after the cut ended`);
    for (const { client, stream } of clients) {
      const verdict = contiguousTradeIds(client.messages, stream);
      assert.equal(verdict.gaps, 0, `${stream}: contiguous ids (${JSON.stringify(verdict.missing)})`);
    }
    const text = await (await fetch(`${cutOff.url}/api/ws/metrics?format=prometheus`)).text();
    assert.ok(counter(text, 'ws_manager_cluster_replays_total') >= STREAMS.length, 'every stream replayed');
    assert.ok(
      counter(text, 'ws_manager_cluster_replayed_messages_total') >= STREAMS.length * 20,
      'about 3 s each',
    );
    assert.equal(counter(text, 'ws_manager_cluster_replay_failures_total'), 0);
    assert.equal(counter(text, 'ws_manager_cluster_missed_messages_total'), 0);
    assert.ok(counter(text, 'ws_manager_broker_reconnects_total') >= 1);
  });
});
