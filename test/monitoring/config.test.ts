/**
 * The Prometheus and Alertmanager configurations load in the real tools, and every alert of the rules
 * file reaches the receiver its severity calls for.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ALERTMANAGER_CONFIG,
  haveBinaries,
  loadAlerts,
  MONITORING_DIR,
  PROMETHEUS_CONFIG,
  run,
} from './monitoring-tools.js';

test('promtool check config accepts prometheus-config.yml with its rules, token file and targets', async (t) => {
  if (!haveBinaries(t, ['promtool'])) return;
  const result = await run('promtool', ['check', 'config', PROMETHEUS_CONFIG]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS: 1 rule files found/);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

test('promtool check config rejects a malformed target file, so the check covers file_sd targets', async (t) => {
  if (!haveBinaries(t, ['promtool'])) return;
  const dir = mkdtempSync(join(tmpdir(), 'ws-monitoring-'));
  try {
    cpSync(MONITORING_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'targets', 'broken.yml'), '- target: [127.0.0.1:3000]\n');
    const result = await run('promtool', ['check', 'config', join(dir, 'prometheus-config.yml')]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /SD file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('amtool check-config accepts alertmanager.yml', async (t) => {
  if (!haveBinaries(t, ['amtool'])) return;
  const result = await run('amtool', ['check-config', ALERTMANAGER_CONFIG]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS/);
  assert.match(result.stdout, /2 inhibit rules/);
  assert.match(result.stdout, /2 receivers/);
});

const RECEIVER_BY_SEVERITY: Record<string, string> = { critical: 'pager', warning: 'chat' };

test('every alert is routed by severity: critical to pager, warning to chat', async (t) => {
  if (!haveBinaries(t, ['amtool'])) return;
  const alerts = loadAlerts();
  assert.ok(alerts.length >= 10, `expected the full alert set, found ${alerts.length}`);
  for (const alert of alerts) {
    const severity = alert.labels?.severity ?? '';
    const expected = RECEIVER_BY_SEVERITY[severity];
    assert.ok(expected !== undefined, `${alert.alert} has severity ${JSON.stringify(severity)}`);
    const result = await run('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_CONFIG}`,
      `--verify.receivers=${expected}`,
      `severity=${severity}`,
      `alertname=${alert.alert}`,
      'job=cryptrade-ws-metrics',
      'environment=production',
      'track=canary',
    ]);
    assert.equal(result.code, 0, `${alert.alert}: ${result.stdout}${result.stderr}`);
    assert.equal(result.stdout.trim(), expected, alert.alert);
  }
});

test('routing test can fail: a warning never reaches the pager, an unlabelled alert goes to chat', async (t) => {
  if (!haveBinaries(t, ['amtool'])) return;
  const wrong = await run('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${ALERTMANAGER_CONFIG}`,
    '--verify.receivers=pager',
    'severity=warning',
    'alertname=WSManagerCleanupLag',
  ]);
  assert.notEqual(wrong.code, 0);
  assert.equal(wrong.stdout.trim().split('\n')[0], 'chat');
  const unlabelled = await run('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${ALERTMANAGER_CONFIG}`,
    'alertname=SomethingElse',
  ]);
  assert.equal(unlabelled.code, 0, unlabelled.stderr);
  assert.equal(unlabelled.stdout.trim(), 'chat');
});
