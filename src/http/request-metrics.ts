/** The HTTP requests counter every role's router counts into. */
import { Counter, type Registry } from 'prom-client';

/** `ws_gateway_http_requests_total` (the name predates the ingest role, which counts into it too). */
export function httpRequestsCounter(registry: Registry): Counter<'route' | 'status'> {
  return new Counter({
    name: 'ws_gateway_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
}
