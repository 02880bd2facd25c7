/**
 * OKX v5 REST answers: `{"code":"0","msg":"","data":[..]}`. HTTP 200 carries failures too (a non-zero
 * `code`, e.g. 51001 "Instrument ID does not exist"), so data is read only from code "0".
 */
import type { RefillFailure, RestAnswer } from '../exchange.js';

export type DataRead =
  | { readonly ok: true; readonly data: unknown[] }
  | { readonly ok: false; readonly reason: RefillFailure };

export function dataOf(answer: RestAnswer): DataRead {
  if (!answer.ok) return { ok: false, reason: answer.reason };
  const body = answer.body as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object' || body['code'] !== '0' || !Array.isArray(body['data']))
    return { ok: false, reason: 'refused' };
  return { ok: true, data: body['data'] };
}
