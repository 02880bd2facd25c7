/**
 * The status page's HTTP routes: the page and its files (no token: they hold no data), the one-call
 * JSON `GET /api/ws/status` (metrics document + 15-minute history) and the event stream
 * `GET /api/ws/status/events` (the metrics document once a second). With METRICS_TOKEN set both data
 * routes require `Authorization: Bearer`, which is why the page reads the stream with fetch(), not
 * EventSource (EventSource cannot send headers, and a token in the URL would end up in logs).
 */
import type { HttpResponse } from '../http-response.js';
import { json, jsonError } from '../http-response.js';
import { snapshotEvent } from './event-stream.js';
import { assetResponse, STATUS_ASSET_PATHS } from './status-assets.js';
import type { StatusService } from './status-service.js';

export interface StatusRoute {
  readonly path: string;
  readonly name: 'status_page' | 'status' | 'status_events';
  /** True for the data routes: they take METRICS_TOKEN and the per-client rate limit. */
  readonly data: boolean;
  readonly handle: () => HttpResponse;
}

export function statusRoutes(status: StatusService): StatusRoute[] {
  const pages: StatusRoute[] = STATUS_ASSET_PATHS.map((path) => ({
    path,
    name: 'status_page',
    data: false,
    handle: () => assetResponse(path),
  }));
  return [
    ...pages,
    {
      path: '/api/ws/status',
      name: 'status',
      data: true,
      handle: () => json(200, { ...status.document(), history: status.history() }),
    },
    {
      path: '/api/ws/status/events',
      name: 'status_events',
      data: true,
      handle: () => eventsResponse(status),
    },
  ];
}

function eventsResponse(status: StatusService): HttpResponse {
  if (status.hub.full) {
    return jsonError(503, 'too many open status event streams', { 'retry-after': '5' });
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
    stream: (res) => status.hub.add(res, snapshotEvent(status.document())),
  };
}
