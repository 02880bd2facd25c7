/**
 * The checks every StreamSource makes on `subscribe()`, in one order so all sources refuse alike: a
 * destroyed source first, then a stream name outside the exchange's grammar, then a listener without
 * `next`. A plain function becomes the listener `{ next }`.
 */

import {
  describeValue,
  ErrorCodes,
  InvalidArgumentError,
  invalidStreamError,
  StreamError,
} from './errors.js';
import type { StreamListener } from './stream-source.js';

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
  listener: StreamListener | StreamListener['next'],
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
    return listener;
  throw new InvalidArgumentError(
    ErrorCodes.INVALID_ARGUMENT,
    `${source}.subscribe(${JSON.stringify(stream)}, listener): listener must be a function or an object with a next() method; received ${describeValue(listener)}`,
  );
}
