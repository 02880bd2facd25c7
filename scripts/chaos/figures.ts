/**
 * What the clients of one row saw, from the exchange's ids they received. The simulator's trade and
 * aggTrade ids advance by exactly one per event it produces, so an id missing between two a client
 * received is an event the exchange sent and the client never got.
 */
import type { StreamClient } from './clients.js';

export interface ClientFigures {
  /** Events missing between two events of one connection. */
  readonly lost: number;
  /** Events missing between a connection's last event and the next connection's first (a reconnect). */
  readonly lostAcrossReconnects: number;
  /** Deliveries of an id delivered before. */
  readonly duplicates: number;
  /** Deliveries of a new id lower than one delivered before (ids going backwards). */
  readonly outOfOrder: number;
  /** Longest time without an event that ended at or after `from` (or was still running at `to`). */
  readonly longestSilenceMs: number;
  readonly events: number;
  readonly connections: number;
}

export function clientFigures(
  client: Pick<StreamClient, 'ids' | 'arrivals' | 'connectionStarts'>,
  from: number,
  to: number,
): ClientFigures {
  const { ids, arrivals, connectionStarts } = client;
  const seen = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let lostAcrossReconnects = 0;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  let longestSilenceMs = 0;
  let nextStart = 1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const at = arrivals[i]!;
    if (i > 0 && at >= from) longestSilenceMs = Math.max(longestSilenceMs, at - arrivals[i - 1]!);
    // A reconnect's first event: the ids skipped since the previous connection's newest are lost to the
    // reconnect, not to the cluster.
    while (nextStart < connectionStarts.length && connectionStarts[nextStart]! < i) nextStart++;
    const startsConnection = nextStart < connectionStarts.length && connectionStarts[nextStart] === i;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    if (id < max) outOfOrder++;
    else if (startsConnection && max !== Number.NEGATIVE_INFINITY && id > max + 1) {
      lostAcrossReconnects += id - max - 1;
    }
    seen.add(id);
    if (id > max) max = id;
    if (id < min) min = id;
  }
  const last = arrivals.at(-1);
  if (last !== undefined) longestSilenceMs = Math.max(longestSilenceMs, to - last);
  else longestSilenceMs = to - from;
  const missing = seen.size === 0 ? 0 : max - min + 1 - seen.size;
  return {
    lost: Math.max(0, missing - lostAcrossReconnects),
    lostAcrossReconnects,
    duplicates,
    outOfOrder,
    longestSilenceMs,
    events: ids.length,
    connections: connectionStarts.length,
  };
}

export interface RowFigures {
  readonly row: string;
  readonly clients: number;
  readonly longestSilenceMs: number;
  readonly lost: number;
  readonly lostAcrossReconnects: number;
  readonly clientsWithLoss: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Upstream connections the simulator accepted or refused from the fault to the end of the row. */
  readonly upstreamAttempts: number;
  /** Clients without an event in the last second of the row (not receiving again). */
  readonly silentAtEnd: number;
  /** Clients that had to open more than one connection (their gateway went away). */
  readonly reconnected: number;
  readonly events: number;
}

export function rowFigures(
  row: string,
  clients: readonly ClientFigures[],
  upstreamAttempts: number,
  silentAtEnd: number,
): RowFigures {
  const sum = (pick: (c: ClientFigures) => number) => clients.reduce((a, c) => a + pick(c), 0);
  return {
    row,
    clients: clients.length,
    longestSilenceMs: clients.reduce((a, c) => Math.max(a, c.longestSilenceMs), 0),
    lost: sum((c) => c.lost),
    lostAcrossReconnects: sum((c) => c.lostAcrossReconnects),
    clientsWithLoss: clients.filter((c) => c.lost + c.lostAcrossReconnects > 0).length,
    duplicates: sum((c) => c.duplicates),
    outOfOrder: sum((c) => c.outOfOrder),
    upstreamAttempts,
    silentAtEnd,
    reconnected: clients.filter((c) => c.connections > 1).length,
    events: sum((c) => c.events),
  };
}

const HEADER = [
  'row',
  'longest silence (ms)',
  'lost',
  'lost across reconnects',
  'clients with loss',
  'duplicates',
  'out of order',
  'upstream attempts',
  'silent at end',
  'reconnected',
  'events',
];

/** The rows as a markdown table, ready to paste. */
export function markdownTable(rows: readonly (RowFigures | { row: string; error: string })[]): string {
  const lines = [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`,
  ];
  for (const r of rows) {
    if ('error' in r) {
      lines.push(
        `| ${r.row} | harness error: ${r.error.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 200)} |`,
      );
      continue;
    }
    lines.push(
      `| ${[
        r.row,
        r.longestSilenceMs,
        r.lost,
        r.lostAcrossReconnects,
        `${r.clientsWithLoss}/${r.clients}`,
        r.duplicates,
        r.outOfOrder,
        r.upstreamAttempts,
        r.silentAtEnd,
        r.reconnected,
        r.events,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
