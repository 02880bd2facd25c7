/**
 * The figures the status page adds to the JSON metrics document (`GET /api/ws/metrics`): version,
 * uptime, message rates, one row per upstream connection and the busiest streams. Kept additive: every
 * field the document carried before keeps its name and meaning.
 */
import type { ConnectionInfo, StreamInfo, StreamSource, UpstreamState } from '../../core/stream-source.js';

/** Rows listed per document; Legacy has one socket per subscription, so the rest are only counted. */
export const MAX_CONNECTION_ROWS = 20;
/** Streams listed in `topStreams`. */
export const TOP_STREAMS = 5;

export interface ConnectionRow {
  readonly id: string;
  readonly state: UpstreamState;
  readonly streams: number;
  /** How long the socket serving now has been open; null while none is. */
  readonly ageMs: number | null;
  /** Time since the last event on any of its streams; null before the first. */
  readonly lastMessageAgeMs: number | null;
  readonly retries: number;
}

export interface TopStream {
  readonly stream: string;
  readonly subscribers: number;
  readonly lastMessageAgeMs: number | null;
}

export interface Rates {
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
}

export interface StatusFields extends Rates {
  readonly version: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly connections: ConnectionRow[];
  /** Connections left out of `connections` (beyond MAX_CONNECTION_ROWS). */
  readonly connectionsNotShown: number;
  readonly topStreams: TopStream[];
}

export function statusFields(
  source: StreamSource,
  info: { version: string; startedAt: number; rates: Rates },
  now: number = Date.now(),
): StatusFields {
  const all = source.connections();
  return {
    version: info.version,
    startedAt: new Date(info.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now - info.startedAt) / 1000)),
    messagesInPerSecond: info.rates.messagesInPerSecond,
    messagesOutPerSecond: info.rates.messagesOutPerSecond,
    connections: troubledFirst(all)
      .slice(0, MAX_CONNECTION_ROWS)
      .map((c) => row(c, now)),
    connectionsNotShown: Math.max(0, all.length - MAX_CONNECTION_ROWS),
    topStreams: topStreams(source.listStreams(), now),
  };
}

/** Connections that are not open, then those with the most retries, so a capped list shows trouble. */
function troubledFirst(connections: ConnectionInfo[]): ConnectionInfo[] {
  return connections
    .map((c, i) => ({ c, i }))
    .sort(
      (a, b) =>
        Number(a.c.state === 'open') - Number(b.c.state === 'open') || b.c.retries - a.c.retries || a.i - b.i,
    )
    .map(({ c }) => c);
}

function row(c: ConnectionInfo, now: number): ConnectionRow {
  return {
    id: c.id,
    state: c.state,
    streams: c.streams,
    ageMs: age(c.openedAt, now),
    lastMessageAgeMs: age(c.lastMessageAt, now),
    retries: c.retries,
  };
}

/**
 * The first TOP_STREAMS of the streams in `byRank` order, as a stable sort would give them, in one pass:
 * with thousands of streams, sorting them all on every document cost more than the rest of it.
 */
function topStreams(streams: readonly StreamInfo[], now: number): TopStream[] {
  const top: StreamInfo[] = [];
  for (const s of streams) {
    // Not ahead of the last one kept: a stable sort would place it after.
    if (top.length === TOP_STREAMS && byRank(s, top[TOP_STREAMS - 1]!) >= 0) continue;
    let at = top.length;
    while (at > 0 && byRank(s, top[at - 1]!) < 0) at--;
    top.splice(at, 0, s);
    if (top.length > TOP_STREAMS) top.pop();
  }
  return top.map((s) => ({
    stream: s.stream,
    subscribers: s.subscribers,
    lastMessageAgeMs: age(s.lastMessageAt, now),
  }));
}

/** Most subscribers first, then by name. */
function byRank(a: StreamInfo, b: StreamInfo): number {
  return b.subscribers - a.subscribers || a.stream.localeCompare(b.stream);
}

function age(at: number | undefined, now: number): number | null {
  return at === undefined ? null : Math.max(0, now - at);
}
