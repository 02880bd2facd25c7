/**
 * The metric table of monitoring/README.md lists exactly the ws_* metrics a real gateway exports (both
 * implementations together), and every default process metric it names is exported too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../../src/gateway/index.js';
import { readmeMetricNames } from './monitoring-tools.js';

/** Metric families of one scrape of a real gateway (`# TYPE` lines). */
async function exportedNames(useNewWsManager: boolean): Promise<Set<string>> {
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, useNewWsManager, logLevel: 'silent' });
  try {
    const response = await fetch(`${gateway.url}/api/ws/metrics?format=prometheus`);
    assert.equal(response.status, 200);
    const text = await response.text();
    return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? ''));
  } finally {
    await gateway.close();
  }
}

test('monitoring/README.md lists exactly the ws_* metrics the gateway exports', async () => {
  const exported = new Set([...(await exportedNames(false)), ...(await exportedNames(true))]);
  const listed = readmeMetricNames();
  const ours = (names: Iterable<string>): string[] =>
    [...names].filter((name) => name.startsWith('ws_')).sort();
  assert.deepEqual(
    {
      missingFromReadme: ours(exported).filter((name) => !listed.has(name)),
      listedButNotExported: [...listed].filter((name) => !exported.has(name)).sort(),
    },
    { missingFromReadme: [], listedButNotExported: [] },
  );
  assert.ok(listed.has('ws_manager_sequence_resets_total'));
});
