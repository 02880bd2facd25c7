/**
 * monitoring/compose.yml, the kit running on one machine, checked without a container engine: it is a
 * valid Compose file (the Compose Specification's JSON Schema, monitoring/schemas/), and its paths,
 * addresses and ports match the kit's own files, so `docker compose up` starts a Prometheus that loads
 * the tested config and scrapes the gateway, an Alertmanager it can reach, and a Grafana with the data
 * source and dashboard provisioned.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { VARIABLES } from '../../src/config/variables.js';
import { MONITORING_DIR, PROMETHEUS_CONFIG, REPO_DIR } from './monitoring-tools.js';

const COMPOSE_FILE = join(MONITORING_DIR, 'compose.yml');
const SCHEMA_FILE = join(MONITORING_DIR, 'schemas', 'compose-spec.json');

interface Mount {
  readonly type: string;
  readonly source: string;
  readonly target: string;
}
interface Service {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  readonly network_mode?: string;
  readonly environment?: Record<string, string>;
  readonly volumes?: readonly Mount[];
  readonly command?: readonly string[];
  readonly depends_on?: readonly string[];
}
interface Compose {
  readonly services: Record<string, Service>;
}

const loadCompose = (): Compose => parse(readFileSync(COMPOSE_FILE, 'utf8')) as Compose;
const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

function validator(): (document: unknown) => string[] {
  // The schema declares draft-07 by its https address, under which ajv does not know the meta-schema;
  // draft-07 is ajv's default dialect, so the declaration is dropped rather than the schema changed.
  const { $schema: _dialect, ...schema } = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<
    string,
    unknown
  >;
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(schema);
  return (document) =>
    validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

function service(compose: Compose, name: string): Service {
  const found = compose.services[name];
  assert.ok(found !== undefined, `compose.yml has no service ${name}`);
  return found;
}

/** The value of `--flag=value` in a command list. */
function flag(svc: Service, name: string): string | undefined {
  const prefix = `--${name}=`;
  return svc.command?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** Host path of the bind mount that provides `containerPath` (the mount itself or a folder above it). */
function hostPathOf(svc: Service, containerPath: string): string | undefined {
  for (const mount of svc.volumes ?? []) {
    if (mount.type !== 'bind') continue;
    if (containerPath === mount.target || containerPath.startsWith(`${mount.target}/`)) {
      return join(resolve(MONITORING_DIR, mount.source), containerPath.slice(mount.target.length));
    }
  }
  return undefined;
}

test('compose.yml is valid against the Compose Specification schema, which rejects a broken file', () => {
  const validate = validator();
  assert.deepEqual(validate(loadCompose()), []);
  const broken = structuredClone(loadCompose()) as { services: Record<string, Record<string, unknown>> };
  (broken.services['gateway'] as Record<string, unknown>)['ports'] = 3000;
  (broken.services['grafana'] as Record<string, unknown>)['volumez'] = [];
  const errors = validate(broken);
  assert.ok(
    errors.some((e) => e.includes('/services/gateway/ports')),
    errors.join('; '),
  );
  assert.ok(
    errors.some((e) => e.includes('additional properties')),
    errors.join('; '),
  );
});

test('every bind mount exists, and every service runs on the host network (the kit addresses loopback)', () => {
  for (const [name, svc] of Object.entries(loadCompose().services)) {
    assert.equal(svc.network_mode, 'host', `${name}: network_mode`);
    for (const mount of svc.volumes ?? []) {
      assert.equal(mount.type, 'bind', `${name}: ${mount.target}`);
      assert.ok(existsSync(resolve(MONITORING_DIR, mount.source)), `${name}: ${mount.source} does not exist`);
    }
    for (const dependency of svc.depends_on ?? []) service(loadCompose(), dependency);
  }
});

test('the gateway is built from the repository and listens where targets/local.yml scrapes', () => {
  const gateway = service(loadCompose(), 'gateway');
  assert.ok(existsSync(join(resolve(MONITORING_DIR, gateway.build?.context ?? ''), 'Dockerfile')));
  assert.equal(resolve(MONITORING_DIR, gateway.build?.context ?? ''), resolve(REPO_DIR));
  const known = new Set(VARIABLES.map((variable) => variable.env));
  for (const name of Object.keys(gateway.environment ?? {})) {
    assert.ok(known.has(name), `gateway environment ${name} is not a configuration variable`);
  }
  const address = `${gateway.environment?.['HOST']}:${gateway.environment?.['PORT']}`;
  const targets = readYaml<Array<{ targets: string[] }>>(join(MONITORING_DIR, 'targets', 'local.yml'));
  assert.deepEqual(
    targets.flatMap((group) => group.targets),
    [address],
  );
});

test('Prometheus loads the tested config with its rules, targets and token, and reaches Alertmanager', () => {
  const compose = loadCompose();
  const prometheus = service(compose, 'prometheus');
  const configPath = flag(prometheus, 'config.file') ?? '';
  assert.equal(hostPathOf(prometheus, configPath), PROMETHEUS_CONFIG);
  // The config's relative paths resolve against its folder: that folder must be mounted whole.
  const config = readYaml<{
    rule_files: string[];
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: Array<{
      authorization?: { credentials_file?: string };
      file_sd_configs?: Array<{ files: string[] }>;
    }>;
  }>(PROMETHEUS_CONFIG);
  const configDir = configPath.slice(0, configPath.lastIndexOf('/'));
  const inContainer = (relative: string): string => hostPathOf(prometheus, `${configDir}/${relative}`) ?? '';
  for (const file of config.rule_files) assert.ok(existsSync(inContainer(file)), file);
  const job = config.scrape_configs[0];
  assert.ok(existsSync(inContainer(job?.authorization?.credentials_file ?? '')), 'token file');
  for (const pattern of job?.file_sd_configs?.flatMap((sd) => sd.files) ?? []) {
    assert.ok(statSync(inContainer(pattern.slice(0, pattern.lastIndexOf('/')))).isDirectory(), pattern);
  }
  const alertmanager = service(compose, 'alertmanager');
  const alertmanagerAddress = flag(alertmanager, 'web.listen-address');
  assert.deepEqual(
    config.alerting.alertmanagers.flatMap((am) => am.static_configs.flatMap((sc) => sc.targets)),
    [alertmanagerAddress],
  );
  assert.equal(
    hostPathOf(alertmanager, flag(alertmanager, 'config.file') ?? ''),
    join(MONITORING_DIR, 'alertmanager.yml'),
  );
});

test('Grafana gets the Prometheus data source and the dashboard provisioned, on a port of its own', () => {
  const compose = loadCompose();
  const grafana = service(compose, 'grafana');
  const prometheus = service(compose, 'prometheus');
  const gateway = service(compose, 'gateway');
  assert.notEqual(grafana.environment?.['GF_SERVER_HTTP_PORT'], gateway.environment?.['PORT']);
  assert.equal(grafana.environment?.['GF_SERVER_HTTP_ADDR'], '127.0.0.1');

  const provisioning = hostPathOf(grafana, '/etc/grafana/provisioning') ?? '';
  const datasources = readYaml<{
    datasources: Array<{ type: string; url: string; isDefault?: boolean }>;
  }>(join(provisioning, 'datasources', 'prometheus.yml')).datasources;
  assert.equal(datasources.length, 1);
  assert.equal(datasources[0]?.type, 'prometheus');
  assert.equal(datasources[0]?.url, `http://${flag(prometheus, 'web.listen-address')}`);
  assert.equal(datasources[0]?.isDefault, true, "the dashboard's datasource variable falls back to it");

  const providers = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(
    join(provisioning, 'dashboards', 'ws-manager.yml'),
  ).providers;
  assert.equal(providers[0]?.type, 'file');
  const dashboardDir = providers[0]?.options.path ?? '';
  const dashboards = (grafana.volumes ?? []).filter((mount) => mount.target.startsWith(`${dashboardDir}/`));
  assert.deepEqual(
    dashboards.map((mount) => resolve(MONITORING_DIR, mount.source)),
    [join(MONITORING_DIR, 'grafana-dashboard.json')],
  );
});
