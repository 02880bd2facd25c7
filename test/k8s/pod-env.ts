/**
 * The environment a ws-manager container gets from the manifest (ConfigMap via envFrom, then the
 * container's own env, which wins as in Kubernetes), and the baseline manifest the runbook's bootstrap
 * command produces.
 */
import { execFileSync } from 'node:child_process';
import { field, findObject, type K8sObject, REPO_ROOT, readRepoFile } from './manifest.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Container {
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  env?: EnvVar[];
}

/** Secret values by `name/key`, standing in for the Secrets created by hand in the cluster. */
export type Secrets = Readonly<Record<string, string>>;

export function podEnv(objects: readonly K8sObject[], secrets: Secrets): Record<string, string> {
  const container = field(findObject(objects, 'Rollout'), 'spec.template.spec.containers.0') as Container;
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error('only configMapRef envFrom sources are modelled');
    const data = field(findObject(objects, 'ConfigMap', source.configMapRef.name), 'data') as Record<
      string,
      string
    >;
    Object.assign(env, data);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const value = secrets[`${name}/${key}`];
      if (value === undefined) throw new Error(`${variable.name} needs secret ${name}/${key}`);
      env[variable.name] = value;
    } else throw new Error(`${variable.name}: unsupported env source`);
  }
  return env;
}

/**
 * Runs the baseline command of docs/canary.md (`sed ... k8s/staging-canary.yaml | kubectl apply -f -`)
 * up to the pipe and returns what it would apply.
 */
export function baselineManifestText(): string {
  const line = readRepoFile('docs/canary.md')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^sed .* k8s\/staging-canary\.yaml \| kubectl apply -f -$/.test(l));
  if (line === undefined)
    throw new Error('docs/canary.md has no "sed ... | kubectl apply -f -" baseline command');
  const command = line.replace(/ \| kubectl apply -f -$/, '');
  return execFileSync('sh', ['-c', command], { cwd: REPO_ROOT, encoding: 'utf8' });
}
