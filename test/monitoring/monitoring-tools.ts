/**
 * Shared helpers of the monitoring tests: where the kit lives, how to find and run the Prometheus and
 * Alertmanager binaries, and what to do when they are missing (skip loudly locally, fail under CI).
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
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

export { binaryOf, findBinary, haveBinaries } from '../support/system-tools.js';

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

/** A PromQL query of the dashboard, with where it sits, ready to evaluate. */
export interface DashboardQuery {
  /** e.g. `panel 3 "Retry rate" target A` or `variable instance`. */
  readonly where: string;
  /** The expression as written in the dashboard. */
  readonly raw: string;
  /** The expression with Grafana's variables replaced as Grafana would for "All" selections. */
  readonly expr: string;
}

interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}
export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly targets?: readonly DashboardTarget[];
  readonly fieldConfig?: {
    readonly defaults?: {
      readonly unit?: string;
      readonly noValue?: string;
      readonly mappings?: ReadonlyArray<{
        readonly type: string;
        readonly options?: { readonly match?: string; readonly result?: { readonly color?: string } };
      }>;
      readonly thresholds?: {
        readonly steps?: ReadonlyArray<{ readonly color: string; readonly value: number | null }>;
      };
    };
  };
  readonly options?: { readonly reduceOptions?: { readonly calcs?: readonly string[] } };
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
}
export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly current?: { readonly value?: unknown };
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly allValue?: string;
}
export interface Dashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly __inputs?: ReadonlyArray<{
    readonly name: string;
    readonly type: string;
    readonly pluginId: string;
  }>;
  readonly __requires?: ReadonlyArray<{ readonly type: string; readonly id: string }>;
  readonly templating?: { readonly list?: readonly DashboardVariable[] };
  readonly panels?: readonly DashboardPanel[];
}

export const README_FILE = join(MONITORING_DIR, 'README.md');

/**
 * The metric names of the "Metrics" table in monitoring/README.md: every backticked name in the first
 * column, label lists (`{reason}`) dropped.
 */
export function readmeMetricNames(): Set<string> {
  const readme = readFileSync(README_FILE, 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Metrics')) ?? '';
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const match of firstCell.matchAll(/`([a-z_:]+)(?:\{[^}]*\})?`/g)) {
      if (!match[1]?.includes(':')) names.add(match[1] ?? '');
    }
  }
  return names;
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/**
 * Every PromQL expression of the dashboard: panel targets, and the series selectors inside the
 * `label_values(selector, label)` variable queries. `$__rate_interval` becomes `rateInterval` and the
 * dashboard's own variables become their "All" value (`.+`), as Grafana sends them.
 */
export function dashboardQueries(dashboard: Dashboard, rateInterval: string): DashboardQuery[] {
  const substitute = (raw: string): string =>
    raw.replaceAll('$__rate_interval', rateInterval).replaceAll(/\$(environment|track|instance)\b/g, '.+');
  const queries: DashboardQuery[] = [];
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) {
      const raw = target.expr ?? '';
      queries.push({
        where: `panel ${panel.id} "${panel.title}" target ${target.refId}`,
        raw,
        expr: substitute(raw),
      });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const raw = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const selector = /^label_values\((.+),\s*\w+\)$/.exec(raw)?.[1] ?? raw;
    queries.push({ where: `variable ${variable.name}`, raw, expr: substitute(selector) });
  }
  return queries;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Timeout and poll interval of `waitFor` on Prometheus and Alertmanager, whose answers change once per
 * scrape or evaluation, not per millisecond.
 */
export const TOOL_WAIT = [20_000, 250] as const;

/** Stops a child process: SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
