/** The read-only per-connection rows behind `WSManager.connections()` (the status page lists them). */
import type { ConnectionInfo, StreamInfo } from '../core/stream-source.js';
import type { UpstreamConnection } from './upstream-connection.js';

/** One row per pooled connection; the last message is the newest among the streams it carries. */
export function connectionRows(
  connections: readonly UpstreamConnection[],
  streams: readonly StreamInfo[],
): ConnectionInfo[] {
  const lastByConnection = new Map<string, number>();
  for (const s of streams) {
    if (s.connection === undefined || s.lastMessageAt === undefined) continue;
    const seen = lastByConnection.get(s.connection);
    if (seen === undefined || s.lastMessageAt > seen) lastByConnection.set(s.connection, s.lastMessageAt);
  }
  return connections.map((c) => ({
    id: c.id,
    state: c.state,
    streams: c.wanted.size,
    openedAt: c.socket?.openedAt,
    lastMessageAt: lastByConnection.get(c.id),
    retries: c.retries,
  }));
}
