/**
 * monitoring/compose.yml, the kit running on one machine, checked without a container engine: it is a
 * Compose file of the shape our strict schema describes (compose-schema.ts: the keys the kit uses, typed
 * as the Compose Specification defines them, unknown keys rejected), and its paths, addresses and ports
 * match the kit's own files, so `docker compose up` starts a Prometheus that loads the tested config and
 * scrapes the gateway, an Alertmanager it can reach, and a Grafana with the data source and dashboard
 * provisioned.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { VARIABLES } from '../../src/config/variables.js';
import {
  type ComposeFile,
  type ComposeService,
  composeErrors,
  composeSchema,
  MOUNT_TYPES,
  pathOf,
} from './compose-schema.js';
import { MONITORING_DIR, PROMETHEUS_CONFIG, REPO_DIR } from './monitoring-tools.js';

const COMPOSE_FILE = join(MONITORING_DIR, 'compose.yml');

type Service = ComposeService;

const readCompose = (): unknown => parse(readFileSync(COMPOSE_FILE, 'utf8'));
const loadCompose = (): ComposeFile => {
  const document = readCompose();
  assert.deepEqual(composeErrors(document), [], 'compose.yml does not match the schema');
  return composeSchema.parse(document);
};
const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

function service(compose: ComposeFile, name: string): Service {
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

/** One broken copy of compose.yml: what is changed, and the path its error must name. */
interface Mutation {
  readonly what: string;
  /** Path of the key to set or delete, from the document's root. */
  readonly at: readonly (string | number)[];
  /** The new value; absent means the key is deleted. */
  readonly value?: unknown;
  /** The path the error names, when it is not `at` itself (a rule on the enclosing object). */
  readonly reported?: readonly (string | number)[];
}

const MUTATIONS: readonly Mutation[] = [
  { what: 'unknown top-level key', at: ['sevices'], value: {} },
  { what: 'unknown service key', at: ['services', 'grafana', 'volumez'], value: [] },
  { what: 'unknown build key', at: ['services', 'gateway', 'build', 'dockerfil'], value: 'Dockerfile' },
  { what: 'unknown mount key', at: ['services', 'prometheus', 'volumes', 0, 'readonly'], value: true },
  { what: 'ports not a list', at: ['services', 'gateway', 'ports'], value: 3000 },
  { what: 'port out of range', at: ['services', 'gateway', 'ports'], value: [70000] },
  {
    what: 'read_only not a boolean',
    at: ['services', 'alertmanager', 'volumes', 0, 'read_only'],
    value: 'yes',
  },
  { what: 'environment value a list', at: ['services', 'gateway', 'environment', 'PORT'], value: ['3000'] },
  { what: 'command a number', at: ['services', 'prometheus', 'command'], value: 9090 },
  { what: 'depends_on a string', at: ['services', 'grafana', 'depends_on'], value: 'prometheus' },
  { what: 'bad mount type', at: ['services', 'grafana', 'volumes', 1, 'type'], value: 'bnd' },
  {
    what: 'relative mount target',
    at: ['services', 'alertmanager', 'volumes', 0, 'target'],
    value: 'etc/am',
  },
  { what: 'mount without target', at: ['services', 'prometheus', 'volumes', 0, 'target'] },
  { what: 'unknown restart policy', at: ['services', 'gateway', 'restart'], value: 'sometimes' },
  { what: 'project name with capitals', at: ['name'], value: 'WS-Manager' },
  {
    what: 'service without image or build',
    at: ['services', 'grafana', 'image'],
    reported: ['services', 'grafana'],
  },
];

/** A copy of `document` with `mutation` applied; throws if the path does not lead to a container. */
function mutated(document: unknown, mutation: Mutation): unknown {
  const copy = structuredClone(document);
  const parentPath = mutation.at.slice(0, -1);
  const key = mutation.at[mutation.at.length - 1];
  let parent: unknown = copy;
  for (const segment of parentPath) parent = (parent as Record<string | number, unknown>)[segment];
  assert.ok(
    typeof parent === 'object' && parent !== null && key !== undefined,
    `${mutation.what}: no parent`,
  );
  const container = parent as Record<string | number, unknown>;
  if ('value' in mutation) container[key] = mutation.value;
  else {
    assert.ok(key in container, `${mutation.what}: ${pathOf(mutation.at)} is not in compose.yml`);
    delete container[key];
  }
  return copy;
}

test('compose.yml matches our strict Compose schema', () => {
  assert.deepEqual(composeErrors(readCompose()), []);
});

test('the schema rejects broken copies of compose.yml, naming the path of each fault', () => {
  const document = readCompose();
  for (const mutation of MUTATIONS) {
    const errors = composeErrors(mutated(document, mutation));
    const path = pathOf(mutation.reported ?? mutation.at);
    assert.ok(errors.length > 0, `${mutation.what}: accepted`);
    assert.ok(
      errors.every(
        (error) =>
          error.startsWith(`${path}:`) || error.startsWith(`${path}[`) || error.startsWith(`${path}.`),
      ),
      `${mutation.what}: expected errors at ${path}, got ${errors.join('; ')}`,
    );
  }
  // A mount type is one the engine knows, and the message says which.
  const [badType] = composeErrors(mutated(document, MUTATIONS.find((m) => m.what === 'bad mount type')!));
  for (const type of MOUNT_TYPES) assert.ok(badType?.includes(`"${type}"`), badType);
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
