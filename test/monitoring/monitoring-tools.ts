/**
 * Shared helpers of the monitoring tests: where the kit lives, how to find and run the Prometheus and
 * Alertmanager binaries, and what to do when they are missing (skip loudly locally, fail under CI).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { waitFor } from '../support/wait-for.js';

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
    raw
      .replaceAll('$__rate_interval', rateInterval)
      .replaceAll(/\$(environment|track|instance|venue)\b/g, '.+');
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

export interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** One static target group of a scrape job. */
export interface StaticTargets {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

/** The project's scrape job, as a test finds it in prometheus-config.yml. */
export type ScrapeJob = Record<string, unknown>;

/** What a test has Prometheus scrape with the project's job and rules. */
export interface TestScrape {
  /** The project's job to keep. */
  readonly job: string;
  /** The bearer token the targets require. */
  readonly token: string;
  readonly targets: readonly StaticTargets[];
  /** Sees the project's job and rule files before they are changed for the test. */
  readonly check?: (job: ScrapeJob, ruleFiles: readonly string[]) => void;
}

/** A Prometheus server started by a test on a free loopback port. */
export interface RunningPrometheus {
  readonly url: string;
  /** The end of its log, for a failure message. */
  log(): string;
  /** The `data` of an HTTP API answer; throws with Prometheus's error when it is not a success. */
  api<T>(path: string): Promise<T>;
  /** An instant query's vector. */
  instant(query: string): Promise<VectorSample[]>;
  /** Waits until `query` returns series and returns them; a timeout names `what` and the query. */
  series(what: string, query: string): Promise<VectorSample[]>;
  /** Waits until `count` targets of the job are up, and returns their `up` samples. */
  targetsUp(count: number): Promise<VectorSample[]>;
  /** Stops it and removes its temporary directory. */
  stop(): Promise<void>;
}

/**
 * The project's Prometheus config for a test: the project's job and rule file kept, its token file and
 * targets replaced by the test's, scrape and evaluation every 1 s instead of 30 s so data arrives within
 * seconds, and no Alertmanager (none runs).
 */
function testScrapeConfig(scrape: TestScrape, tokenFile: string): string {
  const config = parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
    global: Record<string, unknown>;
    rule_files: string[];
    alerting?: unknown;
    scrape_configs: ScrapeJob[];
  };
  const job = config.scrape_configs.find((candidate) => candidate['job_name'] === scrape.job);
  if (job === undefined) throw new Error(`prometheus-config.yml has no job ${scrape.job}`);
  scrape.check?.(job, config.rule_files);
  config.global = {
    ...config.global,
    scrape_interval: '1s',
    scrape_timeout: '1s',
    evaluation_interval: '1s',
  };
  config.rule_files = [RULES_FILE];
  delete config.alerting;
  job['scrape_interval'] = '1s';
  job['authorization'] = { type: 'Bearer', credentials_file: tokenFile };
  delete job['file_sd_configs'];
  job['static_configs'] = scrape.targets;
  return stringify(config);
}

/**
 * Starts Debian's `prometheus` on the project's config changed for `scrape` (see testScrapeConfig), its
 * config, token and data in a temporary directory, and waits until it is ready (a failure names the end
 * of its log).
 */
export async function startPrometheus(scrape: TestScrape): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-test-prometheus-'));
  const tokenFile = join(dir, 'metrics-token');
  writeFileSync(tokenFile, `${scrape.token}\n`);
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, testScrapeConfig(scrape, tokenFile));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  const log = () => `\nprometheus log:\n${stderr.slice(-2000)}`;
  const instant = async (query: string) =>
    (await api<{ result: VectorSample[] }>(`/api/v1/query?query=${encodeURIComponent(query)}`)).result;
  const stop = async () => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  await waitFor(
    'Prometheus ready',
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    ...TOOL_WAIT,
  ).catch(async (error: Error) => {
    await stop();
    throw new Error(error.message + log());
  });
  return {
    url,
    log,
    api,
    instant,
    stop,
    series: (what, query) =>
      waitFor(
        what,
        async () => {
          const result = await instant(query);
          return result.length > 0 ? result : undefined;
        },
        ...TOOL_WAIT,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${query}${log()}`);
      }),
    targetsUp: (count) =>
      waitFor(
        `${count} targets of ${scrape.job} up`,
        async () => {
          const result = await instant(`up{job="${scrape.job}"} == 1`);
          return result.length === count ? result : undefined;
        },
        ...TOOL_WAIT,
      ).catch((error: Error) => {
        throw new Error(error.message + log());
      }),
  };
}
