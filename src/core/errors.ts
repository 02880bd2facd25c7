/**
 * Errors with stable codes, and the helpers that build their messages. Users match on `code`;
 * docs/errors.md lists the codes (a test keeps the two in sync, and finds codes written elsewhere).
 */

export const ErrorCodes = {
  /** A stream name outside the Binance grammar (or not lowercase). */
  INVALID_STREAM: 'WS_ERR_INVALID_STREAM',
  /** An option of the wrong type or out of range. */
  INVALID_OPTION: 'WS_ERR_INVALID_OPTION',
  /** A function argument (other than a stream name or an option) of the wrong type, e.g. a listener that is not a function. */
  INVALID_ARGUMENT: 'WS_ERR_INVALID_ARGUMENT',
  /** The exchange answered a SUBSCRIBE with an error for this stream. */
  SUBSCRIBE_REJECTED: 'WS_ERR_SUBSCRIBE_REJECTED',
  /** Reconnection gave up after the configured number of attempts. */
  RETRIES_EXHAUSTED: 'WS_ERR_RETRIES_EXHAUSTED',
  /** The manager was destroyed while the subscription was open, or used after destroy(). */
  DESTROYED: 'WS_ERR_DESTROYED',
  /** An async iterator's buffer filled up because its consumer fell behind (overflow policy 'error'). */
  ITERATOR_OVERFLOW: 'WS_ERR_ITERATOR_OVERFLOW',
  /** A configuration value (environment variable or flag) is not valid. */
  INVALID_CONFIG: 'WS_ERR_INVALID_CONFIG',
  /** The gateway's clients together hold MAX_UPSTREAM_STREAMS streams: a new one would pass the cap. */
  UPSTREAM_STREAM_CAP: 'WS_ERR_UPSTREAM_STREAM_CAP',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The base of every error with a code. `InvalidArgumentError` stays a `TypeError` (Node's convention
 * for a bad argument, and documented as such), so it cannot extend this class; `instanceof
 * WsManagerError` holds for it all the same.
 */
export class WsManagerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WsManagerError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    const ordinary = Function.prototype[Symbol.hasInstance];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class asked about; subclasses inherit this method
    return ordinary.call(this, value) || (this === WsManagerError && value instanceof InvalidArgumentError);
  }
}

/** A bad argument or option: thrown synchronously at the call that received it. */
export class InvalidArgumentError extends TypeError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
    this.code = code;
  }
}

/** Ends a subscription without the subscriber asking (delivered to `StreamListener.error`). */
export class StreamError extends WsManagerError {
  readonly stream: string;
  constructor(code: ErrorCode, stream: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StreamError';
    this.stream = stream;
  }
}

/** A configuration value that cannot be used; its message names the variable, the value and what is expected. */
export class ConfigError extends WsManagerError {
  constructor(message: string) {
    super(ErrorCodes.INVALID_CONFIG, message);
    this.name = 'ConfigError';
  }
}

/** The error every stream source throws for a name outside the Binance grammar. */
export function invalidStreamError(stream: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    ErrorCodes.INVALID_STREAM,
    `Invalid stream name ${describeValue(stream)}: expected a lowercase Binance market stream such as "btcusdt@trade", "ethusdt@depth@100ms" or "!miniTicker@arr"`,
  );
}

/** Longest quote of a value in a message: an error stays one readable line whatever was passed. */
const MAX_DESCRIBED = 120;

/** A value as an error message quotes it: strings quoted, objects as JSON, functions by kind. */
export function describeValue(value: unknown): string {
  const text = quote(value);
  return text.length > MAX_DESCRIBED ? `${text.slice(0, MAX_DESCRIBED)}…` : text;
}

function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
