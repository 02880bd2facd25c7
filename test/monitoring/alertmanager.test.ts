/**
 * The real Alertmanager loaded with monitoring/alertmanager.yml: alerts posted to it land on the
 * receiver their severity calls for, and the inhibition rules hold back exactly the alerts they should.
 * (amtool can test routing offline but not inhibition.)
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { ALERTMANAGER_CONFIG, binaryOf, freePort, stopProcess, TOOL_WAIT } from './monitoring-tools.js';

interface PostedAlert {
  readonly labels: Record<string, string>;
}
interface GettableAlert {
  readonly labels: Record<string, string>;
  readonly receivers: ReadonlyArray<{ readonly name: string }>;
  readonly status: {
    readonly state: 'active' | 'suppressed' | 'unprocessed';
    readonly inhibitedBy: string[];
  };
}

const job = 'cryptrade-ws-metrics';
const a = { job, instance: '10.0.0.1:3000', environment: 'production', track: 'stable' };
const b = { job, instance: '10.0.0.2:3000', environment: 'production', track: 'canary' };

/** Each posted alert with the receiver and state Alertmanager must give it. */
const CASES: ReadonlyArray<{ alert: PostedAlert; receiver: string; state: 'active' | 'suppressed' }> = [
  // Target a cannot be scraped: its other alerts are held back.
  {
    alert: {
      labels: { alertname: 'WSManagerServiceDown', severity: 'critical', problem: 'scrape_failed', ...a },
    },
    receiver: 'pager',
    state: 'active',
  },
  {
    alert: { labels: { alertname: 'WSManagerConnectionLeak', severity: 'warning', ...a } },
    receiver: 'chat',
    state: 'suppressed',
  },
  {
    alert: { labels: { alertname: 'WSManagerUpstreamUnhealthy', severity: 'critical', ...a } },
    receiver: 'pager',
    state: 'suppressed',
  },
  // Target b is scraped but its upstream is down: retries, stalls and gaps are held back, not the rest.
  {
    alert: { labels: { alertname: 'WSManagerUpstreamUnhealthy', severity: 'critical', ...b } },
    receiver: 'pager',
    state: 'active',
  },
  {
    alert: { labels: { alertname: 'WSManagerHighRetryRate', severity: 'warning', ...b } },
    receiver: 'chat',
    state: 'suppressed',
  },
  {
    alert: {
      labels: { alertname: 'WSManagerUpstreamStalled', severity: 'warning', reason: 'stalled', ...b },
    },
    receiver: 'chat',
    state: 'suppressed',
  },
  {
    alert: { labels: { alertname: 'WSManagerMessageGaps', severity: 'warning', ...b } },
    receiver: 'chat',
    state: 'suppressed',
  },
  {
    alert: { labels: { alertname: 'WSManagerUpstreamSilent', severity: 'warning', ...b } },
    receiver: 'chat',
    state: 'suppressed',
  },
  // The cause of the outage stays visible.
  {
    alert: { labels: { alertname: 'WSManagerUpstreamRateLimited', severity: 'critical', ...b } },
    receiver: 'pager',
    state: 'active',
  },
  {
    alert: { labels: { alertname: 'WSManagerConnectBudgetHigh', severity: 'warning', ...b } },
    receiver: 'chat',
    state: 'active',
  },
  {
    alert: { labels: { alertname: 'WSManagerCleanupLag', severity: 'warning', ...b } },
    receiver: 'chat',
    state: 'active',
  },
  // The canary comparison is per environment, not per target: no target's outage holds it back.
  {
    alert: {
      labels: { alertname: 'WSManagerCanaryRetryRateHigh', severity: 'critical', environment: 'production' },
    },
    receiver: 'pager',
    state: 'active',
  },
  {
    alert: {
      labels: {
        alertname: 'WSManagerTrackNotScraped',
        severity: 'warning',
        environment: 'production',
        track: 'canary',
      },
    },
    receiver: 'chat',
    state: 'active',
  },
];

const key = (labels: Record<string, string>): string => `${labels['alertname']}@${labels['instance'] ?? '-'}`;

test('Alertmanager routes by severity and inhibits per target as configured', {
  timeout: 30_000,
}, async (t) => {
  const binary = binaryOf(t, ['alertmanager', 'prometheus-alertmanager']);
  if (binary === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'ws-alertmanager-'));
  let child: ChildProcess | undefined;
  let log = '';
  t.after(async () => {
    if (child !== undefined) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  child = spawn(
    binary,
    [
      `--config.file=${ALERTMANAGER_CONFIG}`,
      `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No cluster gossip: a lone instance on loopback.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  await waitFor(
    'Alertmanager ready',
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    ...TOOL_WAIT,
  ).catch((error: Error) => assert.fail(`${error.message}\n${log}`));

  const posted = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(CASES.map((entry) => entry.alert)),
  });
  assert.equal(posted.status, 200, await posted.text());

  const expected = new Map(CASES.map((entry) => [key(entry.alert.labels), entry]));
  const alerts = await waitFor(
    'every alert processed with its final state',
    async () => {
      const list = (await (await fetch(`${url}/api/v2/alerts`)).json()) as GettableAlert[];
      const settled = list.every((alert) => alert.status.state === expected.get(key(alert.labels))?.state);
      return list.length === CASES.length && settled ? list : undefined;
    },
    ...TOOL_WAIT,
  ).catch(async (error: Error) => {
    const list = (await (await fetch(`${url}/api/v2/alerts`)).json()) as GettableAlert[];
    assert.fail(`${error.message}: ${JSON.stringify(list.map((x) => [key(x.labels), x.status.state]))}`);
  });
  for (const alert of alerts) {
    const wanted = expected.get(key(alert.labels));
    assert.ok(wanted !== undefined, key(alert.labels));
    assert.deepEqual(
      alert.receivers.map((receiver) => receiver.name),
      [wanted.receiver],
      `${key(alert.labels)} receiver`,
    );
    assert.equal(alert.status.state, wanted.state, `${key(alert.labels)} state`);
  }
});
