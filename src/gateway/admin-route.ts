/**
 * Admin API (enabled only when ADMIN_TOKEN is set): `GET /api/ws/admin/streams` lists the streams held
 * upstream, `POST /api/ws/admin/cleanup?idleMs=N` releases streams idle for at least N ms now.
 */
import type { StreamSource } from '../core/stream-source.js';
import { type HttpResponse, json, jsonError } from '../http/http-response.js';
import type { HttpRouter } from '../http/http-router.js';

/** Registers both admin routes, each behind `adminToken` and the per-address rate limit. */
export function addAdminRoutes(router: HttpRouter, source: StreamSource, adminToken: string): void {
  const token = () => adminToken;
  const limited = () => true;
  router.add('/api/ws/admin/streams', {
    name: 'admin_streams',
    methods: ['GET'],
    limited,
    token,
    handle: () => adminStreamsResponse(source),
  });
  router.add('/api/ws/admin/cleanup', {
    name: 'admin_cleanup',
    methods: ['POST'],
    limited,
    token,
    handle: (_req, url) => adminCleanupResponse(source, url),
  });
}

export function adminStreamsResponse(source: StreamSource, now: number = Date.now()): HttpResponse {
  const streams = source.listStreams().map((s) => ({
    stream: s.stream,
    subscribers: s.subscribers,
    connection: s.connection ?? null,
    lastMessageAt: s.lastMessageAt === undefined ? null : new Date(s.lastMessageAt).toISOString(),
    lastMessageAgeMs: s.lastMessageAt === undefined ? null : Math.max(0, now - s.lastMessageAt),
    idleMs: s.idleMs ?? null,
    messages: s.messages,
  }));
  return json(200, { success: true, implementation: source.implementation, count: streams.length, streams });
}

export function adminCleanupResponse(source: StreamSource, url: URL): HttpResponse {
  const raw = url.searchParams.get('idleMs');
  let idleMs = 0;
  if (raw !== null) {
    if (!/^\d{1,12}$/.test(raw)) {
      return jsonError(400, `idleMs=${JSON.stringify(raw)} is not valid: expected a non-negative integer`);
    }
    idleMs = Number(raw);
  }
  const released = source.forceCleanupIdleStreams(idleMs);
  return json(200, { success: true, released, idleMs });
}
