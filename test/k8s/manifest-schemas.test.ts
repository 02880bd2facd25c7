/**
 * k8s/staging-canary.yaml parses, and every object is valid for the API it targets: core objects
 * through kubernetes-models (values) plus its TypeScript declarations (unknown fields), custom
 * resources through ajv and the strict CRD schemas in k8s/schemas/. Mutated copies prove that a
 * misspelled or unknown field is rejected by each path.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { CRD_SCHEMA_FILES, CrdValidator } from './crd-validator.js';
import { isCoreKind, type TypedValue, unknownFields } from './known-fields.js';
import {
  field,
  findObject,
  type K8sObject,
  loadManifest,
  MANIFEST_FILE,
  parseManifest,
  REPO_ROOT,
} from './manifest.js';

const NAMESPACE = 'ws-manager-staging';
const objects = loadManifest();
const crds = new CrdValidator();

/** The kubernetes-models class of each core kind in the manifest. */
const CORE_MODELS: Readonly<Record<string, (data: never) => { validate(): void }>> = {
  'v1/Namespace': (data) => new Namespace(data),
  'v1/ConfigMap': (data) => new ConfigMap(data),
  'v1/Service': (data) => new Service(data),
  'networking.k8s.io/v1/Ingress': (data) => new Ingress(data),
  'policy/v1/PodDisruptionBudget': (data) => new PodDisruptionBudget(data),
};

/** Constructs the kubernetes-models class of a core object and runs its `.validate()`. */
function validateCore(object: K8sObject): void {
  const key = `${object.apiVersion}/${object.kind}`;
  const model = CORE_MODELS[key];
  if (model === undefined) throw new Error(`no kubernetes-models class for ${key}`);
  model(structuredClone(object) as never).validate();
}

/** Every field of the manifest that a kubernetes-models type describes. */
function typedValues(list: readonly K8sObject[]): TypedValue[] {
  const values: TypedValue[] = [];
  for (const object of list) {
    const label = `${object.kind}/${object.metadata.name}`;
    if (isCoreKind(object)) values.push({ label, value: object });
    else values.push({ label: `${label} metadata`, value: object.metadata, as: 'metadata' });
    if (object.kind === 'Rollout') {
      values.push({
        label: `${label} spec.template`,
        value: field(object, 'spec.template'),
        as: 'podTemplate',
      });
    }
  }
  return values;
}

function mutated(kind: string, change: (copy: Record<string, unknown>) => void, name?: string): K8sObject {
  const copy = structuredClone(findObject(objects, kind, name)) as K8sObject;
  change(copy);
  return copy;
}

function at(value: unknown, path: string): Record<string, unknown> {
  const found = field(value, path);
  assert.ok(found !== null && typeof found === 'object', `${path} is an object`);
  return found as Record<string, unknown>;
}

describe('k8s/staging-canary.yaml', () => {
  test('parses as multi-document YAML into the expected objects, all in the staging namespace', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      'AnalysisTemplate/ws-manager-canary',
      'ConfigMap/ws-manager-config',
      'Ingress/ws-manager',
      'Namespace/ws-manager-staging',
      'PodDisruptionBudget/ws-manager',
      'PodMonitor/ws-manager',
      'PrometheusRule/ws-manager-rules',
      'Rollout/ws-manager',
      'Service/ws-manager-canary',
      'Service/ws-manager-stable',
    ]);
    for (const object of objects) {
      if (object.kind === 'Namespace') continue;
      assert.equal(object.metadata.namespace, NAMESPACE, `${object.kind}/${object.metadata.name} namespace`);
    }
  });

  test('a YAML error in any document fails the parse', () => {
    const broken = readFileSync(MANIFEST_FILE, 'utf8').replace(
      'kind: PodDisruptionBudget',
      'kind: [PodDisruptionBudget',
    );
    assert.throws(() => parseManifest(broken), /document \d+/);
    assert.throws(
      () => parseManifest('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n'),
      /unique/i,
    );
  });

  test('core objects pass kubernetes-models validate()', () => {
    const core = objects.filter(isCoreKind);
    assert.equal(core.length, 6);
    for (const object of core) {
      assert.doesNotThrow(() => validateCore(object), `${object.kind}/${object.metadata.name}`);
    }
  });

  test('no unknown field in core objects, custom-resource metadata or the Rollout pod template', () => {
    assert.deepEqual(unknownFields(typedValues(objects)), []);
  });

  test('custom resources validate against the strict CRD schemas', () => {
    const custom = objects.filter((o) => !isCoreKind(o));
    assert.equal(custom.length, 4);
    for (const object of custom) {
      assert.ok(crds.handles(object), `schema for ${object.apiVersion} ${object.kind}`);
      assert.deepEqual(crds.validate(object), [], `${object.kind}/${object.metadata.name}`);
    }
  });
});

describe('a misspelled or unknown field is rejected', () => {
  test('kubernetes-models validate() rejects a wrong type, but not an unknown field (hence the extra check)', () => {
    const wrongType = mutated(
      'Service',
      (s) => {
        at(s, 'spec.ports.0')['port'] = 'three thousand';
      },
      'ws-manager-stable',
    );
    assert.throws(() => validateCore(wrongType), /port/);
    const misspelled = mutated(
      'Service',
      (s) => {
        at(s, 'spec.ports.0')['protocl'] = 'TCP';
      },
      'ws-manager-canary',
    );
    assert.doesNotThrow(() => validateCore(misspelled));
    assert.match(unknownFields([{ label: 'Service', value: misspelled }]).join('\n'), /"protocl"/);
  });

  test('unknown fields in Ingress, PodDisruptionBudget, ConfigMap and metadata', () => {
    const cases: TypedValue[] = [
      {
        label: 'Ingress',
        value: mutated('Ingress', (i) => {
          at(i, 'spec.rules.0.http.paths.0')['pathtype'] = 'Prefix';
        }),
      },
      {
        label: 'PodDisruptionBudget',
        value: mutated('PodDisruptionBudget', (p) => {
          at(p, 'spec')['maxUnavailble'] = 1;
        }),
      },
      { label: 'ConfigMap', value: mutated('ConfigMap', (c) => Object.assign(c, { datа: {} })) },
      {
        label: 'PodMonitor metadata',
        value: { ...findObject(objects, 'PodMonitor').metadata, label: { a: 'b' } },
        as: 'metadata',
      },
    ];
    const messages = unknownFields(cases);
    for (const [name, label] of [
      ['pathtype', 'Ingress'],
      ['maxUnavailble', 'PodDisruptionBudget'],
      ['datа', 'ConfigMap'],
      ['label', 'PodMonitor metadata'],
    ]) {
      assert.ok(
        messages.some((m) => m.startsWith(`${label}:`) && m.includes(`"${name}"`)),
        `${label} ${name}: ${messages.join('\n')}`,
      );
    }
  });

  test('the CRD schemas reject misspelled fields at every level of the custom resources', () => {
    const cases: Array<[K8sObject, RegExp]> = [
      [
        mutated('Rollout', (r) => Object.assign(at(r, 'spec.strategy.canary'), { canaryServce: 'x' })),
        /canaryServce/,
      ],
      [
        mutated('Rollout', (r) => Object.assign(at(r, 'spec.strategy.canary.steps.0'), { setWieght: 10 })),
        /setWieght/,
      ],
      [
        mutated('Rollout', (r) =>
          Object.assign(at(r, 'spec.template.spec.containers.0'), { readinesProbe: {} }),
        ),
        /readinesProbe/,
      ],
      [mutated('Rollout', (r) => Object.assign(r, { sepc: {} })), /sepc/],
      [
        mutated('AnalysisTemplate', (a) =>
          Object.assign(at(a, 'spec.metrics.0'), { sucessCondition: 'true' }),
        ),
        /sucessCondition/,
      ],
      [
        mutated('AnalysisTemplate', (a) =>
          Object.assign(at(a, 'spec.metrics.0.provider.prometheus'), { querry: 'up' }),
        ),
        /querry/,
      ],
      [
        mutated('PodMonitor', (p) => Object.assign(at(p, 'spec.podMetricsEndpoints.0'), { pathh: '/x' })),
        /pathh/,
      ],
      [
        mutated('PodMonitor', (p) => Object.assign(at(p, 'spec'), { podTargetLabel: ['track'] })),
        /podTargetLabel/,
      ],
      [
        mutated('PrometheusRule', (p) => Object.assign(at(p, 'spec.groups.0.rules.0'), { expresion: 'up' })),
        /expresion/,
      ],
    ];
    for (const [object, name] of cases) {
      assert.match(crds.validate(object).join('\n'), name);
    }
  });

  test('the CRD schemas reject wrong types and values', () => {
    const weight = mutated('Rollout', (r) =>
      Object.assign(at(r, 'spec.strategy.canary.steps.0'), { setWeight: 'ten' }),
    );
    assert.match(crds.validate(weight).join('\n'), /setWeight/);
    const interval = mutated('PodMonitor', (p) =>
      Object.assign(at(p, 'spec.podMetricsEndpoints.0'), { interval: '30 seconds' }),
    );
    assert.match(crds.validate(interval).join('\n'), /interval/);
  });
});

describe('k8s/schemas', () => {
  const shared = `${REPO_ROOT}../shared/schemas/crds/`;
  test('holds unchanged copies of the shared CRD schemas', (t) => {
    if (!existsSync(shared)) {
      t.skip(`${shared} is not beside this checkout; the copies cannot be compared`);
      return;
    }
    for (const file of Object.values(CRD_SCHEMA_FILES)) {
      assert.equal(
        readFileSync(`${REPO_ROOT}k8s/schemas/${file}`, 'utf8'),
        readFileSync(`${shared}${file}`, 'utf8'),
        file,
      );
    }
  });
});
