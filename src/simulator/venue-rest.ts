/**
 * What the Bybit and OKX REST APIs of the simulator share: the context they answer from, holding whole
 * requests back for the injected latency (dropped when the simulator closes), the plain 404 for a path
 * the venue does not serve, and the internal book read as a venue's levels when no channel shows it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FeedHub } from './feed-hub.js';
import { DepthDiffGenerator } from './generators/book-generators.js';
import { formatFixed } from './generators/decimal.js';
import type { RefuseStatus } from './types.js';

export interface VenueRestContext<F> {
  readonly hub: FeedHub;
  /** The venue's running feeds, whose books the REST answers match. */
  readonly feeds: F;
  readonly symbols: readonly string[];
  readonly clock: () => number;
  /** The upgrade gate's injected refusal, if one is in force. */
  readonly refusal: () => { status: RefuseStatus; retryAfterS: number | undefined } | undefined;
  readonly latencyMs: () => number;
}

export abstract class VenueRestApi<C extends VenueRestContext<unknown>> {
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(protected readonly ctx: C) {}

  /** Serves one request under the venue's prefix, after the injected latency. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const latency = this.ctx.latencyMs();
    if (latency <= 0) {
      this.answer(req, res);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.answer(req, res);
    }, latency);
    this.delayed.add(timer);
  }

  /** Drops answers still held back by injected latency (the simulator is closing). */
  close(): void {
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
  }

  protected abstract answer(req: IncomingMessage, res: ServerResponse): void;
}

export function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found');
}

/** The top `depth` levels of an internal book, brought up to now; undefined when the stream has no book. */
export function internalBook(
  hub: FeedHub,
  stream: string,
  depth: number,
): { bids: [string, string][]; asks: [string, string][]; lastUpdateId: number } | undefined {
  const generator = hub.catchUp(stream)?.generator;
  if (!(generator instanceof DepthDiffGenerator)) return undefined;
  const side = (s: 'bid' | 'ask'): [string, string][] =>
    generator.book.sorted(s, depth).map(([p, q]) => [formatFixed(p), formatFixed(q)]);
  return { bids: side('bid'), asks: side('ask'), lastUpdateId: generator.lastUpdateId };
}
