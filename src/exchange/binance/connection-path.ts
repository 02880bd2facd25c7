/**
 * The upgrade paths Binance serves (spot "WebSocket Streams", "General WSS information"), parsed once for
 * the gateway and the simulator:
 * - `/ws/<stream>` raw, `/ws/<a>/<b>` several raw streams, bare `/ws` for connections that subscribe live;
 * - `/stream?streams=<a>/<b>` combined, bare `/stream`.
 *
 * Binance opens `/ws/<segment>` whatever the segment is, and a segment that names no stream subscribes
 * nothing: clients such as multi-exchange trading libraries connect to `/ws/0`, `/ws/1` (a connection
 * number) and then send live SUBSCRIBE requests. A segment without `@` cannot be a stream name, so it is
 * such a label and is ignored. A segment with `@` is meant as a stream: when it is not a valid one (an
 * uppercase symbol, a misspelt kind) the upgrade is refused with 400, so a typo is reported instead of
 * giving a silent connection. `/stream?streams=` lists streams only, so every entry must be valid.
 */

import { parseRequestTarget } from '../../http/request-target.js';
import type { ConnectionPath } from '../dialect.js';
import { isValidStreamName } from './streams.js';

/** The WebSocket endpoints: `/ws`, `/stream` and the paths under them. */
export const CONNECTION_PATHS: readonly string[] = ['/ws', '/stream'];

const malformed: ConnectionPath = {
  ok: false,
  status: 400,
  reason: 'path',
  message: 'malformed request target',
};

/** Parses the request target of an upgrade (`req.url`). */
export function parseConnectionPath(target: string | undefined): ConnectionPath {
  const url = parseRequestTarget(target);
  if (url === undefined) return malformed;
  const path = url.pathname;
  if (path === '/ws' || path.startsWith('/ws/')) {
    const segments = decodeSegments(path.slice(3));
    if (segments === undefined) return malformed;
    return streamsOf(
      segments.filter((s) => s.includes('@')),
      false,
    );
  }
  if (path === '/stream' || path === '/stream/') {
    return streamsOf(splitList(url.searchParams.get('streams') ?? ''), true);
  }
  return {
    ok: false,
    status: 404,
    reason: 'path',
    message: 'expected /ws, /ws/<stream>, /stream or /stream?streams=',
  };
}

function streamsOf(streams: string[], combined: boolean): ConnectionPath {
  const invalid = streams.find((s) => !isValidStreamName(s));
  if (invalid !== undefined) {
    return {
      ok: false,
      status: 400,
      reason: 'invalid_stream',
      message: `Invalid request: invalid stream ${JSON.stringify(invalid)}`,
    };
  }
  return { ok: true, combined, streams: [...new Set(streams)] };
}

/** The percent-decoded, non-empty segments of `/a/b`; undefined when one is not valid percent-encoding. */
function decodeSegments(rest: string): string[] | undefined {
  const segments: string[] = [];
  for (const s of splitList(rest)) {
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return undefined;
    }
  }
  return segments;
}

function splitList(list: string): string[] {
  return list.split('/').filter((s) => s !== '');
}
