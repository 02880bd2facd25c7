/**
 * The answer to a request charged against a {@link WeightBudget}, in the venue's words: the weight used
 * in headers on every answer, and past the budget a 429 (418 for a banned address) with `Retry-After`
 * and the venue's error body. The gateway's REST routes and the simulator's REST API both answer this
 * way, so their refusals are the same bytes.
 */
import type { WeightBudget } from './weight-budget.js';

/** How a venue words weight: its used-weight headers and its error bodies (Binance's: `BINANCE_WEIGHT_ANSWERS`). */
export interface WeightAnswers<E> {
  /** Headers that carry the weight used, in the order they are sent. */
  readonly usedHeaders: readonly string[];
  /** The body of a 429: over `limit` weight per window. */
  readonly overLimit: (limit: number) => E;
  /** The body of a 418: banned until `until` (ms since the epoch). */
  readonly banned: (until: number) => E;
}

export type WeightedAnswer<E> =
  | { readonly status: 200; readonly headers: Record<string, string> }
  | { readonly status: 429 | 418; readonly headers: Record<string, string>; readonly error: E };

/**
 * Charges `weight` to `address`: a 200 with the used-weight headers (for the answer that serves the
 * request), or the refusal to send instead.
 */
export function chargeRequest<E>(
  budget: WeightBudget,
  answers: WeightAnswers<E>,
  address: string,
  weight: number,
): WeightedAnswer<E> {
  const verdict = budget.charge(address, weight);
  const used = String(verdict.used);
  const headers: Record<string, string> = {};
  for (const name of answers.usedHeaders) headers[name] = used;
  if (verdict.status === 200) return { status: 200, headers };
  headers['retry-after'] = String(verdict.retryAfterS);
  const error = verdict.status === 418 ? answers.banned(verdict.until) : answers.overLimit(budget.limit);
  return { status: verdict.status, headers, error };
}
