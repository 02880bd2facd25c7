/**
 * The upgrade paths Binance serves (spot "WebSocket Streams", "General WSS information"):
 * `/ws/<stream>` raw, `/stream?streams=<a>/<b>` combined, and bare `/ws` or `/stream` for connections
 * that subscribe live. `/ws/<a>/<b>` carries several raw streams, as Binance accepts.
 */
import { isValidStreamName } from '../exchange/binance/streams.js';

export type ConnectionPath =
  | { readonly ok: true; readonly combined: boolean; readonly streams: string[] }
  | { readonly ok: false; readonly status: 400 | 404; readonly message: string };

function splitStreams(list: string): string[] | undefined {
  if (list === '') return [];
  const streams = list.split('/').filter((s) => s !== '');
  return streams.every(isValidStreamName) ? streams : undefined;
}

export function parseConnectionPath(rawUrl: string | undefined): ConnectionPath {
  let url: URL;
  try {
    url = new URL(rawUrl ?? '/', 'http://simulator.invalid');
  } catch {
    return { ok: false, status: 400, message: 'Invalid request URL' };
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400, message: 'Invalid request URL' };
  }
  if (path === '/ws' || path === '/ws/' || path.startsWith('/ws/')) {
    const streams = splitStreams(path.slice(4));
    if (streams === undefined) return { ok: false, status: 400, message: 'Invalid request: invalid stream' };
    return { ok: true, combined: false, streams };
  }
  if (path === '/stream' || path === '/stream/') {
    const streams = splitStreams(url.searchParams.get('streams') ?? '');
    if (streams === undefined) return { ok: false, status: 400, message: 'Invalid request: invalid stream' };
    return { ok: true, combined: true, streams };
  }
  return { ok: false, status: 404, message: `No WebSocket endpoint at ${path}` };
}
