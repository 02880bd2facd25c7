/**
 * Every served venue's source in one verdict and one JSON block: a gateway is healthy only when each
 * enabled venue's upstream is, and the reason names the venues that are not.
 */
import type { HealthVerdict, MetricsSnapshot, StreamSource } from '../core/stream-source.js';

/** A source and the venue and market it serves (`bybit`, `linear`). */
export interface VenueSource {
  readonly venue: string;
  readonly market: string;
  readonly source: StreamSource;
}

/** One market's figures in the JSON document: the source's snapshot with `healthReason` as null when healthy. */
export type VenueMarketFigures = Omit<MetricsSnapshot, 'healthReason'> & {
  readonly healthReason: string | null;
};

/** `metrics.venues` of the JSON document: `venues.bybit.linear.activeConnections`. */
export type VenueFigures = Record<string, Record<string, VenueMarketFigures>>;

/**
 * The gateway's verdict: the Binance source's (its reason unchanged, as before other venues were served),
 * then each other venue's, its reason prefixed with `venue/market` so an operator sees which upstream.
 */
export function foldVerdicts(primary: HealthVerdict, others: readonly VenueSource[]): HealthVerdict {
  let reason = primary.healthy ? undefined : primary.reason;
  let healthy = primary.healthy;
  for (const { venue, market, source } of others) {
    const verdict = source.health();
    if (verdict.healthy) continue;
    healthy = false;
    const named = `${venue}/${market}: ${verdict.reason ?? 'unhealthy'}`;
    reason = reason === undefined ? named : `${reason}; ${named}`;
  }
  return healthy ? primary : { healthy, reason };
}

/** Each venue's and market's figures, the Binance source's included. */
export function venueFigures(sources: readonly VenueSource[]): VenueFigures {
  const figures: VenueFigures = {};
  for (const { venue, market, source } of sources) {
    const snapshot = source.getMetrics();
    const markets = figures[venue] ?? {};
    markets[market] = { ...snapshot, healthReason: snapshot.healthReason ?? null };
    figures[venue] = markets;
  }
  return figures;
}
