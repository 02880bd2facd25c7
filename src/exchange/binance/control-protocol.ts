/**
 * Parsing of live control messages (Binance "Live Subscribing/Unsubscribing to streams") and the text of
 * their replies. Successful replies are `{"result":..,"id":..}`. Errors use the codes and messages of the
 * documentation's "Error Messages" table, in the envelope the production servers send on the wire:
 * `{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}`.
 */
import type { ControlTarget } from '../dialect.js';
import { isValidStreamName } from './streams.js';

/**
 * A request id as Binance accepts it: an unsigned 64-bit integer (the error text for anything else says
 * "request ID must be an unsigned integer"), a short alphanumeric string, or null. Integer ids are kept
 * as bigint: above 2^53 a JS number would change the digits that must be echoed back.
 */
export type ControlId = bigint | string | null;

export type ControlRequest =
  | { readonly method: 'SUBSCRIBE' | 'UNSUBSCRIBE'; readonly streams: string[]; readonly id: ControlId }
  | { readonly method: 'LIST_SUBSCRIPTIONS'; readonly id: ControlId }
  | { readonly method: 'SET_PROPERTY'; readonly value: boolean; readonly id: ControlId }
  | { readonly method: 'GET_PROPERTY'; readonly id: ControlId };

export type ParseResult =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly reply: string };

/** Binance's error codes: 0 unknown property, 1 invalid value type, 2 invalid request, 3 invalid JSON. */
export const ControlErrorCode = {
  UNKNOWN_PROPERTY: 0,
  INVALID_VALUE: 1,
  INVALID_REQUEST: 2,
  INVALID_JSON: 3,
} as const;

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'] as const;
const METHOD_LIST = METHODS.map((m) => `\`${m}\``).join(', ');
const ID_STRING_RE = /^[A-Za-z0-9-]{1,36}$/;
const UINT64_MAX = 2n ** 64n - 1n;
const UNSIGNED_RE = /^(?:0|[1-9][0-9]*)$/;

/** `{...body,"id":<id>}` with an integer id written with exactly its digits. */
function withId(body: Record<string, unknown>, id: ControlId): string {
  const json = JSON.stringify(body);
  const idText = typeof id === 'bigint' ? id.toString() : JSON.stringify(id);
  return `${json.slice(0, -1)},"id":${idText}}`;
}

export function resultReply(result: unknown, id: ControlId): string {
  return withId({ result }, id);
}

export function errorReply(code: number, msg: string, id: ControlId): string {
  return withId({ error: { code, msg } }, id);
}

function invalid(msg: string, id: ControlId): ParseResult {
  return { ok: false, reply: errorReply(ControlErrorCode.INVALID_REQUEST, `Invalid request: ${msg}`, id) };
}

/**
 * The request id of a parsed message, or undefined when it is not one Binance accepts. A numeric id is
 * read from its token in the raw text: JSON.parse has already rounded it to a double. Only plain
 * unsigned digits up to 2^64-1 are ids (`1.0`, `1e3`, `-1` are refused, as an unsigned parser does).
 */
function readId(raw: unknown, text: string): ControlId | undefined {
  if (raw === null) return null;
  if (typeof raw === 'string') return ID_STRING_RE.test(raw) ? raw : undefined;
  if (typeof raw !== 'number') return undefined;
  const token = topLevelValueText(text, 'id');
  if (token === undefined || !UNSIGNED_RE.test(token)) return undefined;
  const id = BigInt(token);
  return id <= UINT64_MAX ? id : undefined;
}

/**
 * The raw text of the value of `key` in a JSON object text that JSON.parse accepted (so the scan may
 * assume valid JSON). The last occurrence wins, as it does for JSON.parse.
 */
export function topLevelValueText(text: string, key: string): string | undefined {
  let depth = 0;
  let found: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (depth === 1) {
        let j = end;
        while (j < text.length && /\s/.test(text[j] ?? '')) j++;
        if (text[j] === ':' && JSON.parse(text.slice(i, end)) === key) {
          j++;
          while (j < text.length && /\s/.test(text[j] ?? '')) j++;
          let k = j;
          while (k < text.length && /[-+.0-9eE]/.test(text[k] ?? '')) k++;
          if (k > j) found = text.slice(j, k);
        }
      }
      i = end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return found;
}

/** Index just past the string literal starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** "line L column C" of a character offset, 1-based like the server's JSON parser reports it. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return `line ${lines.length} column ${(lines.at(-1)?.length ?? 0) + 1}`;
}

function syntaxErrorOffset(text: string, error: unknown): number {
  const message = error instanceof Error ? error.message : '';
  const position = /at position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  if (message.includes('end of JSON')) return text.length;
  const token = /Unexpected token '(.)'/.exec(message);
  if (token?.[1] !== undefined) return Math.max(0, text.indexOf(token[1]));
  return 0;
}

/** Parses one incoming text frame. Never throws: bad input becomes the error reply to send. */
export function parseControlMessage(text: string): ParseResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const where = lineColumn(text, syntaxErrorOffset(text, error));
    return {
      ok: false,
      reply: errorReply(ControlErrorCode.INVALID_JSON, `Invalid JSON: expected value at ${where}`, null),
    };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid('expected a JSON object with `method`, `params` and `id`', null);
  }
  const message = body as Record<string, unknown>;
  const parsedId = readId(message['id'], text);
  const id = parsedId ?? null;
  if (!('method' in message))
    return invalid(`missing field \`method\` at ${lineColumn(text, text.trimEnd().length - 1)}`, id);
  const method = message['method'];
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
    const shown = typeof method === 'string' ? method : JSON.stringify(method);
    const at = /"method"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]*)/.exec(text);
    const offset = at ? at.index + at[0].length - 1 : 0;
    return invalid(
      `unknown variant \`${shown}\`, expected one of ${METHOD_LIST} at ${lineColumn(text, offset)}`,
      id,
    );
  }
  if (!('id' in message) || parsedId === undefined) {
    return invalid('request ID must be an unsigned integer', null);
  }
  return parseParams(method as (typeof METHODS)[number], message['params'], id);
}

function parseParams(method: (typeof METHODS)[number], params: unknown, id: ControlId): ParseResult {
  if (params !== undefined && !Array.isArray(params)) return invalid('`params` must be an array', id);
  const list: unknown[] = params ?? [];
  switch (method) {
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      if (params === undefined) return invalid('missing field `params`', id);
      if (!list.every(isValidStreamName)) return invalid('invalid stream', id);
      return { ok: true, request: { method, streams: list as string[], id } };
    }
    case 'LIST_SUBSCRIPTIONS':
      if (list.length > 0) return invalid('too many parameters', id);
      return { ok: true, request: { method, id } };
    case 'SET_PROPERTY':
    case 'GET_PROPERTY': {
      if (typeof list[0] !== 'string') return invalid('property name must be a string', id);
      if (list.length > (method === 'SET_PROPERTY' ? 2 : 1)) return invalid('too many parameters', id);
      if (list[0] !== 'combined') {
        return { ok: false, reply: errorReply(ControlErrorCode.UNKNOWN_PROPERTY, 'Unknown property', id) };
      }
      if (method === 'GET_PROPERTY') return { ok: true, request: { method, id } };
      if (typeof list[1] !== 'boolean') {
        return {
          ok: false,
          reply: errorReply(ControlErrorCode.INVALID_VALUE, 'Invalid value type: expected Boolean', id),
        };
      }
      return { ok: true, request: { method, value: list[1], id } };
    }
  }
}

/**
 * Carries out a parsed control request on a connection and returns Binance's reply: a refused SUBSCRIBE
 * answers code 2 with the target's message; the `combined` property is GET_PROPERTY / SET_PROPERTY.
 */
export function answerControl(request: ControlRequest, target: ControlTarget): string {
  switch (request.method) {
    case 'SUBSCRIBE': {
      const refused = target.subscribe(request.streams);
      if (refused !== undefined) return errorReply(ControlErrorCode.INVALID_REQUEST, refused, request.id);
      return resultReply(null, request.id);
    }
    case 'UNSUBSCRIBE':
      target.unsubscribe(request.streams);
      return resultReply(null, request.id);
    case 'LIST_SUBSCRIPTIONS':
      return resultReply(target.list(), request.id);
    case 'SET_PROPERTY':
      target.setCombined(request.value);
      return resultReply(null, request.id);
    case 'GET_PROPERTY':
      return resultReply(target.getCombined(), request.id);
  }
}
