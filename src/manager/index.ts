/**
 * The public surface of the WSManager library. Everything not exported here is internal.
 */

export type {
  BookLevel as OrderBookLevel,
  OrderBookListener,
  OrderBookView,
  ResyncNotice,
} from '../core/capabilities.js';
export {
  ConfigError,
  type ErrorCode,
  ErrorCodes,
  InvalidArgumentError,
  StreamError,
  WsManagerError,
} from '../core/errors.js';
export type {
  FrameListener,
  GapEvent,
  HealthVerdict,
  MetricsSnapshot,
  StreamFrame,
  StreamInfo,
  StreamListener,
  StreamMessage,
  StreamSource,
  Unsubscribe,
} from '../core/stream-source.js';
export { type BackoffPolicy, backoffDelay } from './backoff.js';
export {
  type ObservableConstructor,
  type StreamObservable,
  type StreamObserver,
  type StreamSubscription,
  toObservable,
} from './observable.js';
export {
  type ConnectionAttemptOptions,
  DEFAULTS,
  type PacingOptions,
  type RetryOptions,
  type WSManagerOptions,
} from './options.js';
export { StreamIterator, type StreamIteratorOptions } from './stream-iterator.js';
export {
  type BookUpdate,
  type BookUpdateListener,
  type TradeListener,
  type VenueBooksOptions,
  type VenueSelection,
  type VenueStats,
  type VenueStream,
  Venues,
  type VenuesOptions,
  type VenueTradesOptions,
} from './venues.js';
export { WSManager } from './ws-manager.js';
