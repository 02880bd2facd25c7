/**
 * End to end: the real Prometheus, loaded with the project's scrape job and rules, scrapes two real
 * gateways as one environment's two tracks (WSManager as the canary, Legacy as stable, each with its
 * embedded simulator) and everything the kit relies on is checked through Prometheus' HTTP API: the
 * contract metrics, every rule, every dashboard query (canary comparison included), down to a simulated
 * upstream failure showing up as retries and connection attempts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type RunningGateway, startGateway } from '../../src/gateway/index.js';
import { waitFor } from '../support/wait-for.js';
import {
  dashboardQueries,
  haveBinaries,
  loadDashboard,
  type RunningPrometheus,
  startPrometheus,
  TOOL_WAIT,
} from './monitoring-tools.js';

const JOB = 'cryptrade-ws-metrics';
const METRICS_TOKEN = 'e2e-metrics-token';
const STREAMS = ['btcusdt@trade', 'ethusdt@trade', 'bnbusdt@aggTrade'];

/** Exported by both implementations for the exchange's connection limits (monitoring/README.md). */
const CONNECT_LIMIT_METRICS = [
  'ws_manager_upstream_connect_attempts_total',
  'ws_manager_upstream_connect_budget_ratio',
  'ws_manager_upstream_retry_after_seconds',
];

/** Contract metric ↔ field of the JSON metrics endpoint. */
const CONTRACT: ReadonlyArray<readonly [string, string]> = [
  ['ws_manager_active_connections', 'activeConnections'],
  ['ws_manager_active_connections_hwm', 'activeConnectionsHwm'],
  ['ws_manager_retry_count_total', 'retryCount'],
  ['ws_manager_stream_creations_total', 'streamCreations'],
  ['ws_manager_stream_cleanups_total', 'streamCleanups'],
];

interface RuleGroup {
  readonly name: string;
  readonly rules: ReadonlyArray<{
    readonly name: string;
    readonly health: string;
    readonly lastError?: string;
  }>;
}

test('a real Prometheus scrapes the real gateways with the project config, rules and dashboard', {
  timeout: 90_000,
}, async (t) => {
  if (!haveBinaries(t, ['prometheus'])) return;
  let prometheus: RunningPrometheus | undefined;
  let gateway: RunningGateway | undefined;
  let stable: RunningGateway | undefined;
  let client: WebSocket | undefined;
  let stableClient: WebSocket | undefined;
  t.after(async () => {
    client?.terminate();
    stableClient?.terminate();
    await prometheus?.stop();
    await gateway?.close();
    await stable?.close();
  });

  gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    useNewWsManager: true,
    logLevel: 'silent',
    metricsToken: METRICS_TOKEN,
    // Prometheus scrapes every second here and the test reads the JSON endpoint too.
    rateLimitPerMinute: 10_000,
  });
  assert.equal(gateway.source.implementation, 'WSManager');
  const simulator = gateway.simulator;
  assert.ok(simulator !== undefined, 'the gateway runs its embedded simulator');
  stable = await startGateway({
    host: '127.0.0.1',
    port: 0,
    useNewWsManager: false,
    logLevel: 'silent',
    metricsToken: METRICS_TOKEN,
    rateLimitPerMinute: 10_000,
  });
  assert.equal(stable.source.implementation, 'Legacy');

  const subscribe = async (target: RunningGateway): Promise<WebSocket> => {
    const socket = new WebSocket(`${target.wsUrl}/stream?streams=${STREAMS.join('/')}`);
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (data) => {
        seen.add((JSON.parse(data.toString()) as { stream: string }).stream);
        if (seen.size === STREAMS.length) resolve();
      });
    });
    return socket;
  };
  client = await subscribe(gateway);
  stableClient = await subscribe(stable);

  const gatewayJson = async (): Promise<Record<string, unknown>> => {
    const response = await fetch(`${gateway?.url}/api/ws/metrics?format=json`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { metrics: Record<string, unknown> }).metrics;
  };

  // The project's job pointed at the two gateways as one environment's canary and stable track, after
  // checking what the test keeps from the project file: path, params, token from a file, rule file.
  const track = (url: string, name: string) => ({
    targets: [new URL(url).host],
    labels: { environment: 'e2e', track: name },
  });
  prometheus = await startPrometheus({
    job: JOB,
    token: METRICS_TOKEN,
    targets: [track(gateway.url, 'canary'), track(stable.url, 'stable')],
    check: (job, ruleFiles) => {
      assert.equal(job['metrics_path'], '/api/ws/metrics');
      assert.deepEqual(job['params'], { format: ['prometheus'] });
      assert.deepEqual(ruleFiles, ['ws-manager-rules.yml']);
      const authorization = job['authorization'] as { type?: string; credentials_file?: string } | undefined;
      assert.equal(authorization?.type, 'Bearer');
      assert.ok(authorization?.credentials_file, 'the project config reads the bearer token from a file');
    },
  });
  const { api, instant, series } = prometheus;
  // The scrape works with the project's path, params and bearer token.
  const up = await prometheus.targetsUp(2);
  const trackOf = (host: string): string | undefined =>
    up.find((sample) => sample.metric['instance'] === host)?.metric['track'];
  assert.equal(trackOf(new URL(gateway.url).host), 'canary');
  assert.equal(trackOf(new URL(stable.url).host), 'stable');
  assert.ok(up.every((sample) => sample.metric['environment'] === 'e2e'));
  const samples = await instant(`scrape_samples_scraped{job="${JOB}"}`);
  assert.ok(samples.length === 2 && samples.every((sample) => Number(sample.value[1]) > 0), 'samples');
  const canary = `job="${JOB}", track="canary"`;

  // Each contract metric as Prometheus stored it equals what the gateway reports in JSON.
  await waitFor(
    'contract metrics equal to the JSON endpoint',
    async () => {
      const json = await gatewayJson();
      for (const [metric, field] of CONTRACT) {
        const result = await instant(`${metric}{${canary}}`);
        if (result.length !== 1 || Number(result[0]?.value[1]) !== json[field]) return undefined;
      }
      return true;
    },
    ...TOOL_WAIT,
  ).catch(async (error: Error) => {
    const json = await gatewayJson();
    const stored = await Promise.all(CONTRACT.map(([metric]) => instant(`${metric}{${canary}}`)));
    assert.fail(`${error.message}: json ${JSON.stringify(json)} prometheus ${JSON.stringify(stored)}`);
  });
  const json = await gatewayJson();
  assert.ok(Number(json['activeConnections']) >= 1, 'WSManager holds an upstream connection');
  assert.ok(Number(json['streamCreations']) >= STREAMS.length, 'every stream was created upstream');
  const info = await instant(`ws_manager_info{job="${JOB}"}`);
  assert.deepEqual(
    info.map((sample) => `${sample.metric['track']}:${sample.metric['implementation']}`).sort(),
    ['canary:WSManager', 'stable:Legacy'],
  );

  // Both rule groups loaded and every rule evaluated without error.
  const groups = await waitFor(
    'every rule evaluated',
    async () => {
      const data = await api<{ groups: RuleGroup[] }>('/api/v1/rules');
      const rules = data.groups.flatMap((group) => group.rules);
      return rules.length > 0 && rules.every((rule) => rule.health === 'ok') ? data.groups : undefined;
    },
    ...TOOL_WAIT,
  ).catch(async (error: Error) => {
    const data = await api<{ groups: RuleGroup[] }>('/api/v1/rules');
    assert.fail(`${error.message}: ${JSON.stringify(data.groups)}`);
  });
  assert.deepEqual(groups.map((group) => group.name).sort(), ['ws-manager-alerts', 'ws-manager-recording']);

  // Every dashboard query returns series once enough scrapes fill the rate windows, the canary
  // comparison and health-vs-stable included (both tracks are scraped). 4s stands for $__rate_interval:
  // Grafana makes it at least 4 scrape intervals. Queries of the connection-limit metrics are checked
  // at the end, with those metrics.
  const dashboard = dashboardQueries(loadDashboard(), '4s');
  const limitQuery = (expr: string): boolean => CONNECT_LIMIT_METRICS.some((name) => expr.includes(name));
  /** Waits until a dashboard query returns series; fails naming its panel and the query. */
  const returnsSeries = (query: { where: string; expr: string }) =>
    series(`${query.where} to return series`, query.expr);
  // The clustered mode's panels read series that only clustered processes export (NATS_URL set); these
  // single-process gateways have none; cluster-e2e.test.ts checks them against a real cluster.
  const clusterQuery = (expr: string): boolean => /ws_manager_(cluster|broker)_/.test(expr);
  for (const query of dashboard.filter((q) => !limitQuery(q.expr) && !clusterQuery(q.expr))) {
    await returnsSeries(query);
  }
  const ratio = await instant('environment:ws_manager_retries_canary_vs_stable:ratio5m');
  assert.equal(ratio[0]?.metric['environment'], 'e2e');
  const health = dashboard.find((q) => q.where.includes('Health canary minus stable'));
  assert.equal((await instant(health?.expr ?? ''))[0]?.value[1], '0', 'both tracks healthy');

  // A fault upstream: the simulator drops every connection without a close frame; WSManager counts a
  // retry and reconnects, and Prometheus sees the counter rise.
  const before = Number((await instant(`ws_manager_retry_count_total{${canary}}`))[0]?.value[1]);
  assert.ok(simulator.dropConnections({ abrupt: true }) >= 1, 'the simulator had a connection to drop');
  const after = await waitFor(
    'ws_manager_retry_count_total to rise in Prometheus',
    async () => {
      const value = Number((await instant(`ws_manager_retry_count_total{${canary}}`))[0]?.value[1]);
      return value > before ? value : undefined;
    },
    ...TOOL_WAIT,
  );
  assert.ok(after > before);
  await waitFor(
    'the recorded retry rate to turn positive',
    async () => {
      const result = await instant(`instance:ws_manager_retries:rate2m{${canary}} > 0`);
      return result.length === 1 ? true : undefined;
    },
    ...TOOL_WAIT,
  );
  await waitFor(
    'the canary retry rate per connection to turn positive',
    async () => {
      const result = await instant(
        'environment_track:ws_manager_retries_per_connection:rate5m{environment="e2e", track="canary"} > 0',
      );
      return result.length === 1 ? true : undefined;
    },
    ...TOOL_WAIT,
  );

  // The exchange's connection limits, from both implementations: every metric scraped from both
  // tracks, the canary's reconnect counted as an attempt, the budget in use and no Retry-After, and
  // the dashboard's panels on them returning series.
  const missing: string[] = [];
  for (const metric of CONNECT_LIMIT_METRICS) {
    const result = await instant(`${metric}{job="${JOB}"}`);
    if (result.length !== 2) missing.push(`${metric}: ${result.length} series, want one per track`);
  }
  assert.deepEqual(missing, [], 'connection-limit metrics in Prometheus');
  // The retry is counted when it is scheduled, the attempt only after its backoff: wait for a scrape
  // that has both the first connection and the reconnect.
  await waitFor(
    'the first connection and the reconnect counted as attempts',
    async () => {
      const attempts = await instant(`ws_manager_upstream_connect_attempts_total{${canary}}`);
      return Number(attempts[0]?.value[1]) >= 2 ? true : undefined;
    },
    ...TOOL_WAIT,
  );
  const budget = await instant(`ws_manager_upstream_connect_budget_ratio{${canary}}`);
  assert.ok(Number(budget[0]?.value[1]) > 0 && Number(budget[0]?.value[1]) < 0.8, 'budget in use, not near');
  const retryAfter = await instant(`ws_manager_upstream_retry_after_seconds{job="${JOB}"}`);
  assert.ok(
    retryAfter.every((sample) => sample.value[1] === '0'),
    'no Retry-After in force',
  );
  for (const query of dashboard.filter((q) => limitQuery(q.expr))) await returnsSeries(query);
});
