/**
 * The canary AnalysisTemplate as the Argo Rollouts controller instantiates it: template args with their
 * defaults, overridden by the Rollout's `analysis.args`, substituted into every `{{args.NAME}}`.
 */
import { field, findObject, type K8sObject } from './manifest.js';

export interface PrometheusMetric {
  name: string;
  interval?: string;
  initialDelay?: string;
  count?: number | string;
  failureLimit?: number | string;
  consecutiveErrorLimit?: number | string;
  successCondition?: string;
  failureCondition?: string;
  provider: { prometheus: { address: string; query: string; timeout?: number } };
}

interface Arg {
  name: string;
  value?: string;
}

/** The AnalysisTemplate the Rollout's background analysis references (exactly one). */
export function analysisTemplate(objects: readonly K8sObject[]): K8sObject {
  const rollout = findObject(objects, 'Rollout');
  const refs = field(rollout, 'spec.strategy.canary.analysis.templates') as Array<{ templateName: string }>;
  if (refs.length !== 1) throw new Error(`expected one analysis template reference, found ${refs.length}`);
  return findObject(objects, 'AnalysisTemplate', refs[0]!.templateName);
}

export function analysisMetrics(objects: readonly K8sObject[]): PrometheusMetric[] {
  return field(analysisTemplate(objects), 'spec.metrics') as PrometheusMetric[];
}

/** Argument values of the AnalysisRun: template defaults, then the Rollout's values. Throws when one stays unset. */
export function resolvedArgs(objects: readonly K8sObject[]): Record<string, string> {
  const templateArgs = (field(analysisTemplate(objects), 'spec.args') ?? []) as Arg[];
  const rolloutArgs = (field(findObject(objects, 'Rollout'), 'spec.strategy.canary.analysis.args') ??
    []) as Arg[];
  const values: Record<string, string> = {};
  for (const arg of templateArgs) if (arg.value !== undefined) values[arg.name] = arg.value;
  for (const arg of rolloutArgs) {
    if (!templateArgs.some((t) => t.name === arg.name))
      throw new Error(`Rollout passes unknown arg ${arg.name}`);
    if (arg.value !== undefined) values[arg.name] = arg.value;
  }
  for (const arg of templateArgs) {
    if (values[arg.name] === undefined) throw new Error(`analysis arg ${arg.name} has no value`);
  }
  return values;
}

/** Substitutes `{{args.NAME}}` placeholders; throws on a placeholder without a value. */
export function resolvePlaceholders(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}/g, (_whole, name: string) => {
    const value = args[name];
    if (value === undefined) throw new Error(`no value for {{args.${name}}}`);
    return value;
  });
}

/** Name of the recording rule in k8s/tests/analysis-rules.yml that stands for an analysis metric. */
export function recordNameFor(metricName: string): string {
  return `analysis:${metricName.replaceAll('-', '_')}`;
}
