/**
 * Validates custom resources (Argo Rollouts, Prometheus Operator) with ajv against the strict CRD
 * schemas copied under k8s/schemas/ (unknown fields rejected by their `additionalProperties: false`).
 *
 * Two gaps of those schemas are closed here rather than by editing the data files:
 * - their root object is open (no `additionalProperties: false`), so a top-level key outside
 *   apiVersion/kind/metadata/spec/status is rejected by `unknownRootFields`;
 * - `metadata` is only `{type: object}`; the TypeScript check in known-fields.ts covers it.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type K8sObject, REPO_ROOT } from './manifest.js';

/** Schema file of each custom resource kind, as named in the CRDs catalog (`<group>_<kind>_<version>.json`). */
export const CRD_SCHEMA_FILES: Readonly<Record<string, string>> = {
  'argoproj.io/v1alpha1/Rollout': 'argoproj.io_rollout_v1alpha1.json',
  'argoproj.io/v1alpha1/AnalysisTemplate': 'argoproj.io_analysistemplate_v1alpha1.json',
  'monitoring.coreos.com/v1/PodMonitor': 'monitoring.coreos.com_podmonitor_v1.json',
  'monitoring.coreos.com/v1/PrometheusRule': 'monitoring.coreos.com_prometheusrule_v1.json',
};

// Kubernetes' structural-schema extensions: annotations for the API server, no validation meaning here.
const KUBERNETES_KEYWORDS = [
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
];

// Go's RE2 accepts a `(?i)` flag group (PrometheusRule's partial_response_strategy: `^(?i)(abort|warn)?$`);
// JavaScript does not, so it becomes the `i` flag, which is what it means when only anchors precede it.
const regExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes('(?i)')
      ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: 'new RegExp' },
);

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

export class CrdValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, { validate: ValidateFunction; rootFields: Set<string> }>();

  constructor(private readonly schemaDir = `${REPO_ROOT}k8s/schemas/`) {
    // strictSchema: an unknown keyword in a schema is an error (hence the x-kubernetes-* keywords below).
    // strictTypes off: the CRDs pair `pattern` with int-or-string `anyOf`, as Kubernetes allows; that is
    // about how the schema is written, not about which data it accepts.
    this.ajv = new Ajv({ strictSchema: true, strictTypes: false, allErrors: true, code: { regExp } });
    for (const keyword of KUBERNETES_KEYWORDS)
      this.ajv.addKeyword({ keyword, schemaType: ['string', 'boolean', 'array'] });
    this.ajv.addFormat('int32', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max,
    });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    this.ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  }

  /** True when a schema exists for the object's apiVersion and kind. */
  handles(object: K8sObject): boolean {
    return `${object.apiVersion}/${object.kind}` in CRD_SCHEMA_FILES;
  }

  /** Validation messages for the object (`path: message`); empty when valid. */
  validate(object: K8sObject): string[] {
    const { validate, rootFields } = this.schemaFor(object);
    const messages = Object.keys(object)
      .filter((key) => !rootFields.has(key))
      .map((key) => `/${key}: unknown field at the root of ${object.kind}`);
    if (!validate(object)) messages.push(...(validate.errors ?? []).map(describe));
    return messages;
  }

  private schemaFor(object: K8sObject): { validate: ValidateFunction; rootFields: Set<string> } {
    const key = `${object.apiVersion}/${object.kind}`;
    const file = CRD_SCHEMA_FILES[key];
    if (file === undefined) throw new Error(`no CRD schema for ${key}`);
    let entry = this.compiled.get(file);
    if (entry === undefined) {
      const schema = JSON.parse(readFileSync(`${this.schemaDir}${file}`, 'utf8')) as {
        properties?: Record<string, unknown>;
      };
      entry = {
        validate: this.ajv.compile(schema),
        rootFields: new Set(Object.keys(schema.properties ?? {})),
      };
      this.compiled.set(file, entry);
    }
    return entry;
  }
}

function describe(error: ErrorObject): string {
  const extra =
    error.keyword === 'additionalProperties' ? ` (${String(error.params['additionalProperty'])})` : '';
  return `${error.instancePath || '/'}: ${error.message ?? error.keyword}${extra}`;
}
