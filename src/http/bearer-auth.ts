/** Bearer-token checks in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * True when the request carries `Authorization: Bearer <expected>`. Both sides are hashed first so the
 * comparison runs over equal-length digests and takes the same time whatever the token length.
 */
export function hasBearerToken(req: IncomingMessage, expected: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const presented = match?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && match !== null;
}
