/**
 * Web origins as browsers send them in the `Origin` header (RFC 6454 serialisation, WHATWG URL
 * "origin"): scheme and host lowercased, the scheme's default port dropped, no path. Configured
 * origins and incoming headers are both normalised here, so `https://App.Example.com:443/` matches
 * what a browser sends for that page, `https://app.example.com`.
 */

const SCHEME_AND_SLASHES = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The origin `text` names, normalised; undefined when it is not an http(s) origin (a path, query,
 * fragment or userinfo, another scheme, or not a URL at all, such as the opaque origin `null`).
 */
export function normalizeOrigin(text: string): string | undefined {
  // WHATWG's parser forgives `https:host` and drops an empty `?` or `#`; an origin has none of those.
  if (!SCHEME_AND_SLASHES.test(text) || text.includes('?') || text.includes('#')) return undefined;
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.pathname !== '/') return undefined;
  return url.origin;
}
