/**
 * The checks every StreamSource makes on `subscribe()`, in one order so all sources refuse alike: a
 * destroyed source first, then a stream name outside the exchange's grammar, then a listener without
 * `next`. A plain function becomes the listener `{ next }`, a `FrameListener` a `FrameSubscriber`, so
 * every source delivers with the one call `next(data, message)`.
 */

import {
  describeValue,
  ErrorCodes,
  InvalidArgumentError,
  invalidStreamError,
  StreamError,
} from './errors.js';
import type { FrameListener, GapEvent, Listener, StreamListener, StreamMessage } from './stream-source.js';

/**
 * The listener of a valid subscription of `source` (its name in the errors), normalised; `streams` is
 * the exchange's stream grammar (its `StreamCodec`).
 * @throws StreamError `WS_ERR_DESTROYED` after destroy(), InvalidArgumentError `WS_ERR_INVALID_STREAM`
 *   for a name outside the grammar, `WS_ERR_INVALID_ARGUMENT` for a listener without `next`.
 */
export function subscriberOf(
  source: string,
  destroyed: boolean,
  streams: { isValid(name: unknown): boolean },
  stream: string,
  listener: Listener,
): StreamListener {
  if (destroyed) {
    throw new StreamError(
      ErrorCodes.DESTROYED,
      String(stream),
      `${source}.subscribe() called after destroy()`,
    );
  }
  if (!streams.isValid(stream)) throw invalidStreamError(stream);
  if (typeof listener === 'function') return { next: listener };
  if (typeof listener === 'object' && listener !== null && typeof listener.next === 'function')
    return listener.frames === true ? new FrameSubscriber(listener) : listener;
  throw new InvalidArgumentError(
    ErrorCodes.INVALID_ARGUMENT,
    `${source}.subscribe(${JSON.stringify(stream)}, listener): listener must be a function or an object with a next() method; received ${describeValue(listener)}`,
  );
}

/**
 * A `FrameListener` called as a `StreamListener`: the payload argument is dropped (it is undefined
 * when the source did not parse it), the message passed on as the frame it also is.
 */
export class FrameSubscriber implements StreamListener {
  readonly recovery?: 'backfill' | 'report';

  constructor(private readonly listener: FrameListener) {
    if (listener.recovery !== undefined) this.recovery = listener.recovery;
  }

  next(_data: unknown, message: StreamMessage): void {
    this.listener.next(message);
  }

  gap(gap: GapEvent): void {
    this.listener.gap?.(gap);
  }

  error(error: StreamError): void {
    this.listener.error?.(error);
  }
}

/** Whether a listener `subscriberOf` returned reads the events' payloads (false for a `FrameListener`). */
export function readsPayload(listener: StreamListener): boolean {
  return !(listener instanceof FrameSubscriber);
}
