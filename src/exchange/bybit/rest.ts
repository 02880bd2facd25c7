/**
 * Bybit v5 REST answers: `{"retCode":0,"retMsg":"OK","result":{..},"retExtInfo":{},"time":..}`. HTTP 200
 * carries failures too (a non-zero `retCode`), so a result is read only from a zero code.
 */
import type { RefillFailure, RestAnswer } from '../exchange.js';

export type BybitMarket = 'spot' | 'linear';

export type ResultRead =
  | { readonly ok: true; readonly result: Record<string, unknown> }
  | { readonly ok: false; readonly reason: RefillFailure };

/** The `result` of an answer, or why there is none (a non-zero `retCode` counts as refused). */
export function resultOf(answer: RestAnswer): ResultRead {
  if (!answer.ok) return { ok: false, reason: answer.reason };
  const body = answer.body as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object' || body['retCode'] !== 0)
    return { ok: false, reason: 'refused' };
  const result = body['result'];
  if (result === null || typeof result !== 'object') return { ok: false, reason: 'refused' };
  return { ok: true, result: result as Record<string, unknown> };
}
