/** Runs one row of the failure matrix on a fresh cluster and measures what its clients saw. */
import { sleep, until } from './children.js';
import { openStreamClient, type StreamClient } from './clients.js';
import { type ClusterSettings, startCluster } from './cluster.js';
import { clientFigures, type RowFigures, rowFigures } from './figures.js';
import type { Row } from './rows.js';

export interface MatrixSettings {
  readonly ingestNodes: number;
  readonly gateways: number;
  readonly clients: number;
  /** Streams the clients spread over: half trade, half aggTrade (one symbol carries both). */
  readonly streams: number;
  readonly rate: number;
  readonly shardCount: number;
  readonly leaseTtlSeconds: number;
  /** How long clients are watched after they are all receiving again. */
  readonly settleMs: number;
  /** The longest a row waits for every client to receive again before it reports who never did. */
  readonly recoveryTimeoutMs: number;
  readonly natsBinary?: string;
  /** Progress lines (stderr by default). */
  readonly log?: (line: string) => void;
}

// Short lease TTLs keep takeovers (and so the whole matrix) quick: 2 s is the smallest allowed.
export const DEFAULT_SETTINGS: MatrixSettings = {
  ingestNodes: 2,
  gateways: 2,
  clients: 40,
  streams: 20,
  rate: 10,
  shardCount: 8,
  leaseTtlSeconds: 2,
  settleMs: 3000,
  recoveryTimeoutMs: 30_000,
};

/** A client counts as receiving again once it got an event this long after the fault ended. */
const RECEIVING_AGAIN_AFTER_MS = 1000;

export function streamNames(count: number): string[] {
  const symbols = Array.from(
    { length: Math.ceil(count / 2) },
    (_, i) => `chaos${String(i).padStart(2, '0')}usdt`,
  );
  return symbols.flatMap((s) => [`${s}@trade`, `${s}@aggTrade`]).slice(0, count);
}

export async function runRow(row: Row, settings: MatrixSettings): Promise<RowFigures> {
  const log = settings.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const streams = streamNames(settings.streams);
  const clusterSettings: ClusterSettings = {
    ingestNodes: Math.max(settings.ingestNodes, row.minIngestNodes ?? 1),
    gateways: settings.gateways,
    symbols: [...new Set(streams.map((s) => s.split('@')[0]!))],
    rate: settings.rate,
    shardCount: settings.shardCount,
    leaseTtlSeconds: settings.leaseTtlSeconds,
    natsServers: row.natsServers ?? 1,
    ...(row.proxied === undefined ? {} : { proxied: row.proxied }),
    ...(settings.natsBinary === undefined ? {} : { natsBinary: settings.natsBinary }),
  };
  const started = Date.now();
  const cluster = await startCluster(clusterSettings);
  const clients: StreamClient[] = [];
  try {
    log(`${row.name}: cluster up in ${Date.now() - started} ms`);
    const wsUrls = cluster.gateways.map((g) => g.url.replace(/^http/, 'ws'));
    for (let i = 0; i < settings.clients; i++) {
      clients.push(openStreamClient(wsUrls, i, streams[i % streams.length]!));
    }
    await until('every client receiving', () => clients.every((c) => c.ids.length >= 3), 30_000, 50);
    const attemptsBefore = (await cluster.simulatorStats()).connectionAttempts;
    const faultAt = Date.now();
    log(`${row.name}: ${row.does}`);
    await row.fault(cluster);
    const faultEnd = Date.now();
    // Receiving again: an event later than a second after the fault, and within the last second. A stall
    // can begin a while after the fault (a lease expiring, a replica election): clients are watched for
    // settleMs after they all receive, and waited for again if some fell silent meanwhile.
    const receiving = (c: StreamClient) =>
      (c.arrivals.at(-1) ?? 0) >
      Math.max(faultEnd + RECEIVING_AGAIN_AFTER_MS, Date.now() - RECEIVING_AGAIN_AFTER_MS);
    const recoveryDeadline = faultEnd + settings.recoveryTimeoutMs;
    for (;;) {
      const left = recoveryDeadline - Date.now();
      const recovered = await until(
        'every client receiving again',
        () => clients.every(receiving),
        Math.max(0, left),
        50,
      ).then(
        () => true,
        () => false,
      );
      if (!recovered) {
        log(`${row.name}: ${clients.filter((c) => !receiving(c)).length} clients not receiving again`);
        break;
      }
      await sleep(settings.settleMs);
      if (clients.every(receiving) || Date.now() > recoveryDeadline) break;
    }
    const attemptsAfter = (await cluster.simulatorStats()).connectionAttempts;
    const end = Date.now();
    const figures = clients.map((c) => clientFigures(c, faultAt, end));
    const stillSilent = clients.filter(
      (c) => (c.arrivals.at(-1) ?? 0) < end - RECEIVING_AGAIN_AFTER_MS,
    ).length;
    const result = rowFigures(row.name, figures, attemptsAfter - attemptsBefore, stillSilent);
    log(`${row.name}: done in ${Date.now() - started} ms`);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.close();
  }
}
