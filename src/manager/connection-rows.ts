/** The read-only per-connection rows behind `WSManager.connections()` (the status page lists them). */
import type { ConnectionInfo } from '../core/stream-source.js';
import type { UpstreamConnection } from './upstream-connection.js';

/**
 * One row per pooled connection; the last message is the newest event that arrived on it
 * (`StreamRegistry.lastMessageByConnection`).
 */
export function connectionRows(
  connections: readonly UpstreamConnection[],
  lastMessageAt: ReadonlyMap<string, number>,
): ConnectionInfo[] {
  return connections.map((c) => ({
    id: c.id,
    state: c.state,
    streams: c.wanted.size,
    openedAt: c.socket?.openedAt,
    lastMessageAt: lastMessageAt.get(c.id),
    retries: c.retries,
  }));
}
