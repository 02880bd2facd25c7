/**
 * Records what happens in a manager twice: in the prom-client metrics (`ManagerMetrics`, read by
 * scrapes) and in plain numbers (read synchronously by `getMetrics()`; prom-client reads are async).
 */
import { Counter, type Registry } from 'prom-client';
import {
  type CleanupReason,
  type ErrorReason,
  ManagerMetrics,
  type RefillFailureReason,
} from '../metrics/manager-metrics.js';

export class ManagerStats {
  readonly metrics: ManagerMetrics;
  /** `ws_manager_sequence_resets_total`: WSManager's own operator metric, beside the shared ones. */
  readonly sequenceResetsCounter: Counter;
  retries = 0;
  creations = 0;
  cleanups = 0;
  messages = 0;
  gaps = 0;
  missed = 0;
  sequenceResets = 0;
  refills = 0;
  refilledEvents = 0;
  refillFailures = 0;
  errors = 0;
  readonly errorsByReason = new Map<ErrorReason, number>();
  readonly cleanupsByReason = new Map<CleanupReason, number>();
  private connections = 0;

  constructor(registry: Registry) {
    this.metrics = new ManagerMetrics(registry, 'WSManager');
    this.sequenceResetsCounter = new Counter({
      name: 'ws_manager_sequence_resets_total',
      help: 'Streams whose sequence ids went back after a reconnect (upstream restarted); tracking restarted',
      registers: [registry],
    });
  }

  get activeConnections(): number {
    return this.connections;
  }

  get activeConnectionsHwm(): number {
    return this.metrics.activeConnectionsHighWaterMark;
  }

  setActiveConnections(n: number): void {
    this.connections = n;
    this.metrics.setActiveConnections(n);
  }

  retried(): void {
    this.retries++;
    this.metrics.retryCount.inc();
  }

  created(): void {
    this.creations++;
    this.metrics.streamCreations.inc();
  }

  cleanedUp(reason: CleanupReason): void {
    this.cleanups++;
    this.cleanupsByReason.set(reason, (this.cleanupsByReason.get(reason) ?? 0) + 1);
    this.metrics.cleanedUp(reason);
  }

  message(): void {
    this.messages++;
    this.metrics.messagesReceived.inc();
  }

  gap(missed: number): void {
    this.gaps++;
    this.missed += missed;
    this.metrics.messageGaps.inc();
    this.metrics.missedMessages.inc(missed);
  }

  refilled(events: number): void {
    this.refills++;
    this.refilledEvents += events;
    this.metrics.refills.inc();
    this.metrics.refilledEvents.inc(events);
  }

  refillFailed(reason: RefillFailureReason): void {
    this.refillFailures++;
    this.metrics.refillFailures.inc({ reason });
  }

  sequenceReset(): void {
    this.sequenceResets++;
    this.sequenceResetsCounter.inc();
  }

  error(reason: ErrorReason): void {
    this.errors++;
    this.errorsByReason.set(reason, (this.errorsByReason.get(reason) ?? 0) + 1);
    this.metrics.error(reason);
  }

  streams(active: number, idle: number, subscribers: number): void {
    this.metrics.activeStreams.set(active);
    this.metrics.idleStreams.set(idle);
    this.metrics.subscribers.set(subscribers);
  }
}
