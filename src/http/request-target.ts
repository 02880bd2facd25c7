/**
 * The one parser of HTTP request targets (RFC 9112 §3.2): the router's, the upgrade paths' and the
 * simulator's. It makes a URL without letting the target pick the base:
 * `new URL('//api/ws/metrics', base)` reads `api` as a host, so an origin-form target is appended to a
 * fixed origin instead. Absolute-form targets (`GET http://host/path`) are parsed as they are.
 */
const BASE = 'http://gateway.invalid';

/** The parsed target, or undefined when it is not a valid URL (the caller answers 400). */
export function parseRequestTarget(target: string | undefined): URL | undefined {
  const raw = target ?? '/';
  try {
    return raw.startsWith('/') ? new URL(BASE + raw) : new URL(raw);
  } catch {
    return undefined;
  }
}
