/**
 * The status page's HTTP routes: the page and its files (no token: they hold no data), the one-call
 * JSON `GET /api/ws/status` (metrics document + 15-minute history) and the event stream
 * `GET /api/ws/status/events` (the metrics document once a second). With METRICS_TOKEN set both data
 * routes require `Authorization: Bearer`, which is why the page reads the stream with fetch(), not
 * EventSource (EventSource cannot send headers, and a token in the URL would end up in logs).
 */
import type { IncomingMessage } from 'node:http';
import type { HttpResponse } from '../../http/http-response.js';
import { json, jsonError } from '../../http/http-response.js';
import type { HttpRouter } from '../../http/http-router.js';
import { MAX_EVENT_STREAMS, MAX_EVENT_STREAMS_PER_ADDRESS, snapshotEvent } from './event-stream.js';
import { assetResponse, STATUS_ASSET_PATHS } from './status-assets.js';
import type { StatusService } from './status-service.js';

/**
 * Registers the page's files (GET and HEAD, open to all) and the two data routes (GET only, behind
 * `metricsToken` and the per-client rate limit).
 */
export function addStatusRoutes(
  router: HttpRouter,
  status: StatusService,
  metricsToken: string | undefined,
): void {
  for (const path of STATUS_ASSET_PATHS) {
    router.add(path, { name: 'status_page', methods: ['GET', 'HEAD'], handle: () => assetResponse(path) });
  }
  const data = (name: string, handle: (req: IncomingMessage) => HttpResponse) => ({
    name,
    methods: ['GET'],
    limited: () => true,
    token: () => metricsToken,
    handle,
  });
  router.add(
    '/api/ws/status',
    data('status', () => json(200, { ...status.document(), history: status.history() })),
  );
  router.add(
    '/api/ws/status/events',
    data('status_events', (req) => eventsResponse(status, req.socket.remoteAddress ?? 'unknown')),
  );
}

/** Seconds a refused page waits before it asks again. */
const RETRY_AFTER_S = '5';

function eventsResponse(status: StatusService, address: string): HttpResponse {
  const refusal = status.hub.refusal(address);
  if (refusal === 'address') {
    return jsonError(
      429,
      `too many open status event streams from your address: it already holds ${MAX_EVENT_STREAMS_PER_ADDRESS}, the most one address may; close another status page`,
      { 'retry-after': RETRY_AFTER_S },
    );
  }
  if (refusal === 'full') {
    return jsonError(
      503,
      `too many open status event streams: all ${MAX_EVENT_STREAMS} this gateway serves are in use`,
      { 'retry-after': RETRY_AFTER_S },
    );
  }
  return {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Stops proxies such as nginx from buffering the stream.
      'x-accel-buffering': 'no',
    },
    body: '',
    stream: (res) => status.hub.add(res, address, snapshotEvent(status.document())),
  };
}
