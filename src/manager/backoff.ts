/**
 * Full-jitter exponential backoff ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
 * the delay is uniformly random in [0, min(cap, base * 2^attempt)), so many clients that lost their
 * connections at the same moment spread their reconnects instead of arriving together.
 */

export interface BackoffPolicy {
  /** Upper bound of the first delay (attempt 0). */
  readonly baseDelayMs: number;
  /** Upper bound of every delay. */
  readonly maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry).
 * @param random returns a number in [0, 1); injectable so tests are deterministic.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  // 2^attempt overflows to Infinity for large attempts; min() keeps the cap in force either way.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
