/**
 * The clustered mode through a real Prometheus: nats-server, an ingest node and a clustered gateway
 * (both in this process, each with its own registry and HTTP edge), scraped with the project's job and
 * rules. Every PromQL expression of the dashboard's "Clustered mode (NATS)" row and every cluster alert
 * (its expression without the threshold) must return data, so a renamed metric or a wrong label fails.
 * The ingest node carries Binance and Bybit; the gateway also serves OKX, which no ingest node carries:
 * the shard alert fires for OKX alone, from the gateway's count (the case of every OKX node down).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type NatsServer, startNatsServer } from '../cluster/nats-server.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import {
  dashboardQueries,
  haveBinaries,
  loadAlerts,
  loadDashboard,
  type RunningPrometheus,
  startPrometheus,
  TOOL_WAIT,
  type VectorSample,
} from './monitoring-tools.js';

const JOB = 'cryptrade-ws-metrics';
const TOKEN = 'cluster-e2e-token';
const ROW = 'Clustered mode (NATS)';
const SHARDS = 4;

/** The panels below the dashboard's cluster row (up to the next row, if any). */
function clusterRowQueries() {
  const dashboard = loadDashboard();
  const panels = [...(dashboard.panels ?? [])].sort((a, b) => (a.gridPos?.y ?? 0) - (b.gridPos?.y ?? 0));
  const row = panels.findIndex((p) => p.type === 'row' && p.title === ROW);
  assert.ok(row >= 0, `the dashboard has a "${ROW}" row`);
  const next = panels.findIndex((p, i) => i > row && p.type === 'row');
  const inRow = panels.slice(row + 1, next < 0 ? undefined : next);
  // 4s stands for $__rate_interval: Grafana makes it at least 4 scrape intervals.
  return dashboardQueries({ panels: inRow }, '4s');
}

test('a real Prometheus scrapes an ingest node and a gateway: every cluster panel and alert has data', {
  timeout: 120_000,
}, async (t) => {
  if (!haveBinaries(t, ['prometheus'])) return;
  const nats: NatsServer | undefined = await startNatsServer(t as never);
  if (nats === undefined) return;
  let simulator: Simulator | undefined;
  let ingest: RunningIngest | undefined;
  let gateway: RunningGateway | undefined;
  let client: TestClient | undefined;
  let prometheus: RunningPrometheus | undefined;
  t.after(async () => {
    await client?.close();
    await prometheus?.stop();
    await gateway?.close();
    await ingest?.close();
    await simulator?.close();
    await nats.stop();
  });

  simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: ['promclusterusdt'], rate: 20 });
  const common = {
    natsUrl: nats.url,
    host: '127.0.0.1',
    port: 0,
    shardCount: SHARDS,
    leaseTtlSeconds: 3,
    metricsToken: TOKEN,
    // Prometheus scrapes every second here.
    rateLimitPerMinute: 10_000,
  };
  ingest = await startIngest(
    {
      ...common,
      upstreamUrl: simulator.url,
      bybitUrl: `${simulator.url}/bybit`,
      venues: ['binance', 'bybit'],
      nodeId: 'prom-ingest',
    },
    { logger: silentLogger() },
  );
  gateway = await startGateway(
    { ...common, venues: ['binance', 'bybit', 'okx'], nodeId: 'prom-gateway' },
    { logger: silentLogger() },
  );
  await waitFor(
    'every shard leased',
    async () =>
      ingest?.feeds.every((feed) => feed.leases.ownedShards().length === SHARDS) ? true : undefined,
    ...TOOL_WAIT,
  );
  // Events flow, so the throughput and lag panels have something to show.
  client = await openClient(`${gateway.wsUrl}/ws/promclusterusdt@trade`);
  await waitFor(
    'the client receiving',
    async () => ((client?.messages.length ?? 0) >= 5 ? true : undefined),
    ...TOOL_WAIT,
  );

  // One target per role, labelled as a deployment labels them.
  prometheus = await startPrometheus({
    job: JOB,
    token: TOKEN,
    targets: Object.entries({ ingest: ingest.url, gateway: gateway.url }).map(([role, url]) => ({
      targets: [new URL(url).host],
      labels: { environment: 'cluster-e2e', track: 'stable', role_under_test: role },
    })),
  });
  const { instant } = prometheus;
  const up = await prometheus.targetsUp(2);
  assert.deepEqual(up.map((s) => s.metric['role_under_test']).sort(), ['gateway', 'ingest']);
  const roles = await instant('ws_manager_cluster_info');
  assert.deepEqual(
    roles.map((s) => `${s.metric['role_under_test']}:${s.metric['role']}`).sort(),
    ['gateway:gateway', 'ingest:ingest'],
    'each role scraped reports itself',
  );
  const byRole = async (query: string) =>
    (await prometheus!.series(query, query))
      .map((s) => `${s.metric['role_under_test']}:${s.metric['feed']}=${s.value[1]}`)
      .sort();
  assert.deepEqual(
    await byRole('ws_manager_cluster_shards_owned'),
    ['ingest:binance=4', 'ingest:bybit.linear=4', 'ingest:bybit.spot=4'],
    'the ingest node owns every shard of each feed it carries; the gateway owns none',
  );
  assert.deepEqual(
    await byRole('ws_manager_cluster_shard_count'),
    [
      'gateway:binance=4',
      'gateway:bybit.linear=4',
      'gateway:bybit.spot=4',
      'gateway:okx=4',
      'ingest:binance=4',
      'ingest:bybit.linear=4',
      'ingest:bybit.spot=4',
    ],
    'each role counts the shards of each feed it carries or serves',
  );

  const queries = clusterRowQueries();
  assert.ok(queries.length >= 10, `the cluster row has its queries (${queries.length})`);
  for (const query of queries) await prometheus.series(`${query.where} to return data`, query.expr);

  // The alerts: each expression without its threshold returns data (the comparison itself filters a
  // healthy cluster's series away), and the shard check computes what it should: every shard of the
  // carried feeds owned, every one of OKX's free.
  const alerts = loadAlerts().filter((a) => a.alert.startsWith('WSManagerCluster'));
  assert.ok(alerts.length >= 2, 'the cluster alerts exist');
  for (const alert of alerts) {
    const threshold = /\s*(?:>=|<=|==|!=|>|<)\s*-?[0-9.]+\s*$/;
    assert.match(alert.expr, threshold, `${alert.alert} ends in a threshold`);
    const expr = alert.expr.replace(threshold, '');
    const result = await prometheus.series(`${alert.alert} to return data`, expr);
    if (alert.alert === 'WSManagerClusterShardUnowned') {
      const unowned = (samples: VectorSample[]) =>
        samples.map((s) => `${s.metric['environment']}:${s.metric['feed']}=${s.value[1]}`).sort();
      assert.deepEqual(
        unowned(result),
        [
          'cluster-e2e:binance=0',
          'cluster-e2e:bybit.linear=0',
          'cluster-e2e:bybit.spot=0',
          'cluster-e2e:okx=4',
        ],
        "every shard of the carried feeds has an owner, none of OKX's",
      );
      assert.deepEqual(
        unowned(await instant(alert.expr)),
        ['cluster-e2e:okx=4'],
        'the alert holds OKX alone',
      );
      continue;
    }
    assert.equal((await instant(alert.expr)).length, 0, `${alert.alert} quiet on a healthy cluster`);
  }
});
