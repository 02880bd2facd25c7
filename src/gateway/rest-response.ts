/**
 * Answers of the gateway's venue REST routes, shaped as the venue sends them: its JSON `Content-Type`
 * (Binance: `application/json;charset=UTF-8`), the JSON text with no trailing newline, errors as the
 * venue's error body (Binance: `{"code":..,"msg":..}`).
 */
import type { RestDialect, RestErrorBody } from '../exchange/dialect.js';
import type { HttpResponse } from '../http/http-response.js';

/** What the answers need of the venue's REST dialect. */
type AnswerDialect = Pick<RestDialect, 'contentType'>;

export function restAnswer(
  dialect: AnswerDialect,
  status: number,
  body: string,
  headers: Record<string, string> = {},
  contentType = dialect.contentType,
): HttpResponse {
  return { status, headers: { 'content-type': contentType, ...headers }, body };
}

export function restError(
  dialect: AnswerDialect,
  status: number,
  error: RestErrorBody,
  headers: Record<string, string> = {},
): HttpResponse {
  return restAnswer(dialect, status, JSON.stringify(error), headers);
}

/** A response with more headers. */
export function withHeaders(response: HttpResponse, headers: Record<string, string>): HttpResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}
