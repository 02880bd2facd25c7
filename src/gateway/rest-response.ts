/**
 * Answers of the gateway's Binance REST routes, shaped as Binance sends them: `application/json;charset=UTF-8`,
 * the JSON text with no trailing newline, errors as `{"code":..,"msg":..}`.
 */
import { BINANCE_CONTENT_TYPE } from '../exchange/binance/rest-limits.js';
import type { RestErrorBody } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';

export function restAnswer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
  contentType = BINANCE_CONTENT_TYPE,
): HttpResponse {
  return { status, headers: { 'content-type': contentType, ...headers }, body };
}

export function restError(
  status: number,
  error: RestErrorBody,
  headers: Record<string, string> = {},
): HttpResponse {
  return restAnswer(status, JSON.stringify(error), headers);
}

/** A response with more headers. */
export function withHeaders(response: HttpResponse, headers: Record<string, string>): HttpResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}
