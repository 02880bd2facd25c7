/**
 * What a well-formed answer of each of Binance's forwarded market-data calls looks like ("Market Data
 * endpoints"), and how many bytes of it the gateway reads at most: the exchange's largest real answers
 * are a fraction of that (a full `exchangeInfo` is a few MiB; 1000 trades or klines a few hundred KiB).
 */
import type { AnswerRule } from '../dialect.js';

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
