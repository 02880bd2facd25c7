/**
 * Binance's spot protocol as the gateway serves it: the upgrade paths (connection-path.ts), the live
 * control messages (control-protocol.ts) and the public market-data REST API under `/api/v3/`
 * (rest-query.ts, rest-limits.ts), gathered behind the gateway's Dialect.
 */
import type { Dialect } from '../dialect.js';
import { CONNECTION_PATHS, parseConnectionPath } from './connection-path.js';
import { answerControl, parseControlMessage } from './control-protocol.js';
import { binance } from './index.js';
import { answerRule, CLOCK, KEPT_MS, LOCAL_ANSWERS, symbolInfo } from './rest-answers.js';
import { BINANCE_CONTENT_TYPE, DEPTH_MAX_LIMIT, type RestErrorBody, RestErrors } from './rest-limits.js';
import { depthLimit, queryError, REST_ENDPOINTS, type RestEndpoint, requestWeight } from './rest-query.js';
import { BINANCE_WEIGHT_ANSWERS, BINANCE_WEIGHT_BUDGET } from './weight-budget.js';

export type BinanceEndpoint = RestEndpoint;

/** Binance's answer when it cannot serve a request (docs "Error codes": -1001 DISCONNECTED). */
const INTERNAL_ERROR: RestErrorBody = Object.freeze({
  code: -1001,
  msg: 'Internal error; unable to process your request. Please try again.',
});

/** Binance's answer when it is too busy to serve a request (docs "Error codes": -1008 SERVER_BUSY). */
const SERVER_BUSY: RestErrorBody = Object.freeze({
  code: -1008,
  msg: 'Server is currently overloaded with other requests. Please try again in a few minutes.',
});

/** Binance's error body `{"code":-1121,"msg":"Invalid symbol."}`. */
function isErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { code, msg } = body as { code?: unknown; msg?: unknown };
  return typeof code === 'number' && typeof msg === 'string';
}

export const binanceDialect: Dialect<BinanceEndpoint> = {
  webSocketPaths: CONNECTION_PATHS,
  connectionPath: parseConnectionPath,
  clientLimits: binance.limits,
  answerControl(text, target) {
    const parsed = parseControlMessage(text);
    return parsed.ok ? answerControl(parsed.request, target) : parsed.reply;
  },
  rest: {
    prefix: '/api/v3/',
    endpoints: REST_ENDPOINTS,
    contentType: BINANCE_CONTENT_TYPE,
    weight: requestWeight,
    queryError,
    answerRule,
    localAnswers: LOCAL_ANSWERS,
    clock: CLOCK,
    keptMs: KEPT_MS,
    symbolInfo,
    clientBudget: BINANCE_WEIGHT_BUDGET,
    weightAnswers: BINANCE_WEIGHT_ANSWERS,
    depthLimit,
    depthMaxLimit: DEPTH_MAX_LIMIT,
    isError: isErrorBody,
    errors: {
      unknownPath: RestErrors.unknownPath,
      tooMuchWeight: RestErrors.tooMuchWeight,
      internal: INTERNAL_ERROR,
      busy: SERVER_BUSY,
      // The code of Binance's answer to a path it does not serve, with a message that says why.
      unavailable: (message) => ({ code: -5000, msg: message }),
    },
  },
};
