/**
 * `GET|HEAD /api/ws/metrics`: Prometheus text, OpenMetrics or JSON from the same registry.
 * Negotiation: `?format=prometheus|json` wins; without it, an Accept header asking for OpenMetrics or
 * `text/plain` (what Prometheus sends) gets text, and anything else (curl, browsers) gets JSON.
 */
import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import type { HealthVerdict, MetricsSnapshot, StreamSource } from '../core/stream-source.js';
import { type HttpResponse, json, jsonError } from './http-response.js';
import type { HttpRouter } from './http-router.js';
import { renderOpenMetrics } from './open-metrics.js';

export interface MetricsRouteContext<Extra extends object = object> {
  readonly registry: Registry;
  readonly source: StreamSource;
  /** The role's verdict (the gateway's is the source's, or unhealthy while draining). */
  readonly verdict: () => HealthVerdict;
  /** What the role adds to the JSON `metrics` object (the gateway: its clients and the status figures). */
  readonly extra?: () => Extra;
}

/** The JSON representation: `jq '.metrics.activeConnections'` works. */
export interface MetricsDocument<Extra extends object = object> {
  readonly success: true;
  readonly timestamp: string;
  readonly metrics: Omit<MetricsSnapshot, 'healthReason'> & {
    readonly healthReason: string | null;
  } & Extra;
}

const FORMATS = ['prometheus', 'json'] as const;
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Representation = 'prometheus' | 'openmetrics' | 'json';

/**
 * Registers `/api/ws/metrics`: GET spends the rate limit, HEAD (the health probe) does not and stays
 * open for load balancers; every other method, allowed or not, needs `token` when one is set.
 */
export function addMetricsRoute(
  router: HttpRouter,
  ctx: MetricsRouteContext,
  token: string | undefined,
): void {
  router.add('/api/ws/metrics', {
    name: 'metrics',
    methods: ['GET', 'HEAD'],
    limited: (method) => method === 'GET',
    token: (method) => (method === 'HEAD' ? undefined : token),
    handle: (req, url, head) => metricsResponse(ctx, req, url, head),
  });
}

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
export function metricsDocument<Extra extends object>(
  ctx: Pick<MetricsRouteContext<Extra>, 'source' | 'verdict' | 'extra'>,
  verdict: HealthVerdict = ctx.verdict(),
): MetricsDocument<Extra> {
  const snapshot = ctx.source.getMetrics();
  return {
    success: true,
    timestamp: new Date().toISOString(),
    metrics: {
      ...snapshot,
      isHealthy: verdict.healthy,
      healthReason: verdict.reason ?? null,
      ...(ctx.extra?.() as Extra),
    },
  };
}
