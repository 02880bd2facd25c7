/**
 * k8s/cluster/cluster.yaml (clustered mode): every object valid for its API (kubernetes-models values
 * and declarations for core kinds, the strict CRD schema for the PodMonitor); the wiring holds (selectors
 * match their pods, the HPA targets the gateway, ingest has 2+ replicas, anti-affinity and a PDB); every
 * ws-manager setting is a variable the process accepts; and nats-server accepts the NATS configuration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nkeys } from '@nats-io/transport-node';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { loadConfig } from '../../src/config/load-config.js';
import { VARIABLES } from '../../src/config/variables.js';
import { binaryOf } from '../support/system-tools.js';
import { CrdValidator } from './crd-validator.js';
import { isCoreKind, type TypedValue, unknownFields } from './known-fields.js';
import { field, findObject, type K8sObject, parseManifest, readRepoFile } from './manifest.js';

const FILE = 'k8s/cluster/cluster.yaml';
const objects = parseManifest(readRepoFile(FILE));

const MODELS: Readonly<Record<string, (data: never) => { validate(): void }>> = {
  'v1/Namespace': (d) => new Namespace(d),
  'v1/ConfigMap': (d) => new ConfigMap(d),
  'v1/Service': (d) => new Service(d),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d),
  'apps/v1/StatefulSet': (d) => new StatefulSet(d),
  'apps/v1/Deployment': (d) => new Deployment(d),
  'autoscaling/v2/HorizontalPodAutoscaler': (d) => new HorizontalPodAutoscaler(d),
};

function labelsOf(object: K8sObject, path: string): Record<string, string> {
  return (field(object, path) ?? {}) as Record<string, string>;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function podTemplates(): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

describe(FILE, () => {
  test('holds the clustered deployment, all in one namespace', () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/nats-config',
      'ConfigMap/ws-manager-cluster-config',
      'Deployment/ws-manager-gateway',
      'Deployment/ws-manager-ingest',
      'HorizontalPodAutoscaler/ws-manager-gateway',
      'Namespace/ws-manager',
      'PodDisruptionBudget/nats',
      'PodDisruptionBudget/ws-manager-gateway',
      'PodDisruptionBudget/ws-manager-ingest',
      'PodMonitor/ws-manager-cluster',
      'Service/nats',
      'Service/nats-headless',
      'Service/ws-manager-gateway',
      'StatefulSet/nats',
    ]);
    for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'ws-manager');
  });

  test('core objects pass kubernetes-models validate() and have no unknown field', () => {
    const values: TypedValue[] = [];
    for (const object of objects.filter(isCoreKind)) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      assert.ok(model, `model for ${object.kind}`);
      assert.doesNotThrow(() => model(structuredClone(object) as never).validate(), object.metadata.name);
      values.push({ label: `${object.kind}/${object.metadata.name}`, value: object });
    }
    assert.deepEqual(unknownFields(values), []);
    const misspelt = structuredClone(findObject(objects, 'Deployment', 'ws-manager-ingest')) as K8sObject;
    (field(misspelt, 'spec') as Record<string, unknown>)['replica'] = 2;
    assert.equal(
      unknownFields([{ label: 'mutated', value: misspelt }]).length,
      1,
      'a misspelt field is caught',
    );
  });

  test('the PodMonitor validates against the strict CRD schema', () => {
    const crds = new CrdValidator();
    const custom = objects.filter((o) => !isCoreKind(o));
    assert.equal(custom.length, 1);
    for (const o of custom) assert.deepEqual(crds.validate(o), []);
  });

  test('selectors match their pods; ingest has 2+ replicas, anti-affinity and a PDB; the HPA scales the gateway', () => {
    for (const workload of podTemplates()) {
      const pod = labelsOf(workload, 'spec.template.metadata.labels');
      assert.ok(selects(labelsOf(workload, 'spec.selector.matchLabels'), pod), workload.metadata.name);
      const pdbs = objects.filter(
        (o) => o.kind === 'PodDisruptionBudget' && selects(labelsOf(o, 'spec.selector.matchLabels'), pod),
      );
      assert.equal(pdbs.length, 1, `${workload.metadata.name}: one PDB`);
    }
    const ingest = findObject(objects, 'Deployment', 'ws-manager-ingest');
    assert.ok((field(ingest, 'spec.replicas') as number) >= 2);
    const anti = field(
      ingest,
      'spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    ) as {
      topologyKey: string;
      labelSelector: { matchLabels: Record<string, string> };
    }[];
    assert.equal(anti[0]?.topologyKey, 'kubernetes.io/hostname');
    assert.ok(selects(anti[0]!.labelSelector.matchLabels, labelsOf(ingest, 'spec.template.metadata.labels')));
    // The image has no ENTRYPOINT, so args replace its whole CMD.
    assert.deepEqual(field(ingest, 'spec.template.spec.containers.0.args'), [
      'node',
      'dist/src/cli.js',
      'ingest',
    ]);
    const hpa = findObject(objects, 'HorizontalPodAutoscaler', 'ws-manager-gateway');
    assert.equal(field(hpa, 'spec.scaleTargetRef.name'), 'ws-manager-gateway');
    assert.ok((field(hpa, 'spec.minReplicas') as number) >= 2);
    const nats = findObject(objects, 'StatefulSet', 'nats');
    assert.equal(field(nats, 'spec.replicas'), 3);
    const monitor = findObject(objects, 'PodMonitor', 'ws-manager-cluster');
    for (const name of ['ws-manager-ingest', 'ws-manager-gateway']) {
      const pod = labelsOf(findObject(objects, 'Deployment', name), 'spec.template.metadata.labels');
      assert.ok(selects(labelsOf(monitor, 'spec.selector.matchLabels'), pod), `PodMonitor scrapes ${name}`);
    }
  });

  test('every ws-manager setting is a variable the process accepts', () => {
    const data = field(findObject(objects, 'ConfigMap', 'ws-manager-cluster-config'), 'data') as Record<
      string,
      string
    >;
    const known = new Set(VARIABLES.map((v) => v.env));
    for (const name of Object.keys(data)) assert.ok(known.has(name), `${name} is a variable`);
    const config = loadConfig({ ...data, NODE_ID: 'ws-manager-ingest-abc12', METRICS_TOKEN: 'x' });
    assert.equal(config.natsUrl, data['NATS_URL']);
    // The history and the buckets are replicated on every server of the 3-node NATS set.
    assert.equal(
      config.jetstreamReplicas,
      field(findObject(objects, 'StatefulSet', 'nats'), 'spec.replicas'),
    );
    for (const workload of podTemplates().filter((w) => w.kind === 'Deployment')) {
      const env = field(workload, 'spec.template.spec.containers.0.env') as { name: string }[];
      for (const { name } of env)
        assert.ok(known.has(name), `${workload.metadata.name}: ${name} is a variable`);
    }
  });

  test('each role connects to NATS as its own nkey user, whose public key the NATS servers get', () => {
    const nats = findObject(objects, 'StatefulSet', 'nats');
    const natsEnv = field(nats, 'spec.template.spec.containers.0.env') as {
      name: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string } };
    }[];
    const conf = (field(findObject(objects, 'ConfigMap', 'nats-config'), 'data') as Record<string, string>)[
      'nats.conf'
    ]!;
    for (const role of ['ingest', 'gateway']) {
      const workload = findObject(objects, 'Deployment', `ws-manager-${role}`);
      const env = field(workload, 'spec.template.spec.containers.0.env') as {
        name: string;
        value?: string;
      }[];
      const creds = env.find((e) => e.name === 'NATS_CREDS_FILE')?.value;
      assert.equal(creds, `/etc/nats-user/${role}.seed`, `${role}: NATS_CREDS_FILE`);
      const mount = (
        field(workload, 'spec.template.spec.containers.0.volumeMounts') as {
          name: string;
          mountPath: string;
        }[]
      ).find((m) => m.mountPath === '/etc/nats-user');
      const volume = (
        field(workload, 'spec.template.spec.volumes') as {
          name: string;
          secret?: { secretName: string; items: { key: string }[] };
        }[]
      ).find((v) => v.name === mount?.name);
      assert.equal(volume?.secret?.secretName, 'ws-manager-nats-nkeys', `${role}: seed volume`);
      assert.deepEqual(
        volume?.secret?.items.map((i) => i.key),
        [`${role}.seed`],
        `${role} mounts its own seed only`,
      );
      const variable = `${role.toUpperCase()}_NKEY`;
      assert.deepEqual(natsEnv.find((e) => e.name === variable)?.valueFrom?.secretKeyRef, {
        name: 'ws-manager-nats-nkeys',
        key: `${role}.pub`,
      });
      assert.match(
        conf,
        new RegExp(`nkey: \\$${variable}, permissions: \\$${role.toUpperCase()}_PERMISSIONS`),
      );
    }
    // Only the ingest user may publish market data (test/cluster/nats-permissions.test.ts runs it).
    const gateway = conf.slice(conf.indexOf('GATEWAY_PERMISSIONS = {'), conf.indexOf('authorization {'));
    const publish = gateway.slice(0, gateway.indexOf('subscribe:'));
    assert.doesNotMatch(publish, /"md\./);
    assert.match(conf.slice(conf.indexOf('INGEST_PERMISSIONS = {')), /"md\.>"/);
  });

  test('nats-server accepts the NATS configuration', (t) => {
    const binary = binaryOf(t, ['nats-server'], "Debian's nats-server package");
    if (binary === undefined) return;
    const conf = (field(findObject(objects, 'ConfigMap', 'nats-config'), 'data') as Record<string, string>)[
      'nats.conf'
    ]!;
    const dir = mkdtempSync(join(tmpdir(), 'ws-manager-nats-conf-'));
    try {
      const file = join(dir, 'nats.conf');
      writeFileSync(file, conf.replace('/data/jetstream', join(dir, 'js')));
      // The users' public keys come from the Secret ws-manager-nats-nkeys in the pod's environment.
      const env = {
        POD_NAME: 'nats-0',
        INGEST_NKEY: nkeys.createUser().getPublicKey(),
        GATEWAY_NKEY: nkeys.createUser().getPublicKey(),
      };
      const ok = spawnSync(binary, ['-t', '-c', file], { env, encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stderr + ok.stdout);
      writeFileSync(file, conf.replace('jetstream {', 'jetstream {{'));
      const bad = spawnSync(binary, ['-t', '-c', file], { env, encoding: 'utf8' });
      assert.notEqual(bad.status, 0, 'a broken configuration is rejected');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
