/**
 * The figures the status page adds to the JSON metrics document (`GET /api/ws/metrics`): version,
 * uptime, message rates, one row per upstream connection and the busiest streams. Kept additive: every
 * field the document carried before keeps its name and meaning.
 */
import { busiest } from '../../core/busiest-streams.js';
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
    topStreams: topStreams(source, now),
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
 * The first TOP_STREAMS streams in `busiest` order: from the source's own ranking when it has one (it
 * need not list every stream for it), else from its listing.
 */
function topStreams(source: StreamSource, now: number): TopStream[] {
  const top =
    source.busiestStreams?.(TOP_STREAMS) ??
    busiest(source.listStreams(), TOP_STREAMS, streamSubscribers, streamName);
  return top.map((s) => ({
    stream: s.stream,
    subscribers: s.subscribers,
    lastMessageAgeMs: age(s.lastMessageAt, now),
  }));
}

const streamSubscribers = (s: StreamInfo): number => s.subscribers;
const streamName = (s: StreamInfo): string => s.stream;

function age(at: number | undefined, now: number): number | null {
  return at === undefined ? null : Math.max(0, now - at);
}
