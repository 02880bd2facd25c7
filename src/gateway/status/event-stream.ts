/**
 * Server-Sent Events for the status page: every open stream gets the same pre-serialised snapshot once
 * a second. A client that does not read (its unsent bytes pass MAX_BUFFERED_BYTES) is closed rather
 * than buffered without bound; the page reconnects on its own.
 */
import type { ServerResponse } from 'node:http';

/** Open event streams accepted at once; each costs a socket and a write per second. */
export const MAX_EVENT_STREAMS = 64;
/** About a minute of snapshots for a page with hundreds of connection rows. */
const MAX_BUFFERED_BYTES = 1 << 20;

export class EventStreamHub {
  private readonly clients = new Set<ServerResponse>();

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= MAX_EVENT_STREAMS;
  }

  /** Takes over a response whose headers were written; `first` is sent at once. */
  add(res: ServerResponse, first: string): void {
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.write(first);
  }

  broadcast(event: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(event);
    }
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

/** One SSE `snapshot` event; JSON has no raw newlines, so one `data:` line carries it. */
export function snapshotEvent(document: unknown): string {
  return `event: snapshot\ndata: ${JSON.stringify(document)}\n\n`;
}
