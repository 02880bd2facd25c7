/**
 * Clustered mode end to end: a real nats-server, the simulator as the exchange, two ingest nodes and
 * two gateways in this process, and real ws clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { contiguousTradeIds } from './trades.js';

const TOKEN = 'cluster-flow-token';
const AUTH = { headers: { authorization: `Bearer ${TOKEN}` } };
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `sym${String(i).padStart(2, '0')}usdt`);
const STREAMS = SYMBOLS.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]);

describe('clustered mode: 2 ingest nodes, 2 gateways, 200 clients on 100 streams', () => {
  let nats: NatsServer | undefined;
  let simulator: Simulator;
  const ingests: RunningIngest[] = [];
  const gateways: RunningGateway[] = [];
  const clients: { client: TestClient; stream: string }[] = [];

  before(async (t) => {
    nats = await startNatsServer(t as never);
  });

  after(async () => {
    await Promise.all(clients.map(({ client }) => client.close()));
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(ingests.map((i) => i.close()));
    await simulator?.close();
    await nats?.stop();
  });

  it('shares one upstream connection per ingest node and delivers contiguous ids to every client', async (t) => {
    if (nats === undefined) return t.skip('nats-server missing');
    simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 10 });
    const common = {
      natsUrl: nats.url,
      upstreamUrl: simulator.url,
      port: 0,
      shardCount: 16,
      leaseTtlSeconds: 3,
    };
    for (const nodeId of ['ingest-a', 'ingest-b']) {
      // Every process honours METRICS_TOKEN like the gateway does.
      ingests.push(await startIngest({ ...common, nodeId, metricsToken: TOKEN }, { logger: silentLogger() }));
    }
    for (const nodeId of ['gateway-a', 'gateway-b']) {
      gateways.push(
        await startGateway({ ...common, nodeId, useNewWsManager: true }, { logger: silentLogger() }),
      );
    }
    // Both nodes hold shards once leases settle (the first tick only announces a node).
    await waitFor(
      'every shard leased, spread over both nodes',
      () =>
        ingests.every((i) => i.leases.ownedShards().length > 0) &&
        ingests.reduce((n, i) => n + i.leases.ownedShards().length, 0) === 16,
    );
    for (const gateway of gateways) {
      for (const stream of STREAMS)
        clients.push({ client: await openClient(`${gateway.wsUrl}/ws/${stream}`), stream });
    }
    await waitFor(
      'every client receiving (20 events each)',
      () => clients.every(({ client }) => client.messages.length >= 20),
      30_000,
    );
    for (const { client, stream } of clients) {
      const verdict = contiguousTradeIds(client.messages, stream);
      assert.equal(verdict.gaps, 0, `${stream}: ids contiguous (${JSON.stringify(verdict)})`);
    }
    for (const ingest of ingests) {
      // A request target that is no URL gets a 400 and leaves the node serving.
      assert.match(await rawStatusLine(ingest.url, 'GET http://[ HTTP/1.1'), /^HTTP\/1\.1 400 /);
      assert.equal((await fetchRaw(`${ingest.url}/healthz`)).status, 200);
      assert.equal((await fetchRaw(`${ingest.url}/readyz`)).status, 200);
      assert.equal((await fetchRaw(`${ingest.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);
      assert.equal((await fetchRaw(`${ingest.url}/api/ws/metrics`)).status, 401, 'token enforced');
      const text = (await fetchRaw(`${ingest.url}/api/ws/metrics?format=prometheus`, AUTH)).body;
      const published = Number(/^ws_manager_cluster_published_total (\d+)/m.exec(text)?.[1]);
      assert.ok(published > 0, `${ingest.nodeId} published events (${published})`);
      const json = JSON.parse((await fetchRaw(`${ingest.url}/api/ws/metrics`, AUTH)).body) as {
        metrics: { activeConnections: number };
      };
      assert.equal(json.metrics.activeConnections, 1, `${ingest.nodeId}: one upstream connection`);
    }
    // A clustered gateway reports only what it counts, and serves REST calls through the ingest tier.
    const gatewayDoc = JSON.parse((await fetchRaw(`${gateways[0]!.url}/api/ws/metrics`, AUTH)).body) as {
      metrics: Record<string, unknown>;
    };
    assert.equal(gatewayDoc.metrics['implementation'], 'WSManager', 'the label dashboards select on');
    assert.equal(gatewayDoc.metrics['activeConnections'], 1, 'its NATS connection');
    for (const field of [
      'activeConnectionsHwm',
      'retryCount',
      'upstreamConnectAttempts',
      'overdueIdleStreams',
    ])
      assert.equal(field in gatewayDoc.metrics, false, `${field} left out`);
    const time = await fetchRaw(`${gateways[0]!.url}/api/v3/time`);
    assert.equal(time.status, 200, time.body);
    assert.match(time.body, /^\{"serverTime":\d+\}$/);
    // Every cluster metric the alert rules read is exported by a gateway or an ingest node.
    const scraped = (
      await Promise.all(
        [...gateways.map((g) => g.url), ...ingests.map((i) => i.url)].map(
          async (url) => (await fetchRaw(`${url}/api/ws/metrics?format=prometheus`, AUTH)).body,
        ),
      )
    ).join('\n');
    const rules = readFileSync(new URL('../../monitoring/ws-manager-rules.yml', import.meta.url), 'utf8');
    const used = new Set(rules.match(/(?<![\w:])ws_manager_cluster_[a-z_]+(?![\w:])/g));
    assert.ok(used.size >= 3);
    for (const metric of used) assert.match(scraped, new RegExp(`^${metric}[ {]`, 'm'), `${metric} exported`);
    // docs/scale-out.md lists exactly the broker and cluster series the two roles export.
    const exported = new Set(
      [...scraped.matchAll(/^# TYPE (ws_manager_(?:cluster|broker)_\w+) /gm)].map((m) => m[1]),
    );
    const doc = readFileSync(new URL('../../docs/scale-out.md', import.meta.url), 'utf8');
    const listed = new Set(
      [...doc.matchAll(/^\| `(ws_manager_(?:cluster|broker)_\w+)` \|/gm)].map((m) => m[1]),
    );
    assert.deepEqual([...listed].sort(), [...exported].sort());
    const stats = simulator.stats();
    assert.ok(
      stats.openConnections <= 2,
      `at most one upstream connection per ingest node (${stats.openConnections})`,
    );
    assert.ok(stats.connectionAttempts <= 2, `no more attempts than nodes (${stats.connectionAttempts})`);
    // The upstream bytes pass through unchanged: a client reading the simulator directly gets the very
    // same text for the same trade (checked last: it is one more upstream connection).
    const direct = await openClient(`${simulator.url}/ws/${STREAMS[0]}`);
    await waitFor('a direct simulator client receiving', () => direct.messages.length >= 3);
    await direct.close();
    const viaCluster = () =>
      new Set(clients.filter((c) => c.stream === STREAMS[0]).flatMap((c) => c.client.messages));
    await waitFor('byte-identical frames via the cluster', () => {
      const via = viaCluster();
      return direct.messages.some((m) => via.has(m));
    });
  });
});

/** Sends one request line as it is (no client library would send a malformed target) and reads the status line. */
function rawStatusLine(base: string, requestLine: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`${requestLine}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (chunk) => {
      text += String(chunk);
    });
    socket.on('end', () => resolve(text.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}
