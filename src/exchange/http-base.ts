/** Where a venue's REST API is found from its WebSocket base URL. */

/**
 * The HTTP base of a WebSocket base URL with the same host and path (a simulator or a gateway serves
 * both under one prefix), or undefined for a URL that is not ws: or wss:. `host` replaces the host
 * where the venue's REST API lives elsewhere.
 */
export function httpBaseOf(wsUrl: string, host?: (url: URL) => string | undefined): string | undefined {
  let url: URL;
  try {
    url = new URL(wsUrl);
  } catch {
    return undefined;
  }
  const scheme = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : undefined;
  if (scheme === undefined) return undefined;
  const elsewhere = host?.(url);
  if (elsewhere !== undefined) return elsewhere;
  return `${scheme}//${url.host}${url.pathname.replace(/\/$/, '')}`;
}
