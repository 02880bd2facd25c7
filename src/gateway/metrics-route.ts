/**
 * `GET|HEAD /api/ws/metrics`: Prometheus text, OpenMetrics or JSON from the same registry.
 * Negotiation: `?format=prometheus|json` wins; without it, an Accept header asking for OpenMetrics or
 * `text/plain` (what Prometheus sends) gets text, and anything else (curl, browsers) gets JSON.
 */
import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import type { HealthVerdict, MetricsSnapshot, StreamSource } from '../core/stream-source.js';
import { type HttpResponse, json, jsonError } from '../http/http-response.js';
import { renderOpenMetrics } from '../http/open-metrics.js';
import type { StatusFields } from './status/status-fields.js';

/** What the gateway adds to the JSON `metrics` object. */
export interface GatewayStats {
  readonly clients: number;
  /** Highest `clients` since start. */
  readonly clientsHwm: number;
  readonly clientSubscriptions: number;
  readonly messagesSent: number;
  readonly slowClientDisconnects: number;
  readonly draining: boolean;
}

export interface MetricsRouteContext {
  readonly registry: Registry;
  readonly source: StreamSource;
  /** The gateway's verdict (the source's, or unhealthy while draining). */
  readonly verdict: () => HealthVerdict;
  readonly stats: () => GatewayStats;
  /** Adds the status page's figures (version, uptime, rates, connection rows, top streams). */
  readonly status?: { fields(): StatusFields };
}

/** The JSON representation: `jq '.metrics.activeConnections'` works. */
export interface MetricsDocument {
  readonly success: true;
  readonly timestamp: string;
  readonly metrics: Omit<MetricsSnapshot, 'healthReason'> &
    Partial<StatusFields> & {
      readonly healthReason: string | null;
      readonly gateway: GatewayStats;
    };
}

const FORMATS = ['prometheus', 'json'] as const;
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Representation = 'prometheus' | 'openmetrics' | 'json';

/**
 * Builds the GET representation. HEAD sends the same headers and replaces the status by the health
 * verdict (200 healthy, 503 unavailable); GET stays 200 so Prometheus keeps scraping an unhealthy process.
 */
export async function metricsResponse(
  ctx: MetricsRouteContext,
  req: IncomingMessage,
  url: URL,
  head: boolean,
): Promise<HttpResponse> {
  const format = url.searchParams.get('format');
  if (format !== null && !(FORMATS as readonly string[]).includes(format)) {
    return jsonError(400, `unknown format ${JSON.stringify(format)}: expected "prometheus" or "json"`);
  }
  const verdict = ctx.verdict();
  const status = head && !verdict.healthy ? 503 : 200;
  const representation = choose(format, req.headers.accept);
  if (representation === 'json') return json(status, metricsDocument(ctx, verdict));
  const body =
    representation === 'openmetrics' ? await renderOpenMetrics(ctx.registry) : await ctx.registry.metrics();
  const contentType = representation === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  return { status, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body };
}

function choose(format: string | null, accept: string | undefined): Representation {
  const wantsOpenMetrics = accept?.includes('application/openmetrics-text') ?? false;
  if (format === 'json') return 'json';
  if (format === 'prometheus') return wantsOpenMetrics ? 'openmetrics' : 'prometheus';
  if (wantsOpenMetrics) return 'openmetrics';
  if (accept?.includes('text/plain')) return 'prometheus';
  return 'json';
}

/** The JSON metrics document; the status page's event stream sends exactly this. */
export function metricsDocument(
  ctx: Pick<MetricsRouteContext, 'source' | 'verdict' | 'stats' | 'status'>,
  verdict: HealthVerdict = ctx.verdict(),
): MetricsDocument {
  const snapshot = ctx.source.getMetrics();
  const stats = ctx.stats();
  return {
    success: true,
    timestamp: new Date().toISOString(),
    metrics: {
      ...snapshot,
      isHealthy: verdict.healthy,
      healthReason: verdict.reason ?? null,
      gateway: stats,
      ...ctx.status?.fields(),
    },
  };
}
