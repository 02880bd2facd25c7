/** A response as plain data, so HEAD can send exactly GET's headers without the body. */
import type { ServerResponse } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** A long-lived response (an event stream): called with the response once the headers are written. */
  readonly stream?: (res: ServerResponse) => void;
}

/** A JSON response; `Cache-Control: no-store` because every answer here describes the present. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}

/** A JSON error body `{"success":false,"error":message}`. */
export function jsonError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return json(status, { success: false, error: message }, headers);
}

/** Writes the response; for HEAD the headers (Content-Length included) are GET's, the body is omitted. */
export function writeResponse(res: ServerResponse, response: HttpResponse, head: boolean): void {
  if (response.stream !== undefined && !head) {
    res.writeHead(response.status, response.headers);
    response.stream(res);
    return;
  }
  const body = Buffer.from(response.body, 'utf8');
  res.writeHead(response.status, { ...response.headers, 'content-length': String(body.length) });
  res.end(head ? undefined : body);
}
