/**
 * Reading a refusal's `Retry-After` and keeping the pause it asks for, for every client of the exchange
 * here: upgrades (upstream-admission.ts) and the manager's REST requests (manager/rest-client.ts).
 *
 * A client that keeps going after a 429 is answered 418 and banned, for 2 minutes up to 3 days (Binance
 * "LIMITS", "WebSocket Limits"), so after a 429 or 418 nothing goes out until the time named has passed.
 */

/**
 * Pause after a 429 or 418 without a usable `Retry-After`: 2 minutes, the shortest ban Binance
 * documents. Trying earlier after a refusal is what turns a 429 into a 418 and lengthens the ban.
 */
export const DEFAULT_RETRY_AFTER_MS = 120_000;
/** Shortest pause: a `Retry-After: 0` (or a date already past) must not let a refused client loop. */
export const MIN_RETRY_AFTER_MS = 1000;
/** Longest pause: 3 days, Binance's longest ban; a longer value is more likely a broken header. */
export const MAX_RETRY_AFTER_MS = 3 * 24 * 3600 * 1000;

/**
 * The wait a `Retry-After` value names, in ms from `now`: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`), RFC 9110 section 10.2.3. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only a date-like text: Date.parse also accepts bare numbers and fragments such as "1".
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at - now;
}

/**
 * How long a refusal stops every attempt, or undefined when it asks for no pause (another status, or a
 * 503 without `Retry-After`, which the ordinary backoff handles).
 */
export function refusalPauseMs(
  status: number,
  retryAfter: string | undefined,
  now: number,
): number | undefined {
  const named = parseRetryAfter(retryAfter, now);
  if (status !== 429 && status !== 418 && !(status === 503 && named !== undefined)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, named ?? DEFAULT_RETRY_AFTER_MS));
}

/** The pause refusals asked for: a later refusal can lengthen it, never shorten it. */
export class RetryAfterPause {
  private until = 0;

  /** When the pause ends (ms since the epoch; in the past when none is in force). */
  get endsAt(): number {
    return this.until;
  }

  /** Milliseconds until the pause ends (0 when nothing stops a request now). */
  remainingMs(now: number): number {
    return Math.max(0, this.until - now);
  }

  /** Pauses until `now + pauseMs` unless the pause in force ends later; true when it was lengthened. */
  lengthen(now: number, pauseMs: number): boolean {
    if (now + pauseMs <= this.until) return false;
    this.until = now + pauseMs;
    return true;
  }
}
