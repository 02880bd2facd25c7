/**
 * How the gateway answers Binance's market-data calls other than `depth` ("Market Data endpoints"): what
 * a well-formed answer of each forwarded call looks like, and how many bytes of it the gateway reads at
 * most (the exchange's largest real answers are a fraction of that: a full `exchangeInfo` is a few MiB,
 * 1000 trades or klines a few hundred KiB); `ping` answered by the gateway itself; `time` from its own
 * clock plus the exchange's measured offset; `exchangeInfo` kept a minute per query (an unknown symbol's
 * -1121 as well), so its `serverTime` is as old as the copy.
 */
import type { AnswerRule, ClockCall } from '../dialect.js';
import type { RestEndpoint } from './rest-query.js';

const LIST_MAX_BYTES = 4 << 20;

const ANSWER_RULES: Readonly<Record<string, AnswerRule>> = {
  time: { maxBytes: 64 << 10, wellFormed: (b) => isRecord(b) && Number.isFinite(b.serverTime) },
  exchangeInfo: {
    maxBytes: 16 << 20,
    wellFormed: (b) => isRecord(b) && typeof b.timezone === 'string' && Array.isArray(b.symbols),
  },
  trades: { maxBytes: LIST_MAX_BYTES, wellFormed: (b) => Array.isArray(b) && b.every(isRecord) },
  aggTrades: { maxBytes: LIST_MAX_BYTES, wellFormed: (b) => Array.isArray(b) && b.every(isRecord) },
  klines: {
    maxBytes: LIST_MAX_BYTES,
    wellFormed: (b) => Array.isArray(b) && b.every((k) => Array.isArray(k)),
  },
};

/** A call that is not forwarded (`ping` is answered by the gateway, `depth` from its books): accept nothing. */
const NO_ANSWER: AnswerRule = { maxBytes: 0, wellFormed: () => false };

export function answerRule(endpoint: string): AnswerRule {
  return Object.hasOwn(ANSWER_RULES, endpoint) ? (ANSWER_RULES[endpoint] as AnswerRule) : NO_ANSWER;
}

export const LOCAL_ANSWERS: ReadonlyMap<RestEndpoint, string> = new Map([['ping', '{}']]);

/** `GET /api/v3/time`: `{"serverTime":<epoch ms>}`. */
export const CLOCK: ClockCall<RestEndpoint> = {
  endpoint: 'time',
  refreshMs: 60_000,
  timeOf: (body) => (JSON.parse(body) as { serverTime: number }).serverTime,
  answer: (ms) => `{"serverTime":${Math.round(ms)}}`,
};

export const KEPT_MS: ReadonlyMap<RestEndpoint, number> = new Map([['exchangeInfo', 60_000]]);

export function symbolInfo(symbol: string): { readonly endpoint: RestEndpoint; readonly search: string } {
  return { endpoint: 'exchangeInfo', search: `?symbol=${encodeURIComponent(symbol)}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
