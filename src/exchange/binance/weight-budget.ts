/**
 * Binance's request weight budget per IP ("LIMITS"), as data for the limits' `WeightBudget` and
 * `chargeRequest` (limits/weight-budget.ts, limits/weighted-answer.ts).
 */
import { MINUTE_MS } from '../../limits/fixed-window.js';
import type { WeightBudgetOptions } from '../../limits/weight-budget.js';
import type { WeightAnswers } from '../../limits/weighted-answer.js';
import {
  FIRST_BAN_MS,
  LONGEST_BAN_MS,
  REQUEST_WEIGHT_PER_MINUTE,
  type RestErrorBody,
  RestErrors,
  USED_WEIGHT_HEADER,
} from './rest-limits.js';

/** 6000 weight per IP per minute, 418 after 5 more requests past a 429, bans from 2 minutes to 3 days. */
export const BINANCE_WEIGHT_BUDGET: WeightBudgetOptions = Object.freeze({
  limit: REQUEST_WEIGHT_PER_MINUTE,
  windowMs: MINUTE_MS,
  requestsBeforeBan: 5,
  banMs: FIRST_BAN_MS,
  longestBanMs: LONGEST_BAN_MS,
});

/** The weight used in both of Binance's headers, and its -1003 bodies for 429 and 418. */
export const BINANCE_WEIGHT_ANSWERS: WeightAnswers<RestErrorBody> = Object.freeze({
  usedHeaders: Object.freeze([USED_WEIGHT_HEADER, 'x-mbx-used-weight']),
  overLimit: RestErrors.tooMuchWeight,
  banned: RestErrors.banned,
});
