/**
 * Rejects unknown (for example misspelled) fields in core Kubernetes objects.
 *
 * kubernetes-models' `.validate()` checks types, enums and required fields but accepts any extra
 * property, so `protocl: TCP` would pass it. Its TypeScript declarations, though, describe every field
 * of every core type; written out as an object literal typed with them, each object goes through the
 * compiler's excess-property check, which names every field the type does not have. This file builds
 * that literal in memory and returns the compiler's messages.
 */
import ts from 'typescript';
import { type K8sObject, REPO_ROOT } from './manifest.js';

/** The kubernetes-models declaration module and interface of each core kind checked here. */
const CORE_TYPES: Readonly<Record<string, { module: string; type: string }>> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', type: 'IService' },
  'networking.k8s.io/v1/Ingress': {
    module: 'kubernetes-models/networking.k8s.io/v1/Ingress',
    type: 'IIngress',
  },
  'policy/v1/PodDisruptionBudget': {
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  'apps/v1/StatefulSet': { module: 'kubernetes-models/apps/v1/StatefulSet', type: 'IStatefulSet' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
};

/** A value to check and the kubernetes-models type it must match (`Object` = a core kind's own type). */
export interface TypedValue {
  label: string;
  value: unknown;
  /** `metadata` = ObjectMeta, `podTemplate` = PodTemplateSpec; omitted = the object's own core type. */
  as?: 'metadata' | 'podTemplate';
}

export function isCoreKind(object: K8sObject): boolean {
  return `${object.apiVersion}/${object.kind}` in CORE_TYPES;
}

/**
 * Returns one message per unknown field (`label: message`), empty when every field is known.
 * Type mismatches are reported too, but `.validate()` is the authority for those.
 */
export function unknownFields(values: readonly TypedValue[]): string[] {
  const imports = new Set<string>([
    "import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';",
    "import type { IService as MetaCarrier } from 'kubernetes-models/v1/Service';",
    'type ObjectMeta = NonNullable<MetaCarrier["metadata"]>;',
  ]);
  const lines: string[] = [];
  const labels: string[] = [];
  for (const [i, item] of values.entries()) {
    let typeName: string;
    if (item.as === 'metadata') typeName = 'ObjectMeta';
    else if (item.as === 'podTemplate') typeName = 'IPodTemplateSpec';
    else {
      const object = item.value as K8sObject;
      const core = CORE_TYPES[`${object.apiVersion}/${object.kind}`];
      if (core === undefined)
        throw new Error(`${item.label}: no kubernetes-models type for ${object.apiVersion} ${object.kind}`);
      imports.add(`import type { ${core.type} } from '${core.module}';`);
      typeName = core.type;
    }
    labels[lines.length] = item.label;
    lines.push(`export const v${i}: ${typeName} = ${JSON.stringify(item.value)};`);
  }
  const header = [...imports];
  return compile(`${header.join('\n')}\n${lines.join('\n')}\n`).map(({ line, message }) => {
    const label = labels[line - header.length] ?? `line ${line}`;
    return `${label}: ${message}`;
  });
}

function compile(source: string): Array<{ line: number; message: string }> {
  // A path inside the repository so `kubernetes-models` resolves from its node_modules; never written.
  const file = `${REPO_ROOT}test/k8s/known-fields.generated.ts`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ({
    line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1,
    message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
  }));
}
