/**
 * The rules file: promtool accepts it, its unit tests (monitoring/tests/*.yml) pass, every alert is
 * covered by them in all three states (not firing, pending, firing with its labels and annotations),
 * and every alert carries what operators and Alertmanager rely on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  haveBinaries,
  loadAlerts,
  loadRules,
  RULE_TESTS_DIR,
  RULES_FILE,
  RUNBOOK_FILE,
  run,
} from './monitoring-tools.js';

interface AlertRuleTest {
  readonly alertname: string;
  readonly exp_alerts?: ReadonlyArray<{
    readonly exp_labels?: Record<string, string>;
    readonly exp_annotations?: Record<string, string>;
  }>;
}
interface PromqlExprTest {
  readonly expr: string;
  readonly exp_samples?: ReadonlyArray<{ readonly labels: string }>;
}
interface RuleTestFile {
  readonly rule_files: readonly string[];
  readonly tests: ReadonlyArray<{
    readonly alert_rule_test?: readonly AlertRuleTest[];
    readonly promql_expr_test?: readonly PromqlExprTest[];
  }>;
}

const testFiles = readdirSync(RULE_TESTS_DIR)
  .filter((name) => name.endsWith('.yml'))
  .sort();

function loadTestFiles(): RuleTestFile[] {
  return testFiles.map((name) => parse(readFileSync(join(RULE_TESTS_DIR, name), 'utf8')) as RuleTestFile);
}

test('promtool check rules accepts ws-manager-rules.yml', async (t) => {
  if (!haveBinaries(t, ['promtool'])) return;
  const result = await run('promtool', ['check', 'rules', RULES_FILE]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, new RegExp(`SUCCESS: ${loadRules().length} rules found`));
});

for (const name of testFiles) {
  test(`promtool test rules monitoring/tests/${name}`, async (t) => {
    if (!haveBinaries(t, ['promtool'])) return;
    const result = await run('promtool', ['test', 'rules', join(RULE_TESTS_DIR, name)], 60_000);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });
}

test('promtool test rules fails when an expectation is wrong', async (t) => {
  if (!haveBinaries(t, ['promtool'])) return;
  const dir = mkdtempSync(join(tmpdir(), 'ws-rules-'));
  try {
    const file = join(dir, 'wrong.yml');
    // 101 connections for 6 minutes does fire; expecting silence must fail.
    writeFileSync(
      file,
      [
        `rule_files: [${JSON.stringify(RULES_FILE)}]`,
        'evaluation_interval: 1m',
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        `      - series: 'ws_manager_active_connections{job="cryptrade-ws-metrics", instance="a:1"}'`,
        `        values: '101x10'`,
        '    alert_rule_test:',
        '      - eval_time: 6m',
        '        alertname: WSManagerConnectionLeak',
        '',
      ].join('\n'),
    );
    const result = await run('promtool', ['test', 'rules', file]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /FAILED/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every alert is unit-tested not firing, pending and firing with labels and annotations', () => {
  const files = loadTestFiles();
  for (const file of files) assert.deepEqual(file.rule_files, ['../ws-manager-rules.yml']);
  const alertTests = files.flatMap((file) => file.tests.flatMap((group) => group.alert_rule_test ?? []));
  const exprTests = files.flatMap((file) => file.tests.flatMap((group) => group.promql_expr_test ?? []));
  for (const { alert } of loadAlerts()) {
    const mine = alertTests.filter((entry) => entry.alertname === alert);
    assert.ok(
      mine.some((entry) => (entry.exp_alerts ?? []).length === 0),
      `${alert}: no test expects it silent`,
    );
    const firing = mine.flatMap((entry) => entry.exp_alerts ?? []);
    assert.ok(firing.length > 0, `${alert}: no test expects it firing`);
    for (const expected of firing) {
      assert.ok(expected.exp_labels?.severity !== undefined, `${alert}: firing test without severity`);
      for (const key of ['summary', 'description', 'runbook_url']) {
        assert.ok(expected.exp_annotations?.[key] !== undefined, `${alert}: firing test without ${key}`);
      }
    }
    const pending = exprTests.some(
      (entry) =>
        entry.expr.includes(`alertname="${alert}"`) &&
        (entry.exp_samples ?? []).some(
          (sample) =>
            sample.labels.includes('alertstate="pending"') && sample.labels.includes(`alertname="${alert}"`),
        ),
    );
    assert.ok(pending, `${alert}: no test shows it pending (over the threshold for less than its for:)`);
  }
});

test('every alert has a for:, a severity, a summary, a description with the value and a runbook section', () => {
  const runbook = readFileSync(RUNBOOK_FILE, 'utf8');
  const headings = new Set(
    [...runbook.matchAll(/^## (.+)$/gm)].map((match) => (match[1] ?? '').trim().toLowerCase()),
  );
  for (const rule of loadAlerts()) {
    assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`);
    assert.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
    assert.ok((rule.annotations?.summary ?? '').length > 0, `${rule.alert}: summary`);
    assert.match(rule.annotations?.description ?? '', /\{\{ \$value/, `${rule.alert}: description`);
    const anchor = rule.alert.toLowerCase();
    assert.equal(
      rule.annotations?.runbook_url,
      `monitoring/runbook.md#${anchor}`,
      `${rule.alert}: runbook_url`,
    );
    assert.ok(headings.has(anchor), `${rule.alert}: runbook.md has no "## ${rule.alert}" section`);
    const section = runbook.split(/^## /m).find((part) => part.toLowerCase().startsWith(anchor)) ?? '';
    for (const part of ['Meaning', 'First checks', 'Fixes']) {
      assert.ok(section.includes(`**${part}**`), `${rule.alert}: runbook section lacks ${part}`);
    }
  }
});

test('recording rules are named level:metric:operations and read counters only through rate()', () => {
  const rules = loadRules();
  const records = rules.filter((rule) => rule.record !== undefined);
  assert.ok(records.length > 0);
  for (const rule of records) {
    assert.match(rule.record ?? '', /^[a-z_]+:[a-z][a-z0-9_]*:[a-z0-9_]+$/, `${rule.record}`);
    assert.doesNotMatch(rule.record ?? '', /_total:/, `${rule.record}: drop _total from the metric part`);
  }
  // A counter used outside rate()/increase() turns every restart into an alert (or a negative value).
  for (const rule of rules) {
    for (const match of rule.expr.matchAll(/(\w*)\(?\s*(ws_\w+_total)\b/g)) {
      const fn = match[1] ?? '';
      assert.ok(
        ['rate', 'increase'].includes(fn),
        `${rule.alert ?? rule.record}: ${match[2]} read by "${fn}"`,
      );
    }
  }
});
