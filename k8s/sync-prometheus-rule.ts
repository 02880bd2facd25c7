/**
 * Regenerates the `PrometheusRule` document of `k8s/staging-canary.yaml` from the monitoring kit's rule
 * file, so the cluster evaluates exactly the rules that `promtool test rules` covers.
 *
 *   npx tsx k8s/sync-prometheus-rule.ts           rewrite the document in place
 *   npx tsx k8s/sync-prometheus-rule.ts --check   exit 1 when the document is out of date
 *
 * Only that document's text is replaced; the other documents keep their comments and layout. Its
 * metadata (name, namespace, labels) is kept from the current file; `spec.groups` is the rule file's
 * `groups`, value for value.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMap, parseDocument, stringify } from 'yaml';

/** Repository paths the script reads and writes, relative to the repository root. */
export const MANIFEST_PATH = 'k8s/staging-canary.yaml';
export const RULES_PATH = 'monitoring/ws-manager-rules.yml';

const DOCUMENT_SEPARATOR = /^---[ \t]*$/m;
const GENERATED_NOTE = `# Generated from ${RULES_PATH} by \`npx tsx k8s/sync-prometheus-rule.ts\`.`;

/** An input the script cannot work with; `code` is stable for callers and tests. */
export class SyncError extends Error {
  readonly code: 'K8S_ERR_RULES_FILE' | 'K8S_ERR_MANIFEST';
  constructor(code: SyncError['code'], message: string) {
    super(message);
    this.name = 'SyncError';
    this.code = code;
  }
}

/** Parses a Prometheus rule file and returns its `groups`, which must be a non-empty list. */
export function parseRuleGroups(rulesText: string): unknown[] {
  const doc = parseDocument(rulesText);
  if (doc.errors.length > 0) {
    throw new SyncError('K8S_ERR_RULES_FILE', `${RULES_PATH} is not valid YAML: ${doc.errors[0]?.message}`);
  }
  const value: unknown = doc.toJS();
  const groups = isRecord(value) ? value['groups'] : undefined;
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new SyncError('K8S_ERR_RULES_FILE', `${RULES_PATH} must have a non-empty "groups" list`);
  }
  return groups;
}

/**
 * Returns the manifest text with its single `PrometheusRule` document replaced by one carrying the
 * rule file's groups. Returns the input unchanged when it is already up to date.
 * @throws SyncError (K8S_ERR_MANIFEST) when the manifest has no or several PrometheusRule documents.
 */
export function syncPrometheusRule(manifestText: string, rulesText: string): string {
  const groups = parseRuleGroups(rulesText);
  const chunks = manifestText.split(DOCUMENT_SEPARATOR);
  const indexes = chunks.flatMap((chunk, i) => (kindOf(chunk) === 'PrometheusRule' ? [i] : []));
  if (indexes.length !== 1) {
    throw new SyncError(
      'K8S_ERR_MANIFEST',
      `${MANIFEST_PATH} must hold exactly one PrometheusRule document, found ${indexes.length}`,
    );
  }
  const index = indexes[0]!;
  const current = parseDocument(chunks[index]!).toJS() as Record<string, unknown>;
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: current['metadata'],
    spec: { groups },
  };
  // lineWidth 0: long PromQL stays on one line instead of being folded where the reader does not expect it.
  const body = stringify(rule, { lineWidth: 0 });
  chunks[index] = `\n${GENERATED_NOTE}\n${body}`;
  return chunks.join('---');
}

function kindOf(chunk: string): unknown {
  const doc = parseDocument(chunk);
  return isMap(doc.contents) ? doc.contents.get('kind') : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function main(argv: string[]): number {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const manifestFile = `${root}${MANIFEST_PATH}`;
  const current = readFileSync(manifestFile, 'utf8');
  const next = syncPrometheusRule(current, readFileSync(`${root}${RULES_PATH}`, 'utf8'));
  if (argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(
        `${MANIFEST_PATH}: PrometheusRule differs from ${RULES_PATH}; run: npx tsx k8s/sync-prometheus-rule.ts\n`,
      );
      return 1;
    }
    process.stdout.write(`${MANIFEST_PATH}: PrometheusRule matches ${RULES_PATH}\n`);
    return 0;
  }
  if (next !== current) writeFileSync(manifestFile, next);
  process.stdout.write(
    `${MANIFEST_PATH}: PrometheusRule ${next === current ? 'already up to date' : 'regenerated'}\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
