/**
 * The canary analysis queries are valid PromQL and judge synthetic series as intended: k8s/tests/ holds
 * them as recording rules (checked here to be the AnalysisTemplate's queries with its args resolved) and a
 * `promtool test rules` file; each metric's successCondition is then applied to the values promtool
 * confirmed. promtool stands in for the Prometheus the AnalysisRun would query in the cluster.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { haveBinaries } from '../support/system-tools.js';
import { analysisMetrics, recordNameFor, resolvedArgs, resolvePlaceholders } from './analysis-template.js';
import { loadManifest, REPO_ROOT, readRepoFile } from './manifest.js';
import { conditionBound, evaluateSuccessCondition } from './success-condition.js';

const RULES_FILE = 'k8s/tests/analysis-rules.yml';
const TEST_FILE = 'k8s/tests/analysis-rules.test.yml';

const objects = loadManifest();
const metrics = analysisMetrics(objects);
const args = resolvedArgs(objects);

interface RecordingRule {
  record: string;
  expr: string;
}
interface PromtoolTests {
  tests: Array<{
    name: string;
    promql_expr_test: Array<{ expr: string; exp_samples: Array<{ labels: string; value: number }> }>;
  }>;
}

/** Pass (true) or fail (false) per analysis metric, for each test group of k8s/tests/analysis-rules.test.yml. */
const EXPECTED_VERDICTS: Record<string, Record<string, boolean>> = {
  'canary retries 2x more per pod than stable': {
    'retry-rate-per-connection-vs-stable': false,
    'error-rate-per-connection-vs-stable': true,
    'health-vs-stable': true,
  },
  'canary retries and errs as much per pod as stable': {
    'retry-rate-per-connection-vs-stable': true,
    'error-rate-per-connection-vs-stable': true,
    'health-vs-stable': true,
  },
  'canary errs 2x more per pod than stable': {
    'retry-rate-per-connection-vs-stable': true,
    'error-rate-per-connection-vs-stable': false,
    'health-vs-stable': true,
  },
  'both tracks clean': {
    'retry-rate-per-connection-vs-stable': true,
    'error-rate-per-connection-vs-stable': true,
    'health-vs-stable': true,
  },
  'canary unhealthy while stable is healthy': { 'health-vs-stable': false },
  'every pod unhealthy (exchange outage)': { 'health-vs-stable': true },
  'no canary pod scraped': {
    'retry-rate-per-connection-vs-stable': false,
    'error-rate-per-connection-vs-stable': false,
    'health-vs-stable': false,
  },
};

function promtool(...argv: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', argv, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('canary analysis queries', () => {
  test('k8s/tests/analysis-rules.yml records exactly the AnalysisTemplate queries, args resolved', () => {
    const rules = (
      parse(readRepoFile(RULES_FILE)) as { groups: Array<{ rules: RecordingRule[] }> }
    ).groups.flatMap((g) => g.rules);
    assert.deepEqual(
      rules.map((r) => r.record),
      metrics.map((m) => recordNameFor(m.name)),
    );
    for (const metric of metrics) {
      const rule = rules.find((r) => r.record === recordNameFor(metric.name));
      assert.equal(rule?.expr, resolvePlaceholders(metric.provider.prometheus.query, args), metric.name);
    }
  });

  test('the verdict table covers every test group and every metric at least once each way', () => {
    const groups = (parse(readRepoFile(TEST_FILE)) as PromtoolTests).tests.map((t) => t.name);
    assert.deepEqual(groups.sort(), Object.keys(EXPECTED_VERDICTS).sort());
    for (const metric of metrics) {
      const verdicts = Object.values(EXPECTED_VERDICTS).flatMap((v) =>
        metric.name in v ? [v[metric.name]] : [],
      );
      assert.ok(
        verdicts.includes(true) && verdicts.includes(false),
        `${metric.name} passes and fails somewhere`,
      );
    }
  });

  test('each successCondition turns the expected values into the expected verdicts', () => {
    const file = parse(readRepoFile(TEST_FILE)) as PromtoolTests;
    for (const group of file.tests) {
      const expected = EXPECTED_VERDICTS[group.name] ?? {};
      const judged: Record<string, boolean> = {};
      for (const check of group.promql_expr_test) {
        const metric = metrics.find((m) => recordNameFor(m.name) === check.expr);
        assert.ok(metric?.successCondition, `${check.expr} is an analysis metric with a successCondition`);
        judged[metric.name] = evaluateSuccessCondition(
          metric.successCondition,
          check.exp_samples.map((s) => s.value),
        );
      }
      assert.deepEqual(judged, expected, group.name);
    }
  });

  test('2x the stable per-pod retry rate is past the bound and equal rates are within it', () => {
    const retry = metrics.find((m) => m.name === 'retry-rate-per-connection-vs-stable');
    assert.ok(retry?.successCondition);
    assert.deepEqual(conditionBound(retry.successCondition), { op: '<=', bound: 1.5 });
    assert.equal(evaluateSuccessCondition(retry.successCondition, [2]), false);
    assert.equal(evaluateSuccessCondition(retry.successCondition, [1]), true);
    assert.equal(evaluateSuccessCondition(retry.successCondition, []), false);
    assert.equal(evaluateSuccessCondition(retry.successCondition, [Number.NaN]), false);
  });

  test('promtool: the queries are valid PromQL and the synthetic cases yield the expected values', (t) => {
    if (!haveBinaries(t, ['promtool'])) return;
    const check = promtool('check', 'rules', RULES_FILE);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, new RegExp(`SUCCESS: ${metrics.length} rules found`));
    const run = promtool('test', 'rules', TEST_FILE);
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /SUCCESS/);
  });

  test('promtool rejects a broken query and a wrong expected value (the check can fail)', (t) => {
    if (!haveBinaries(t, ['promtool'])) return;
    const broken = spawnSync('promtool', ['check', 'rules'], {
      input:
        'groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: avg by (environment (up)\n',
      encoding: 'utf8',
    });
    assert.notEqual(broken.status, 0);
    const dir = mkdtempSync(join(tmpdir(), 'analysis-rules-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const mutatedTests = join(dir, 'analysis-rules.test.yml');
    writeFileSync(
      mutatedTests,
      readRepoFile(TEST_FILE)
        .replace(
          '  - ../../monitoring/ws-manager-rules.yml\n',
          `  - ${REPO_ROOT}monitoring/ws-manager-rules.yml\n`,
        )
        .replace('  - analysis-rules.yml\n', `  - ${REPO_ROOT}${RULES_FILE}\n`)
        .replace('value: 2\n', 'value: 1\n'),
    );
    const wrong = spawnSync('promtool', ['test', 'rules', mutatedTests], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(wrong.status, 0, `${wrong.stdout}${wrong.stderr}`);
    // Failed on the value, not on a missing file: promtool prints what it expected and what it got.
    assert.match(
      `${wrong.stdout}${wrong.stderr}`,
      /exp: .*retry_rate_per_connection_vs_stable.* 1E\+00\s+got: .* 2E\+00/,
    );
  });
});
