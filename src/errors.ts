/**
 * Errors with stable codes. Users match on `code`; docs/errors.md lists them (a test keeps the two in sync).
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
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

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
export class StreamError extends Error {
  readonly code: ErrorCode;
  readonly stream: string;
  constructor(code: ErrorCode, stream: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StreamError';
    this.code = code;
    this.stream = stream;
  }
}

/** A configuration value that cannot be used; its message names the variable, the value and what is expected. */
export class ConfigError extends Error {
  readonly code = ErrorCodes.INVALID_CONFIG;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
