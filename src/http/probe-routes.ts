/** `GET|HEAD /healthz` (the process answers) and `/readyz` (the role's verdict): never limited or guarded. */
import type { HealthVerdict } from '../core/stream-source.js';
import { json } from './http-response.js';
import type { HttpRouter } from './http-router.js';

export function addProbeRoutes(
  router: HttpRouter,
  verdict: () => HealthVerdict,
  source: { readonly implementation: string },
): void {
  router.add('/healthz', {
    name: 'healthz',
    methods: ['GET', 'HEAD'],
    handle: () => json(200, { status: 'ok' }),
  });
  router.add('/readyz', {
    name: 'readyz',
    methods: ['GET', 'HEAD'],
    handle: () => {
      const current = verdict();
      return current.healthy
        ? json(200, { status: 'ready', implementation: source.implementation })
        : json(503, { status: 'unavailable', reason: current.reason ?? null });
    },
  });
}
