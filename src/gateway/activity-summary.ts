/**
 * One `info` line per interval (a minute by default) saying what the gateway is doing, so an operator
 * reading the log sees life without Prometheus: clients, streams, and messages per second in from the
 * upstream and out to the clients over the interval.
 */
import type { Logger } from '../core/log.js';
import type { StreamSource } from '../core/stream-source.js';

export interface ActivityCounts {
  readonly clients: number;
  /** Client subscriptions (a stream held by two clients counts twice). */
  readonly subscriptions: number;
  /** Frames sent to clients since start. */
  readonly messagesSent: number;
}

export class ActivitySummary {
  private readonly timer: NodeJS.Timeout;
  private lastAt: number;
  private lastIn: number;
  private lastOut: number;

  constructor(
    private readonly source: StreamSource,
    private readonly counts: () => ActivityCounts,
    private readonly logger: Logger,
    intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAt = now();
    this.lastIn = source.getMetrics().messagesReceived;
    this.lastOut = counts().messagesSent;
    this.timer = setInterval(() => this.log(), intervalMs);
    this.timer.unref();
  }

  /** Logs the line for the time since the previous one. */
  log(): void {
    const at = this.now();
    const snapshot = this.source.getMetrics();
    const counts = this.counts();
    const seconds = Math.max(0.001, (at - this.lastAt) / 1000);
    const inPerSecond = round((snapshot.messagesReceived - this.lastIn) / seconds);
    const outPerSecond = round((counts.messagesSent - this.lastOut) / seconds);
    this.lastAt = at;
    this.lastIn = snapshot.messagesReceived;
    this.lastOut = counts.messagesSent;
    this.logger.info(
      {
        clients: counts.clients,
        subscriptions: counts.subscriptions,
        streams: snapshot.activeStreams,
        idleStreams: snapshot.idleStreams,
        upstreamConnections: snapshot.activeConnections,
        messagesInPerSecond: inPerSecond,
        messagesOutPerSecond: outPerSecond,
        healthy: snapshot.isHealthy,
      },
      `Gateway activity: ${counts.clients} clients, ${snapshot.activeStreams} streams, ` +
        `${inPerSecond} msgs/s in, ${outPerSecond} msgs/s out`,
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
