/**
 * Shared helpers of the monitoring tests: where the kit lives, how to find and run the Prometheus and
 * Alertmanager binaries, and what to do when they are missing (skip loudly locally, fail under CI).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const MONITORING_DIR = join(REPO_DIR, 'monitoring');
export const PROMETHEUS_CONFIG = join(MONITORING_DIR, 'prometheus-config.yml');
export const RULES_FILE = join(MONITORING_DIR, 'ws-manager-rules.yml');
export const ALERTMANAGER_CONFIG = join(MONITORING_DIR, 'alertmanager.yml');
export const DASHBOARD_FILE = join(MONITORING_DIR, 'grafana-dashboard.json');
export const RUNBOOK_FILE = join(MONITORING_DIR, 'runbook.md');
export const RULE_TESTS_DIR = join(MONITORING_DIR, 'tests');

/** Absolute path of an executable found on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * True when every binary is on PATH. Otherwise: under `CI=true` the test fails (the CI script installs
 * them, so a missing one is a broken pipeline); elsewhere the test is skipped with a message naming
 * what is missing and how to install it.
 */
export function haveBinaries(t: TestContext, names: readonly string[]): boolean {
  const missing = names.filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return true;
  const reason =
    `missing binary ${missing.join(', ')} on PATH: install Debian's prometheus and ` +
    'prometheus-alertmanager packages (.ci/run does) to run this test';
  if (process.env.CI === 'true') throw new Error(`${reason} (mandatory under CI=true)`);
  process.stderr.write(`\n!!! SKIPPED: ${reason}\n\n`);
  t.skip(reason);
  return false;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion without a shell and never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, cwd: REPO_DIR }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** One alerting or recording rule as written in the rules file. */
export interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface RuleFile {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly rules: readonly Rule[] }>;
}

/** Every rule of monitoring/ws-manager-rules.yml, in file order. */
export function loadRules(): Rule[] {
  const file = parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
  return file.groups.flatMap((group) => [...group.rules]);
}

/** The alerting rules alone. */
export function loadAlerts(): Array<Rule & { readonly alert: string }> {
  return loadRules().filter((rule): rule is Rule & { alert: string } => typeof rule.alert === 'string');
}
