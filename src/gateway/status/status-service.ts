/**
 * Feeds the status page: samples the gateway once a second into a 15-minute ring (900 samples, a few
 * tens of kilobytes whatever the load), works out message rates from the counters, and pushes the JSON
 * metrics document to every open event stream. Sampling runs whether or not a page is open: it reads
 * a few counters a second, far less than the traffic it describes, and the charts then have history as
 * soon as someone looks.
 */
import type { HealthVerdict, StreamSource } from '../../core/stream-source.js';
import { type MetricsDocument, metricsDocument } from '../../http/metrics-route.js';
import type { GatewayStats } from '../gateway-metrics.js';
import type { VenueFigures } from '../venue-health.js';
import { EventStreamHub, snapshotEvent } from './event-stream.js';
import { packageVersion } from './package-version.js';
import { RingBuffer } from './ring-buffer.js';
import { type Rates, type StatusFields, statusFields } from './status-fields.js';

/** What the gateway adds to the JSON metrics document: its clients, then the status figures. */
export type GatewayFields = { readonly gateway: GatewayStats } & StatusFields & {
    /** Each served venue's and market's figures (`venues.bybit.linear.activeConnections`). */
    readonly venues?: VenueFigures;
  };

/** 15 minutes at one sample a second. */
export const HISTORY_SAMPLES = 900;

export interface StatusServiceOptions {
  readonly source: StreamSource;
  readonly verdict: () => HealthVerdict;
  readonly stats: () => GatewayStats;
  /** Every venue's figures for the document; left out when not given. */
  readonly venues?: () => VenueFigures;
  /** @default 1000 */
  readonly sampleIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Lifetime of one event stream (see EventStreamHub). @default EVENT_STREAM_MAX_AGE_MS */
  readonly eventStreamMaxAgeMs?: number;
}

/** One chart point; each key but `t` is named after the document field it samples. */
interface Sample {
  readonly t: number;
  readonly clients: number;
  readonly activeConnections: number;
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
  readonly retryCount: number;
  readonly messageGaps: number;
}

/** The ring as columns (uPlot's data layout); `t` is epoch seconds. */
export type History = { readonly [K in keyof Sample]: number[] };

export class StatusService {
  readonly hub: EventStreamHub;
  readonly startedAt: number;
  private readonly version = packageVersion();
  private readonly ring = new RingBuffer<Sample>(HISTORY_SAMPLES);
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private rates: Rates = { messagesInPerSecond: 0, messagesOutPerSecond: 0 };
  private last: { at: number; received: number; sent: number } | undefined;

  constructor(private readonly options: StatusServiceOptions) {
    this.now = options.now ?? Date.now;
    this.hub = new EventStreamHub(this.now, options.eventStreamMaxAgeMs);
    this.startedAt = this.now();
    this.timer = setInterval(() => this.tick(), options.sampleIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** The status figures of the JSON metrics document at `now`. */
  fields(now: number = this.now()): StatusFields {
    return statusFields(
      this.options.source,
      { version: this.version, startedAt: this.startedAt, rates: this.rates },
      now,
    );
  }

  /** The gateway's part of the JSON metrics document. */
  documentFields(): GatewayFields {
    const { venues } = this.options;
    return {
      gateway: this.options.stats(),
      ...this.fields(),
      ...(venues === undefined ? {} : { venues: venues() }),
    };
  }

  /** The JSON metrics document (what `GET /api/ws/metrics?format=json` answers). */
  document(): MetricsDocument<GatewayFields> {
    return metricsDocument({
      source: this.options.source,
      verdict: this.options.verdict,
      extra: () => this.documentFields(),
    });
  }

  history(): History {
    const samples = this.ring.toArray();
    const column = (key: keyof Sample) => samples.map((s) => s[key]);
    return {
      t: column('t'),
      clients: column('clients'),
      activeConnections: column('activeConnections'),
      messagesInPerSecond: column('messagesInPerSecond'),
      messagesOutPerSecond: column('messagesOutPerSecond'),
      retryCount: column('retryCount'),
      messageGaps: column('messageGaps'),
    };
  }

  /**
   * Takes one sample and pushes the document to the open event streams. The sample reads the counters
   * alone; the document, which lists streams and connections, is built only when a page is open.
   */
  tick(): void {
    const at = this.now();
    const m = this.options.source.getMetrics();
    const stats = this.options.stats();
    const received = m.messagesReceived;
    const sent = stats.messagesSent;
    if (this.last !== undefined && at > this.last.at) {
      const seconds = (at - this.last.at) / 1000;
      this.rates = {
        messagesInPerSecond: Math.max(0, Math.round((received - this.last.received) / seconds)),
        messagesOutPerSecond: Math.max(0, Math.round((sent - this.last.sent) / seconds)),
      };
    }
    this.last = { at, received, sent };
    this.ring.push({
      t: Math.floor(at / 1000),
      clients: stats.clients,
      activeConnections: m.activeConnections,
      messagesInPerSecond: this.rates.messagesInPerSecond,
      messagesOutPerSecond: this.rates.messagesOutPerSecond,
      retryCount: m.retryCount ?? 0,
      messageGaps: m.messageGaps,
    });
    if (this.hub.size > 0) this.hub.broadcast(snapshotEvent(this.document()));
  }

  close(): void {
    clearInterval(this.timer);
    this.hub.closeAll();
  }
}
