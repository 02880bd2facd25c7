/**
 * One `info` line per interval (a minute by default) saying what the gateway is doing, so an operator
 * reading the log sees life without Prometheus: clients, streams, and messages per second in from the
 * upstream and out to the clients over the interval.
 */
import type { Logger } from '../core/log.js';
import type { StreamSource } from '../core/stream-source.js';
import type { VenueSource } from './venue-health.js';

/** One other venue's market in the activity line. */
interface VenueActivity {
  readonly streams: number;
  readonly upstreamConnections: number;
  readonly messagesInPerSecond: number;
  readonly healthy: boolean;
}

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
  /** The other venues' messages received at the previous line, in the order of `venues`. */
  private readonly lastVenueIn: number[];

  constructor(
    private readonly source: StreamSource,
    private readonly counts: () => ActivityCounts,
    private readonly logger: Logger,
    intervalMs: number,
    private readonly now: () => number = Date.now,
    /** The venues served besides the source's (Bybit's markets): a `venues` field by `venue/market`. */
    private readonly venues: readonly VenueSource[] = [],
  ) {
    this.lastVenueIn = venues.map((v) => v.source.getMetrics().messagesReceived);
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
    const venues: Record<string, VenueActivity> = {};
    let venueText = '';
    this.venues.forEach(({ venue, market, source }, i) => {
      const m = source.getMetrics();
      const messagesInPerSecond = round((m.messagesReceived - (this.lastVenueIn[i] ?? 0)) / seconds);
      this.lastVenueIn[i] = m.messagesReceived;
      venues[`${venue}/${market}`] = {
        streams: m.activeStreams,
        upstreamConnections: m.activeConnections,
        messagesInPerSecond,
        healthy: m.isHealthy,
      };
      venueText += `; ${venue}/${market} ${m.activeStreams} streams, ${messagesInPerSecond} msgs/s in`;
    });
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
        ...(this.venues.length === 0 ? {} : { venues }),
      },
      `Gateway activity: ${counts.clients} clients, ${snapshot.activeStreams} streams, ` +
        `${inPerSecond} msgs/s in, ${outPerSecond} msgs/s out${venueText}`,
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
