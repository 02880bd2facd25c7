/**
 * RxJS interop without depending on rxjs: a stream as a minimal Observable that rxjs `from()`
 * accepts (the `Symbol.observable` / `'@@observable'` interop protocol), or built with the caller's
 * own `Observable` constructor. Emits each event's payload; `error` ends it (rejected stream,
 * retries exhausted, manager destroyed). Gaps are not part of the Observable contract; use a
 * listener with `gap()` to see them.
 */

import { describeValue, ErrorCodes, InvalidArgumentError, invalidStreamError } from '../core/errors.js';
import type { StreamSource } from '../core/stream-source.js';
import { exchangeOf } from './default-exchange.js';

// The same declaration rxjs ships, so the interop key type-checks with or without rxjs installed.
declare global {
  interface SymbolConstructor {
    readonly observable: symbol;
  }
}

/** The observer shape shared by rxjs, zen-observable and the TC39 proposal. */
export interface StreamObserver<T = unknown> {
  next?(value: T): void;
  error?(error: unknown): void;
  complete?(): void;
}

export interface StreamSubscription {
  unsubscribe(): void;
  readonly closed: boolean;
}

/** A cold Observable of one stream: each `subscribe` makes one subscription on the source. */
export interface StreamObservable<T = unknown> {
  subscribe(observer?: StreamObserver<T> | ((value: T) => void)): StreamSubscription;
  /** The interop method rxjs `from()` looks for (`Symbol.observable` when defined, else `'@@observable'`). */
  [Symbol.observable](): StreamObservable<T>;
}

/** What `new Observable(fn)` accepts in rxjs and friends. */
export type ObservableConstructor<O> = new (
  subscribe: (subscriber: Required<Pick<StreamObserver, 'next' | 'error'>>) => () => void,
) => O;

/** The interop key rxjs looks for: `Symbol.observable` when defined, else the string '@@observable'. */
function interopKeys(): PropertyKey[] {
  const symbolObservable: symbol | undefined = Symbol.observable;
  return symbolObservable === undefined ? ['@@observable'] : [symbolObservable, '@@observable'];
}

function checkStream(source: StreamSource, stream: unknown): asserts stream is string {
  if (!exchangeOf(source).streams.isValid(stream)) {
    throw invalidStreamError(stream);
  }
}

function subscribeObserver(
  source: StreamSource,
  stream: string,
  observer: StreamObserver,
): StreamSubscription {
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  const subscription: StreamSubscription = {
    unsubscribe() {
      if (closed) return;
      closed = true;
      unsubscribe?.();
    },
    get closed() {
      return closed;
    },
  };
  try {
    unsubscribe = source.subscribe(stream, {
      next: (data) => {
        if (!closed) observer.next?.(data);
      },
      error: (err) => {
        if (closed) return;
        closed = true;
        observer.error?.(err);
      },
    });
  } catch (err) {
    closed = true;
    observer.error?.(err);
  }
  return subscription;
}

/**
 * `stream` of `source` as an Observable of payloads.
 * - Without `Observable`: a minimal Observable; pass it to rxjs `from()` to get a real one.
 * - With `Observable` (e.g. rxjs's): `new Observable(...)` of that library.
 * @throws InvalidArgumentError `WS_ERR_INVALID_STREAM` at once for a bad stream name.
 */
export function toObservable(source: StreamSource, stream: string): StreamObservable;
export function toObservable<O>(
  source: StreamSource,
  stream: string,
  Observable: ObservableConstructor<O>,
): O;
export function toObservable<O>(
  source: StreamSource,
  stream: string,
  Observable?: ObservableConstructor<O>,
): StreamObservable | O {
  checkStream(source, stream);
  if (Observable !== undefined) {
    if (typeof Observable !== 'function') {
      throw new InvalidArgumentError(
        ErrorCodes.INVALID_ARGUMENT,
        `toObservable: "Observable" must be a constructor such as rxjs's Observable; received ${describeValue(Observable)}`,
      );
    }
    return new Observable((subscriber) => {
      const subscription = subscribeObserver(source, stream, subscriber);
      return () => subscription.unsubscribe();
    });
  }
  const observable = {
    subscribe(observer?: StreamObserver | ((value: unknown) => void)) {
      const o: StreamObserver = typeof observer === 'function' ? { next: observer } : (observer ?? {});
      return subscribeObserver(source, stream, o);
    },
  };
  for (const key of interopKeys()) {
    Object.defineProperty(observable, key, { value: () => observable, enumerable: false });
  }
  return observable as StreamObservable;
}
