/**
 * Reads the deployment manifest the way `kubectl apply -f` does: every YAML document of the file is one
 * object. Parse errors and warnings (duplicate keys, tabs) fail loudly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFEST_FILE = `${REPO_ROOT}k8s/staging-canary.yaml`;

/** A Kubernetes object as read from YAML: only the type meta is known before validation. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function readRepoFile(relative: string): string {
  return readFileSync(`${REPO_ROOT}${relative}`, 'utf8');
}

/** Parses every document of a multi-document YAML text into objects that carry apiVersion, kind and a name. */
export function parseManifest(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0)
      throw new Error(`document ${i + 1}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isK8sObject(value))
      throw new Error(`document ${i + 1} is not a Kubernetes object (apiVersion, kind, metadata.name)`);
    objects.push(value);
  }
  return objects;
}

export function loadManifest(): K8sObject[] {
  return parseManifest(readFileSync(MANIFEST_FILE, 'utf8'));
}

/** The single object of that kind (and name, when given); throws when there is none or several. */
export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Reads a nested field by dotted path (`spec.template.spec`); numeric parts index arrays. */
export function field(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isK8sObject(value: unknown): value is K8sObject {
  return (
    isRecord(value) &&
    typeof value['apiVersion'] === 'string' &&
    typeof value['kind'] === 'string' &&
    isRecord(value['metadata']) &&
    typeof value['metadata']['name'] === 'string'
  );
}
