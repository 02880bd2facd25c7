/**
 * A stream as an async iterator of payloads (`for await (const trade of ...)`), with a bounded
 * buffer between the socket and a consumer that may be slower than the stream.
 *
 * Overflow, when `bufferSize` events wait unconsumed:
 * - 'error' (default): the subscription ends; the buffered events are still yielded, then the loop
 *   throws a StreamError `WS_ERR_ITERATOR_OVERFLOW`, so a consumer that fell behind learns it.
 * - 'drop-oldest': the oldest buffered event is discarded; `dropped` counts them.
 */

import {
  describeValue,
  ErrorCodes,
  InvalidArgumentError,
  invalidStreamError,
  StreamError,
} from '../core/errors.js';
import type { StreamSource, Unsubscribe } from '../core/stream-source.js';
import { exchangeOf } from './default-exchange.js';

export interface StreamIteratorOptions {
  /** Events buffered for a consumer that is behind. @default 1024 */
  bufferSize?: number;
  /** @default 'error' */
  overflow?: 'error' | 'drop-oldest';
  /** Ends the iteration (the loop simply finishes) when aborted. */
  signal?: AbortSignal;
}

export class StreamIterator implements AsyncIterableIterator<unknown> {
  /** Events discarded under the 'drop-oldest' policy. */
  dropped = 0;
  private readonly buffer: unknown[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<unknown>) => void) | undefined;
  private failWaiting: ((error: unknown) => void) | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private started = false;
  private done = false;
  private failure: unknown;
  private readonly bufferSize: number;
  private readonly overflow: 'error' | 'drop-oldest';
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.finish(undefined);

  constructor(
    private readonly source: StreamSource,
    private readonly stream: string,
    options: StreamIteratorOptions = {},
  ) {
    if (!exchangeOf(source).streams.isValid(stream)) {
      throw invalidStreamError(stream);
    }
    const size = options.bufferSize ?? 1024;
    if (!Number.isInteger(size) || size < 1) {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `Iterator option "bufferSize" must be a positive integer; received ${describeValue(size)}`,
      );
    }
    const overflow = options.overflow ?? 'error';
    if (overflow !== 'error' && overflow !== 'drop-oldest') {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_OPTION,
        `Iterator option "overflow" must be "error" or "drop-oldest"; received ${describeValue(overflow)}`,
      );
    }
    this.bufferSize = size;
    this.overflow = overflow;
    this.signal = options.signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (!this.started) this.start();
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head];
      this.buffer[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.buffer.length) {
        this.buffer.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    this.finish(undefined);
    this.buffer.length = 0;
    this.head = 0;
    this.failure = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  private start(): void {
    this.started = true;
    if (this.signal?.aborted) {
      this.done = true;
      return;
    }
    try {
      this.unsubscribe = this.source.subscribe(this.stream, {
        next: (data) => this.push(data),
        error: (err) => this.finish(err),
      });
    } catch (err) {
      this.finish(err);
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private push(data: unknown): void {
    if (this.done) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      this.failWaiting = undefined;
      waiting({ value: data, done: false });
      return;
    }
    if (this.buffer.length - this.head >= this.bufferSize) {
      if (this.overflow === 'drop-oldest') {
        this.buffer[this.head++] = undefined;
        this.dropped++;
      } else {
        this.finish(
          new StreamError(
            ErrorCodes.ITERATOR_OVERFLOW,
            this.stream,
            `Iterator of ${this.stream} overflowed: ${this.bufferSize} events were waiting for the consumer`,
          ),
        );
        return;
      }
    }
    this.buffer.push(data);
  }

  private finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const waiting = this.waiting;
    const failWaiting = this.failWaiting;
    this.waiting = undefined;
    this.failWaiting = undefined;
    if (error === undefined) waiting?.({ value: undefined, done: true });
    else if (failWaiting !== undefined) failWaiting(error);
    else this.failure = error;
  }
}
