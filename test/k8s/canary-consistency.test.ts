/**
 * The manifest agrees with itself, with the gateway's configuration, with the monitoring kit (scrape
 * job, labels, rules) and with the runbook: the things a cluster would only reveal after a bad rollout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { MANIFEST_PATH, RULES_PATH, SyncError, syncPrometheusRule } from '../../k8s/sync-prometheus-rule.js';
import { loadConfig, VARIABLES } from '../../src/config/index.js';
import { analysisMetrics, analysisTemplate, resolvedArgs } from './analysis-template.js';
import {
  field,
  findObject,
  isRecord,
  type K8sObject,
  loadManifest,
  parseManifest,
  readRepoFile,
} from './manifest.js';
import { baselineManifestText, podEnv } from './pod-env.js';
import { conditionBound } from './success-condition.js';

const objects = loadManifest();
const rollout = findObject(objects, 'Rollout');
const canary = field(rollout, 'spec.strategy.canary') as Record<string, unknown>;
const template = field(rollout, 'spec.template') as { metadata: { labels: Record<string, string> } };
const podSpec = field(rollout, 'spec.template.spec') as Record<string, unknown>;
const container = field(podSpec, 'containers.0') as Record<string, unknown>;
const podMonitor = findObject(objects, 'PodMonitor');
const endpoint = field(podMonitor, 'spec.podMetricsEndpoints.0') as Record<string, unknown>;
const secrets = { 'ws-manager-metrics-token/token': 'token' };
const rulesFile = parse(readRepoFile(RULES_PATH)) as {
  groups: Array<{ rules: Array<Record<string, string>> }>;
};
const rules = rulesFile.groups.flatMap((g) => g.rules);
const scrapeConfig = parse(readRepoFile('monitoring/prometheus-config.yml')) as {
  global: { scrape_timeout: string };
  scrape_configs: Array<Record<string, unknown>>;
};

/** Every `name: value` pair anywhere inside a value, with its path. */
function* entries(value: unknown, path = ''): Generator<[string, unknown]> {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* entries(v, `${path}.${i}`);
  else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      yield [`${path}.${k}`, v];
      yield* entries(v, `${path}.${k}`);
    }
  }
}

function matchLabels(object: K8sObject, path: string): Record<string, string> {
  return field(object, path) as Record<string, string>;
}

function assertSelects(selector: Record<string, string>, what: string): void {
  for (const [k, v] of Object.entries(selector))
    assert.equal(template.metadata.labels[k], v, `${what} selects ${k}=${v}`);
}

/** Label names a PromQL expression groups or matches by (`by (...)`, `on (...)`, `without (...)`, `{name=...}`). */
function labelNames(expr: string): Set<string> {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) {
    for (const n of m[1]!.split(',')) if (n.trim() !== '') names.add(n.trim());
  }
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const n of m[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) names.add(n[1]!);
  }
  return names;
}

describe('canary strategy', () => {
  test('sends 10% to the canary, then holds for the operators with analysis running', () => {
    assert.deepEqual(canary['steps'], [{ setWeight: 10 }, { pause: {} }]);
    assert.equal(field(canary, 'analysis.startingStep'), 1, 'analysis starts once the weight is set');
    assert.equal(
      field(canary, 'trafficRouting.nginx.stableIngress'),
      findObject(objects, 'Ingress').metadata.name,
    );
    assert.equal(canary['dynamicStableScale'], false, 'stable keeps every pod during the canary');
  });

  test('USE_NEW_WS_MANAGER is set once, to "true", in the Rollout template that becomes the canary', () => {
    const places = objects.flatMap((o) =>
      [...entries(o)].filter(([, v]) => v === 'USE_NEW_WS_MANAGER').map(([p]) => `${o.kind}${p}`),
    );
    assert.deepEqual(places, ['Rollout.spec.template.spec.containers.0.env.0.name']);
    assert.ok(!('USE_NEW_WS_MANAGER' in (field(findObject(objects, 'ConfigMap'), 'data') as object)));
    assert.equal(podEnv(objects, secrets)['USE_NEW_WS_MANAGER'], 'true');
    assert.equal(readRepoFile(MANIFEST_PATH).match(/^ {14}value: "true" # canary-flag$/gm)?.length, 1);
  });

  test("the runbook's baseline command yields the same manifest with the flag false, nothing else changed", () => {
    const baseline = parseManifest(baselineManifestText());
    assert.equal(podEnv(baseline, secrets)['USE_NEW_WS_MANAGER'], 'false');
    const restored = structuredClone(baseline);
    const env = field(findObject(restored, 'Rollout'), 'spec.template.spec.containers.0.env.0') as {
      value: string;
    };
    env.value = 'true';
    assert.deepEqual(restored, objects);
  });

  test('pods are labelled environment=staging and track=canary|stable by role, never in the template', () => {
    assert.equal(template.metadata.labels['environment'], 'staging');
    assert.ok(!('track' in template.metadata.labels), 'track comes from canary/stable metadata only');
    assert.deepEqual(field(canary, 'canaryMetadata.labels'), { track: 'canary' });
    assert.deepEqual(field(canary, 'stableMetadata.labels'), { track: 'stable' });
    assert.equal(resolvedArgs(objects)['environment'], template.metadata.labels['environment']);
  });

  test('Services, Ingress, PodDisruptionBudget and PodMonitor select the Rollout pods on the named port', () => {
    const ports = container['ports'] as Array<{ name: string; containerPort: number }>;
    assertSelects(matchLabels(rollout, 'spec.selector.matchLabels'), 'Rollout');
    for (const name of [canary['stableService'], canary['canaryService']] as string[]) {
      const service = findObject(objects, 'Service', name);
      assertSelects(matchLabels(service, 'spec.selector'), name);
      const servicePorts = field(service, 'spec.ports') as Array<{ name: string; targetPort: string }>;
      assert.ok(
        servicePorts.every((p) => ports.some((c) => c.name === p.targetPort)),
        `${name} targetPort`,
      );
    }
    for (const path of field(findObject(objects, 'Ingress'), 'spec.rules.0.http.paths') as Array<
      Record<string, unknown>
    >) {
      assert.equal(field(path, 'backend.service.name'), canary['stableService'], 'Ingress points at stable');
      const service = findObject(objects, 'Service', String(canary['stableService']));
      assert.ok(
        (field(service, 'spec.ports') as Array<{ name: string }>).some(
          (p) => p.name === field(path, 'backend.service.port.name'),
        ),
      );
    }
    assertSelects(
      matchLabels(findObject(objects, 'PodDisruptionBudget'), 'spec.selector.matchLabels'),
      'PDB',
    );
    assertSelects(matchLabels(podMonitor, 'spec.selector.matchLabels'), 'PodMonitor');
    assert.ok(
      ports.some((p) => p.name === endpoint['port']),
      'PodMonitor scrapes the named container port',
    );
  });
});

describe('gateway configuration', () => {
  const config = loadConfig(podEnv(objects, secrets));

  test('every ConfigMap key is a variable the gateway reads, and the environment loads', () => {
    const known = new Set(VARIABLES.map((v) => v.env));
    for (const key of Object.keys(field(findObject(objects, 'ConfigMap'), 'data') as object)) {
      assert.ok(known.has(key), `${key} is read by the gateway (src/config/variables.ts)`);
    }
    assert.equal(config.host, '0.0.0.0', 'binds every interface in the pod');
    assert.equal(config.useNewWsManager, true);
    assert.match(config.upstreamUrl ?? '', /^wss:\/\//);
    assert.equal(loadConfig(podEnv(parseManifest(baselineManifestText()), secrets)).useNewWsManager, false);
  });

  test('the container port is the gateway port', () => {
    const ports = container['ports'] as Array<{ name: string; containerPort: number }>;
    assert.deepEqual(
      ports.map((p) => p.containerPort),
      [config.port],
    );
  });

  test('terminationGracePeriodSeconds covers the preStop pause plus the drain deadline', () => {
    const preStop = field(container, 'lifecycle.preStop.exec.command') as string[];
    assert.equal(preStop[0], 'sleep');
    const pause = Number(preStop[1]);
    const grace = podSpec['terminationGracePeriodSeconds'] as number;
    assert.ok(
      grace > pause + config.shutdownTimeoutSeconds,
      `${grace} > ${pause} + ${config.shutdownTimeoutSeconds}`,
    );
  });

  test('non-root, read-only, no capabilities, seccomp, bounded resources', () => {
    assert.equal(field(podSpec, 'securityContext.runAsNonRoot'), true);
    assert.equal(field(podSpec, 'securityContext.seccompProfile.type'), 'RuntimeDefault');
    assert.deepEqual(field(container, 'securityContext'), {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory'])
        assert.ok(field(container, `resources.${kind}.${resource}`), `${kind}.${resource}`);
    }
    const heapMiB = Number(
      /--max-old-space-size=(\d+)/.exec(podEnv(objects, secrets)['NODE_OPTIONS'] ?? '')?.[1],
    );
    const limitMiB = Number(/^(\d+)Mi$/.exec(String(field(container, 'resources.limits.memory')))?.[1]);
    assert.ok(heapMiB > 0 && heapMiB < limitMiB, `heap ${heapMiB} MiB under the ${limitMiB} MiB limit`);
  });
});

describe('monitoring kit', () => {
  const job = scrapeConfig.scrape_configs.find((c) => c['job_name'] === 'cryptrade-ws-metrics');

  test("the PodMonitor scrapes like monitoring/prometheus-config.yml's job", () => {
    assert.ok(job, 'prometheus-config.yml has the cryptrade-ws-metrics job');
    const relabel = (endpoint['relabelings'] as Array<Record<string, string>>).find(
      (r) => r['targetLabel'] === 'job',
    );
    assert.deepEqual(relabel, { action: 'replace', targetLabel: 'job', replacement: job['job_name'] });
    assert.equal(endpoint['path'], job['metrics_path']);
    assert.deepEqual(endpoint['params'], job['params']);
    assert.equal(endpoint['interval'], job['scrape_interval']);
    assert.equal(endpoint['scrapeTimeout'], job['scrape_timeout'] ?? scrapeConfig.global.scrape_timeout);
    assert.equal(field(endpoint, 'authorization.type'), field(job, 'authorization.type'));
  });

  test("the PodMonitor attaches the labels the kit's targets carry, from pod labels the Rollout sets", () => {
    const targetLabels = field(podMonitor, 'spec.podTargetLabels') as string[];
    assert.deepEqual(targetLabels, ['environment', 'track']);
    for (const name of ['local.yml']) {
      const groups = parse(readRepoFile(`monitoring/targets/${name}`)) as Array<{
        labels: Record<string, string>;
      }>;
      for (const group of groups)
        assert.deepEqual(Object.keys(group.labels).sort(), [...targetLabels].sort(), name);
    }
    for (const label of targetLabels) {
      const set =
        label in template.metadata.labels || label in (field(canary, 'canaryMetadata.labels') as object);
      assert.ok(set, `pods carry ${label}`);
    }
  });

  test("the rules and the analysis select only labels the scrape provides, and the job's name", () => {
    // alertname/alertstate: the ALERTS series Prometheus writes for its own alerts (the canary alerts read theirs).
    const provided = new Set([
      ...['job', 'instance', 'pod', 'namespace', 'environment', 'track'],
      // Labels the metrics carry themselves.
      ...['reason', 'le', 'setting', 'venue', 'feed'],
      ...['alertname', 'alertstate'],
    ]);
    const exprs = [
      ...rules.map((r) => String(r['expr'])),
      ...analysisMetrics(objects).map((m) => m.provider.prometheus.query),
    ];
    const used = new Set<string>();
    for (const expr of exprs) {
      for (const name of labelNames(expr)) used.add(name);
      for (const m of expr.matchAll(/\bjob\s*=\s*"([^"]*)"/g)) assert.equal(m[1], job?.['job_name']);
    }
    for (const name of used) assert.ok(provided.has(name), `label ${name} is attached by the scrape`);
    assert.ok(
      used.has('environment') && used.has('track'),
      'the canary comparison relies on environment and track',
    );
  });

  test('the PrometheusRule carries exactly the groups of monitoring/ws-manager-rules.yml', () => {
    assert.deepEqual(field(findObject(objects, 'PrometheusRule'), 'spec.groups'), rulesFile.groups);
    const text = readRepoFile(MANIFEST_PATH);
    assert.equal(
      syncPrometheusRule(text, readRepoFile(RULES_PATH)),
      text,
      'run: npx tsx k8s/sync-prometheus-rule.ts',
    );
  });

  test('the generator rewrites only the PrometheusRule document and refuses bad input', () => {
    const text = readRepoFile(MANIFEST_PATH);
    const changed = readRepoFile(RULES_PATH).replace('for: 3m', 'for: 4m');
    const synced = parseManifest(syncPrometheusRule(text, changed));
    assert.deepEqual(
      field(findObject(synced, 'PrometheusRule'), 'spec.groups'),
      (parse(changed) as { groups: unknown }).groups,
    );
    assert.deepEqual(
      synced.filter((o) => o.kind !== 'PrometheusRule'),
      objects.filter((o) => o.kind !== 'PrometheusRule'),
    );
    assert.throws(
      () => syncPrometheusRule(text, 'groups: []\n'),
      (e: unknown) => e instanceof SyncError && e.code === 'K8S_ERR_RULES_FILE',
    );
    assert.throws(
      () =>
        syncPrometheusRule(
          'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n',
          readRepoFile(RULES_PATH),
        ),
      (e: unknown) => e instanceof SyncError && e.code === 'K8S_ERR_MANIFEST',
    );
  });

  test('the retry and error analyses read the series the canary alerts compare, at the same threshold', () => {
    for (const [metricName, alertName] of [
      ['retry-rate-per-connection-vs-stable', 'WSManagerCanaryRetryRateHigh'],
      ['error-rate-per-connection-vs-stable', 'WSManagerCanaryErrorRateHigh'],
    ] as const) {
      const alert = rules.find((r) => r['alert'] === alertName);
      assert.ok(alert, alertName);
      // The first clause; the rest only holds a firing alert whose input vanished.
      const [, series, threshold] = /^(\S+) > ([\d.]+)(?:\s|$)/.exec(alert['expr']!.trim()) ?? [];
      const metric = analysisMetrics(objects).find((m) => m.name === metricName);
      assert.ok(metric?.successCondition && series && threshold);
      assert.ok(
        rules.some((r) => r['record'] === series),
        `${series} is recorded by the kit`,
      );
      assert.match(
        metric.provider.prometheus.query,
        new RegExp(`^${series.replaceAll(':', ':')}\\{environment="\\{\\{args\\.environment\\}\\}"\\}$`),
      );
      assert.deepEqual(conditionBound(metric.successCondition), { op: '<=', bound: Number(threshold) });
      assert.equal(alert['for'], '3m', 'the alert and the rollback both wait about 3 minutes');
    }
  });
});

describe('analysis limits', () => {
  const metrics = analysisMetrics(objects);

  test('every metric is measured each minute and 3 bad minutes abort', () => {
    assert.equal(metrics.length, 3);
    for (const metric of metrics) {
      assert.equal(metric.interval, '1m', metric.name);
      // The (failureLimit + 1)th failure fails the run: 3 one-minute measurements fit in any 3 minutes.
      assert.equal(metric.failureLimit, 2, metric.name);
      assert.equal(metric.consecutiveErrorLimit, 2, metric.name);
      assert.equal(metric.count, undefined, `${metric.name} measures for as long as the canary lives`);
      assert.equal(metric.failureCondition, undefined, 'a result that is not a success is a failure');
      assert.match(
        metric.successCondition ?? '',
        /^len\(result\) > 0 && /,
        `${metric.name}: empty result fails`,
      );
    }
  });

  test('the template is the one the Rollout references, with every arg given a value', () => {
    assert.equal(analysisTemplate(objects).metadata.name, 'ws-manager-canary');
    assert.deepEqual(Object.keys(resolvedArgs(objects)).sort(), ['environment', 'prometheus-address']);
  });
});

describe('docs/canary.md', () => {
  const docs = readRepoFile('docs/canary.md');

  test('every kubectl argo rollouts command names the Rollout and its namespace', () => {
    const commands = docs.split('\n').filter((l) => l.trim().startsWith('kubectl argo rollouts'));
    assert.ok(commands.length >= 6, commands.join('\n'));
    for (const command of commands) {
      assert.match(command, new RegExp(`\\b${rollout.metadata.name}\\b`), command);
      assert.match(command, new RegExp(`-n ${rollout.metadata.namespace}\\b`), command);
    }
    for (const verb of ['promote', 'abort', 'undo', 'retry rollout', 'get rollout', 'status']) {
      assert.ok(
        commands.some((c) => c.includes(`kubectl argo rollouts ${verb} `)),
        verb,
      );
    }
  });

  test('alerts, dashboard panels and metric names it cites exist in the monitoring kit', () => {
    const alerts = new Set(rules.map((r) => r['alert']).filter(Boolean));
    const cited = new Set(docs.match(/\bWSManager[A-Z][A-Za-z]+\b/g));
    assert.ok(cited.has('WSManagerCanaryRetryRateHigh') && cited.has('WSManagerCanaryErrorRateHigh'));
    for (const name of cited) assert.ok(alerts.has(name), `alert ${name}`);
    const dashboard = JSON.parse(readRepoFile('monitoring/grafana-dashboard.json')) as {
      uid: string;
      panels: Array<{ title: string; panels?: Array<{ title: string }> }>;
    };
    const titles = new Set(
      dashboard.panels.flatMap((p) => [p.title, ...(p.panels ?? []).map((q) => q.title)]),
    );
    const panels = [
      ...docs.matchAll(/^- \*\*([^*]+)\*\*/gm),
      ...docs.matchAll(/, \*\*([^*]+)\*\*/g),
      ...docs.matchAll(/ and \*\*([^*]+)\*\*/g),
    ];
    assert.ok(panels.length >= 8);
    for (const [, title] of panels) assert.ok(titles.has(title!), `panel "${title}"`);
    assert.ok(docs.includes(`uid \`${dashboard.uid}\``));
    for (const metric of analysisMetrics(objects))
      assert.ok(docs.includes(`\`${metric.name}\``), metric.name);
  });

  test('the image it builds is the one the Rollout runs', () => {
    assert.ok(docs.includes(`docker build -t ${container['image']} .`));
    assert.ok(docs.includes(`docker push ${container['image']}`));
  });
});
