/**
 * Server-Sent Events for the status page: every open stream gets the same pre-serialised snapshot once
 * a second. The streams are a shared, bounded resource, so:
 * - one address holds at most MAX_EVENT_STREAMS_PER_ADDRESS of the MAX_EVENT_STREAMS slots, so no one
 *   address (a script, a tab left open many times) can shut the page for everyone else;
 * - every stream is ended after `maxAgeMs`, and the page opens the next one at once: a reader that does
 *   not read never sees the end and loses its slot then, however much the operating system's socket
 *   buffers (megabytes, minutes of snapshots) took from it before anything was left unsent here;
 * - a stream whose unsent bytes pass MAX_BUFFERED_BYTES is cut at once, so memory stays bounded.
 */
import type { ServerResponse } from 'node:http';

/** Open event streams accepted at once; each costs a socket and a write per second. */
export const MAX_EVENT_STREAMS = 64;
/** Of those, what one client address may hold: a few tabs and a wall screen. */
export const MAX_EVENT_STREAMS_PER_ADDRESS = 4;
/** A stream's lifetime: the longest a reader that does not read keeps its slot. */
export const EVENT_STREAM_MAX_AGE_MS = 60_000;
/** About a minute of snapshots for a page with hundreds of connection rows. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** An ended stream whose last bytes are still unsent after this is dropped. */
const END_GRACE_MS = 5000;

interface Reader {
  readonly address: string;
  readonly endsAt: number;
}

export type EventStreamRefusal = 'full' | 'address';

export class EventStreamHub {
  private readonly readers = new Map<ServerResponse, Reader>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = EVENT_STREAM_MAX_AGE_MS,
  ) {}

  get size(): number {
    return this.readers.size;
  }

  /** Why a new stream from `address` would be refused, or undefined when it would be taken. */
  refusal(address: string): EventStreamRefusal | undefined {
    if ((this.perAddress.get(address) ?? 0) >= MAX_EVENT_STREAMS_PER_ADDRESS) return 'address';
    if (this.readers.size >= MAX_EVENT_STREAMS) return 'full';
    return undefined;
  }

  /** Takes over a response whose headers were written (after `refusal` said yes); `first` is sent at once. */
  add(res: ServerResponse, address: string, first: string): void {
    this.readers.set(res, { address, endsAt: this.now() + this.maxAgeMs });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    res.on('close', () => this.forget(res));
    res.write(first);
  }

  broadcast(event: string): void {
    const now = this.now();
    for (const [res, reader] of this.readers) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.forget(res);
        res.destroy();
      } else if (now >= reader.endsAt) {
        this.forget(res);
        end(res);
      } else res.write(event);
    }
  }

  closeAll(): void {
    for (const res of this.readers.keys()) end(res);
    this.readers.clear();
    this.perAddress.clear();
  }

  private forget(res: ServerResponse): void {
    const reader = this.readers.get(res);
    if (reader === undefined) return;
    this.readers.delete(res);
    const held = (this.perAddress.get(reader.address) ?? 1) - 1;
    if (held > 0) this.perAddress.set(reader.address, held);
    else this.perAddress.delete(reader.address);
  }
}

/** Ends a stream; one whose reader does not take the rest within END_GRACE_MS is dropped. */
function end(res: ServerResponse): void {
  res.end();
  if (res.writableFinished) return;
  const timer = setTimeout(() => res.destroy(), END_GRACE_MS);
  timer.unref();
  res.once('finish', () => clearTimeout(timer));
  res.once('close', () => clearTimeout(timer));
}

/** One SSE `snapshot` event; JSON has no raw newlines, so one `data:` line carries it. */
export function snapshotEvent(document: unknown): string {
  return `event: snapshot\ndata: ${JSON.stringify(document)}\n\n`;
}
