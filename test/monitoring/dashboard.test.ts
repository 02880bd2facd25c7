/**
 * The Grafana dashboard is importable as shared (data source as an input), every query goes through the
 * data-source variable, parses as PromQL, and names only metrics the processes or the rules produce.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import {
  dashboardQueries,
  haveBinaries,
  loadDashboard,
  loadRules,
  readmeMetricNames,
  run,
} from './monitoring-tools.js';

const DATASOURCE_UID = '${datasource}';

test('dashboard has a uid, the data source as an input, and requires what it uses', () => {
  const dashboard = loadDashboard();
  assert.match(dashboard.uid ?? '', /^[a-z0-9-]{1,40}$/);
  assert.ok((dashboard.title ?? '').length > 0);
  assert.deepEqual(
    dashboard.__inputs?.map(({ name, type, pluginId }) => ({ name, type, pluginId })),
    [{ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }],
  );
  const required = new Set(dashboard.__requires?.map((entry) => `${entry.type}:${entry.id}`));
  assert.ok(required.has('grafana:grafana'));
  assert.ok(required.has('datasource:prometheus'));
  for (const panel of dashboard.panels ?? []) {
    if (panel.type !== 'row')
      assert.ok(required.has(`panel:${panel.type}`), `__requires lacks panel ${panel.type}`);
  }
  const variables = dashboard.templating?.list ?? [];
  const datasource = variables.find((variable) => variable.name === 'datasource');
  assert.equal(datasource?.type, 'datasource');
  assert.equal(datasource?.query, 'prometheus');
  // Import replaces ${DS_PROMETHEUS} with the data source picked in the import dialog.
  assert.equal(datasource?.current?.value, '${DS_PROMETHEUS}');
  for (const variable of variables.filter((v) => v.type === 'query')) {
    assert.equal(variable.datasource?.uid, DATASOURCE_UID, `variable ${variable.name}`);
  }
});

test('every panel query has a refId, uses the data-source variable and $__rate_interval', () => {
  const dashboard = loadDashboard();
  const panels = (dashboard.panels ?? []).filter((panel) => panel.type !== 'row');
  assert.ok(panels.length >= 10, `expected the operators' panel set, found ${panels.length}`);
  const ids = new Set<number>();
  for (const panel of panels) {
    const where = `panel ${panel.id} "${panel.title}"`;
    assert.ok(!ids.has(panel.id), `${where}: duplicate id`);
    ids.add(panel.id);
    assert.ok(panel.gridPos !== undefined, `${where}: gridPos`);
    assert.equal(panel.datasource?.uid, DATASOURCE_UID, `${where}: datasource`);
    assert.ok((panel.fieldConfig?.defaults?.unit ?? '').length > 0, `${where}: unit`);
    const targets = panel.targets ?? [];
    assert.ok(targets.length > 0, `${where}: no targets`);
    const refIds = new Set<string>();
    for (const target of targets) {
      assert.match(target.refId ?? '', /^[A-Z]$/, `${where}: refId`);
      assert.ok(!refIds.has(target.refId ?? ''), `${where}: duplicate refId ${target.refId}`);
      refIds.add(target.refId ?? '');
      assert.equal(target.datasource?.type, 'prometheus', `${where} ${target.refId}: datasource type`);
      assert.equal(target.datasource?.uid, DATASOURCE_UID, `${where} ${target.refId}: datasource`);
      const expr = target.expr ?? '';
      assert.ok(expr.length > 0, `${where} ${target.refId}: empty expr`);
      // Raw counters are only read through rate windows Grafana sizes to the scrape interval.
      for (const window of expr.matchAll(/\[([^\]]+)\]/g)) {
        assert.equal(window[1], '$__rate_interval', `${where} ${target.refId}: window [${window[1]}]`);
      }
    }
  }
  const titles = panels.map((panel) => panel.title.toLowerCase());
  for (const wanted of [
    'active connections',
    'retry rate',
    'stream lifecycle',
    'high water mark',
    'health status',
    'errors by reason',
    'canary / stable ratio',
    'active connections per pod',
    'http responses by status',
    'process cpu',
    'process memory',
    'event-loop lag',
    'refused connections',
    'connection budget',
    'health canary minus stable',
    'pods scraped by track',
  ]) {
    assert.ok(titles.includes(wanted), `no "${wanted}" panel`);
  }
});

/** Metric names monitoring/README.md lists (kept equal to what the gateway exports by readme-metrics.test.ts), and the recorded series. */
function knownMetricNames(): Set<string> {
  const names = new Set<string>(['up', 'ALERTS']);
  for (const name of readmeMetricNames()) {
    names.add(name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  for (const rule of loadRules()) if (rule.record !== undefined) names.add(rule.record);
  // The clustered mode's series, listed in docs/scale-out.md (kept equal to what its processes export
  // by test/cluster/cluster-flow.test.ts).
  const scaleOut = readFileSync(new URL('../../docs/scale-out.md', import.meta.url), 'utf8');
  for (const [, name] of scaleOut.matchAll(/^\| `(ws_manager_\w+)` \|/gm)) {
    for (const suffix of ['', '_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

test('dashboard queries name only metrics the processes or the rules produce, of job cryptrade-ws-metrics', () => {
  const known = knownMetricNames();
  assert.ok(known.has('ws_manager_retry_count_total'));
  for (const query of dashboardQueries(loadDashboard(), '1m')) {
    const stripped = query.expr.replaceAll(/"[^"]*"/g, '""');
    for (const match of stripped.matchAll(/\b([a-z_]+(?::[a-z0-9_]+:[a-z0-9_]+)?)\s*\{/g)) {
      assert.ok(known.has(match[1] ?? ''), `${query.where}: unknown metric ${match[1]}`);
    }
    if (/\bws_|\bup\{/.test(stripped) && !/^environment/.test(query.expr)) {
      assert.match(query.expr, /job="cryptrade-ws-metrics"/, `${query.where}: not scoped to the job`);
    }
  }
});

test('every dashboard expression parses (promtool check rules over them as recording rules)', async (t) => {
  if (!haveBinaries(t, ['promtool'])) return;
  const queries = dashboardQueries(loadDashboard(), '1m');
  const dir = mkdtempSync(join(tmpdir(), 'ws-dashboard-'));
  try {
    const file = join(dir, 'dashboard-queries.yml');
    const rules = queries.map((query, i) => ({ record: `dashboard_query_${i}`, expr: query.expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const result = await run('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
    // The same check rejects a broken expression, so a parse error cannot slip through.
    writeFileSync(
      file,
      stringify({ groups: [{ name: 'dashboard', rules: [{ record: 'x', expr: 'rate(up[' }] }] }),
    );
    const broken = await run('promtool', ['check', 'rules', file]);
    assert.notEqual(broken.code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A stat shows the state now. Reduced over the range with last-not-null, a process that stopped being
 * scraped keeps showing its last value (a dead pod reads "OK"); an instant query has no value for it,
 * and "no value" must read as a failure.
 */
test('stat panels query instant values and show no data as a failure', () => {
  const stats = (loadDashboard().panels ?? []).filter((panel) => panel.type === 'stat');
  assert.ok(stats.length >= 4);
  for (const panel of stats) {
    const where = `stat ${panel.id} "${panel.title}"`;
    for (const target of panel.targets ?? []) {
      assert.equal(target.instant, true, `${where} ${target.refId}: instant`);
      assert.equal(target.range, false, `${where} ${target.refId}: range`);
    }
    const calcs = panel.options?.reduceOptions?.calcs ?? [];
    assert.deepEqual(calcs, ['last'], `${where}: reduce`);
    const defaults = panel.fieldConfig?.defaults;
    assert.equal(defaults?.noValue, 'NO DATA', `${where}: noValue`);
    const nullMapping = (defaults?.mappings ?? []).find(
      (mapping) => mapping.type === 'special' && mapping.options?.match === 'null',
    );
    assert.equal(nullMapping?.options?.result?.color, 'red', `${where}: no data is not shown red`);
  }
});

test('the active-connections stat shows each pod against the per-pod alert bound', () => {
  const panel = (loadDashboard().panels ?? []).find((p) => p.title === 'Active connections per pod');
  assert.ok(panel !== undefined);
  const expr = panel.targets?.[0]?.expr ?? '';
  assert.match(expr, /^ws_manager_active_connections\{/, 'one series per pod, no aggregation');
  const alert = loadRules().find((rule) => rule.alert === 'WSManagerConnectionLeak');
  const bound = Number(/> (\d+)/.exec(alert?.expr ?? '')?.[1]);
  const steps = panel.fieldConfig?.defaults?.thresholds?.steps ?? [];
  assert.equal(steps.at(-1)?.color, 'red');
  assert.equal(steps.at(-1)?.value, bound + 1, 'red from the first value the alert counts as over');
});
