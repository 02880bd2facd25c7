/**
 * `npm run chaos [-- <row> ...] [--clients n] [--streams n] [--ingest-nodes n] [--gateways n] [--rate n]
 * [--lease-ttl s] [--settle-ms ms]`: the failure matrix of the clustered mode, run for real on loopback. Each row starts a
 * fresh cluster (nats-server, the simulator, ingest nodes, gateways, raw ws clients), applies its fault
 * and prints what the clients saw; a markdown table of every row is printed at the end (stdout, progress
 * on stderr). Exits 0 whatever the figures are (the table reports loss); 1 on a harness error (a process
 * that would not start, ...); 2 on bad arguments. Every process it started is gone when it exits.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { stopEverything } from './chaos/children.js';
import { markdownTable, type RowFigures } from './chaos/figures.js';
import { DEFAULT_SETTINGS, type MatrixSettings, runRow } from './chaos/matrix.js';
import { ROWS } from './chaos/rows.js';

const USAGE = `Usage: npm run chaos -- [row ...] [--clients n] [--streams n] [--ingest-nodes n] [--gateways n] [--rate n] [--lease-ttl s] [--settle-ms ms]
Rows (all when none is named): ${ROWS.map((r) => r.name).join(', ')}
Needs nats-server on PATH.`;

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new RangeError(`--${name} must be an integer from ${min} to ${max}, received "${text}"`);
  }
  return value;
}

function parse(argv: string[]): { rows: typeof ROWS; settings: MatrixSettings } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      clients: { type: 'string' },
      streams: { type: 'string' },
      'ingest-nodes': { type: 'string' },
      gateways: { type: 'string' },
      rate: { type: 'string' },
      'lease-ttl': { type: 'string' },
      'settle-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const unknown = positionals.filter((p) => !ROWS.some((r) => r.name === p));
  if (unknown.length > 0) throw new RangeError(`unknown row ${unknown.join(', ')}`);
  const d = DEFAULT_SETTINGS;
  const settings: MatrixSettings = {
    ...d,
    clients: integer('clients', values.clients, d.clients, 1, 10_000),
    streams: integer('streams', values.streams, d.streams, 1, 1000),
    ingestNodes: integer('ingest-nodes', values['ingest-nodes'], d.ingestNodes, 1, 8),
    gateways: integer('gateways', values.gateways, d.gateways, 1, 8),
    rate: integer('rate', values.rate, d.rate, 1, 1000),
    leaseTtlSeconds: integer('lease-ttl', values['lease-ttl'], d.leaseTtlSeconds, 2, 300),
    settleMs: integer('settle-ms', values['settle-ms'], d.settleMs, 0, 600_000),
  };
  if (settings.gateways < 2)
    process.stderr.write('chaos: with one gateway, its clients have nowhere to go\n');
  const rows = positionals.length === 0 ? ROWS : ROWS.filter((r) => positionals.includes(r.name));
  return { rows, settings };
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

let parsed: ReturnType<typeof parse>;
try {
  parsed = parse(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`chaos: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (parsed === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const { rows, settings } = parsed;
const results: (RowFigures | { row: string; error: string })[] = [];
const started = Date.now();
let failed = false;
for (const row of rows) {
  try {
    const figures = await runRow(row, settings);
    results.push(figures);
    process.stdout.write(
      `${row.name}: longest silence ${figures.longestSilenceMs} ms, lost ${figures.lost} (+${figures.lostAcrossReconnects} across reconnects, ${figures.clientsWithLoss}/${figures.clients} clients), duplicates ${figures.duplicates}, out of order ${figures.outOfOrder}, upstream attempts ${figures.upstreamAttempts}, silent at end ${figures.silentAtEnd}\n`,
    );
  } catch (error) {
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    results.push({ row: row.name, error: message });
    process.stderr.write(`chaos: ${row.name} could not be measured: ${message}\n`);
  } finally {
    await stopEverything();
  }
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
process.stdout.write(
  [
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on commit ${commit()}, ${cpus().length} cores, ${minutes} min;`,
    `${settings.ingestNodes} ingest nodes, ${settings.gateways} gateways, ${settings.clients} clients on ${settings.streams} trade/aggTrade streams at ${settings.rate} events/s, ${settings.shardCount} shards, LEASE_TTL_SECONDS=${settings.leaseTtlSeconds}.`,
    '',
    markdownTable(results),
    '',
  ].join('\n'),
);
process.exit(failed ? 1 : 0);
