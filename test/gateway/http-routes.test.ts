/** HTTP routes over real sockets (and one in-process), every status code, access control and TLS. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type WebSocket from 'ws';
import { silentLogger } from '../../src/core/log.js';
import type { StreamSource } from '../../src/core/stream-source.js';
import { GatewayMetrics } from '../../src/gateway/gateway-metrics.js';
import type { RunningGateway } from '../../src/gateway/index.js';
import { HttpRouter } from '../../src/http/http-router.js';
import { addMetricsRoute, metricsResponse } from '../../src/http/metrics-route.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway } from './helpers.js';

describe('HTTP routes', () => {
  let gateway: RunningGateway;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    gateway = await startTestGateway({ metricsToken: 'metrics-secret', adminToken: 'admin-secret' });
  });
  after(async () => {
    await gateway.close();
  });

  it('negotiates the metrics representation', async () => {
    const json = await fetchRaw(`${gateway.url}/api/ws/metrics`, { headers: auth('metrics-secret') });
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /^application\/json/);
    assert.equal(JSON.parse(json.body).metrics.implementation, 'Legacy');

    const text = await fetchRaw(`${gateway.url}/api/ws/metrics?format=prometheus`, {
      headers: auth('metrics-secret'),
    });
    assert.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(text.body, /^ws_manager_retry_count_total\{venue="binance"\} 0$/m);

    const scraper = await fetchRaw(`${gateway.url}/api/ws/metrics`, {
      headers: {
        ...auth('metrics-secret'),
        accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      },
    });
    assert.equal(
      scraper.headers['content-type'],
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    assert.match(scraper.body, /^# TYPE ws_manager_retry_count counter$/m);
    assert.match(scraper.body, /^ws_manager_retry_count_total\{venue="binance"\} 0$/m);
    assert.ok(scraper.body.endsWith('# EOF\n'));

    const plainText = await fetchRaw(`${gateway.url}/api/ws/metrics`, {
      headers: { ...auth('metrics-secret'), accept: 'text/plain;version=0.0.4' },
    });
    assert.equal(plainText.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    // Rendering OpenMetrics must not rename the counters of later Prometheus-format scrapes.
    assert.match(plainText.body, /^# TYPE ws_manager_retry_count_total counter$/m);
    assert.match(plainText.body, /^ws_manager_retry_count_total\{venue="binance"\} 0$/m);

    const json2 = await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`, {
      headers: auth('metrics-secret'),
    });
    assert.equal(typeof JSON.parse(json2.body).metrics.activeConnections, 'number');
  });

  it('answers 400 for an unknown format', async () => {
    const res = await fetchRaw(`${gateway.url}/api/ws/metrics?format=xml`, {
      headers: auth('metrics-secret'),
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'unknown format "xml": expected "prometheus" or "json"');
  });

  it('requires the metrics bearer token on GET only', async () => {
    const none = await fetchRaw(`${gateway.url}/api/ws/metrics`);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { headers: auth('wrong') })).status, 401);
    assert.equal(
      (await fetchRaw(`${gateway.url}/api/ws/metrics`, { headers: auth('metrics-secret-') })).status,
      401,
    );
    assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetchRaw(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetchRaw(`${gateway.url}/readyz`)).status, 200);
  });

  it('sends the same headers on HEAD as on GET, without a body', async () => {
    const get = await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`, {
      headers: auth('metrics-secret'),
    });
    const head = await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-type'], get.headers['content-type']);
    assert.equal(head.headers['cache-control'], get.headers['cache-control']);
    assert.ok(Number(head.headers['content-length']) > 0);
  });

  it('guards the admin API with its own token', async () => {
    assert.equal((await fetchRaw(`${gateway.url}/api/ws/admin/streams`)).status, 401);
    assert.equal(
      (await fetchRaw(`${gateway.url}/api/ws/admin/streams`, { headers: auth('metrics-secret') })).status,
      401,
    );
    const list = await fetchRaw(`${gateway.url}/api/ws/admin/streams`, { headers: auth('admin-secret') });
    assert.equal(list.status, 200);
    assert.deepEqual(JSON.parse(list.body).streams, []);
    const bad = await fetchRaw(`${gateway.url}/api/ws/admin/cleanup?idleMs=soon`, {
      method: 'POST',
      headers: auth('admin-secret'),
    });
    assert.equal(bad.status, 400);
    const wrongMethod = await fetchRaw(`${gateway.url}/api/ws/admin/cleanup`, {
      headers: auth('admin-secret'),
    });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers['allow'], 'POST');
  });

  it('answers 404, 405 and 426 where they belong', async () => {
    assert.equal((await fetchRaw(`${gateway.url}/nope`)).status, 404);
    const post = await fetchRaw(`${gateway.url}/api/ws/metrics`, {
      method: 'POST',
      headers: auth('metrics-secret'),
    });
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    assert.equal((await fetchRaw(`${gateway.url}/ws/btcusdt@trade`)).status, 426);
  });

  it('counts requests by route and status', async () => {
    const text = (
      await fetchRaw(`${gateway.url}/api/ws/metrics?format=prometheus`, { headers: auth('metrics-secret') })
    ).body;
    assert.match(text, /^ws_gateway_http_requests_total\{route="metrics",status="401"\} [1-9]\d*$/m);
    assert.match(text, /^ws_gateway_http_requests_total\{route="other",status="404"\} [1-9]\d*$/m);
  });
});

describe('HTTP routes without an admin token', () => {
  it('hides the admin API', async () => {
    const gateway = await startTestGateway({});
    try {
      const res = await fetchRaw(`${gateway.url}/api/ws/admin/streams`, {
        headers: { authorization: 'Bearer anything' },
      });
      assert.equal(res.status, 404);
      assert.equal(
        (await fetchRaw(`${gateway.url}/api/ws/metrics`)).status,
        200,
        'metrics open without a token',
      );
    } finally {
      await gateway.close();
    }
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After beyond the per-client budget, never on probes', async () => {
    const gateway = await startTestGateway({ rateLimitPerMinute: 3, adminToken: 'a' });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`)).status, 200);
      const limited = await fetchRaw(`${gateway.url}/api/ws/metrics`);
      assert.equal(limited.status, 429);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 20, `Retry-After ${retryAfter}`);
      assert.equal(
        (await fetchRaw(`${gateway.url}/api/ws/admin/streams`, { headers: { authorization: 'Bearer a' } }))
          .status,
        429,
      );
      assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);
      assert.equal((await fetchRaw(`${gateway.url}/readyz`)).status, 200);
    } finally {
      await gateway.close();
    }
  });

  it('refills evenly', () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now);
    for (let i = 0; i < 60; i++) assert.equal(limiter.take('a').allowed, true);
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 1 });
    assert.equal(limiter.take('b').allowed, true, 'budgets are per client');
    now += 1000;
    assert.equal(limiter.take('a').allowed, true);
  });
});

describe('health verdict', () => {
  it('turns 503 when the upstream has been down longer than the grace period', async () => {
    const gateway = await startTestGateway({ healthGraceSeconds: 1, legacyReconnectDelayMs: 100 });
    const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
    try {
      await waitFor('first event', () => client.messages.length > 0);
      gateway.simulator!.refuseConnections(60_000, 503, null);
      gateway.simulator!.dropConnections({ abrupt: true });
      await waitFor(
        'HEAD 503',
        async () => (await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status === 503,
      );
      const ready = await fetchRaw(`${gateway.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(JSON.parse(ready.body).reason, /upstream down/);
      const json = JSON.parse((await fetchRaw(`${gateway.url}/api/ws/metrics`)).body);
      assert.equal(json.metrics.isHealthy, false);
      assert.equal((await fetchRaw(`${gateway.url}/healthz`)).status, 200, 'liveness stays up');
    } finally {
      await client.close();
      await gateway.close();
    }
  });
});

describe('HTTP routes in process', () => {
  const throwing: StreamSource = {
    implementation: 'Legacy',
    subscribe: () => () => {},
    listStreams: () => [],
    connections: () => [],
    forceCleanupIdleStreams: () => 0,
    getMetrics: () => {
      throw new Error('secret internal detail');
    },
    health: () => ({ healthy: true, reason: undefined }),
    destroy: async () => {},
  };
  const registry = new Registry();
  const context = {
    registry,
    source: throwing,
    verdict: () => ({ healthy: false, reason: 'draining for shutdown' }),
  };

  it('renders without a socket', async () => {
    const req = { headers: { accept: 'text/plain' } } as IncomingMessage;
    const head = await metricsResponse(context, req, new URL('http://x/api/ws/metrics'), true);
    assert.equal(head.status, 503);
    assert.equal(head.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const get = await metricsResponse(context, req, new URL('http://x/api/ws/metrics'), false);
    assert.equal(get.status, 200, 'GET keeps answering so Prometheus still scrapes');
  });

  it('answers 500 with a generic message and no stack trace', async () => {
    const router = new HttpRouter({
      logger: silentLogger(),
      requests: new GatewayMetrics(registry).httpRequests,
      rateLimiter: new RateLimiter(100),
      unauthenticatedLimiter: new RateLimiter(25),
    });
    addMetricsRoute(router, context, undefined);
    const server: Server = createServer((req, res) => void router.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetchRaw(`http://127.0.0.1:${port}/api/ws/metrics?format=json`);
      assert.equal(res.status, 500);
      assert.deepEqual(JSON.parse(res.body), { success: false, error: 'internal error' });
      assert.equal(res.body.includes('secret'), false);
      assert.equal(res.body.includes('at '), false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('TLS', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ws-manager-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS and WSS with the configured certificate', async () => {
    const gateway = await startTestGateway({
      tlsCertFile: join(dir, 'cert.pem'),
      tlsKeyFile: join(dir, 'key.pem'),
    });
    try {
      assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = (await import('node:fs')).readFileSync(join(dir, 'cert.pem'));
      const res = await fetchRaw(`${gateway.url}/api/ws/metrics`, { ca });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).success, true);
      await assert.rejects(fetchRaw(`${gateway.url}/healthz`), /self-signed|unable to verify/);
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`, { ca } as WebSocket.ClientOptions);
      await waitFor('event over wss', () => client.messages.length > 0);
      await client.close();
    } finally {
      await gateway.close();
    }
  });

  it('refuses unreadable or mismatched files with a ConfigError', async () => {
    await assert.rejects(
      startTestGateway({ tlsCertFile: join(dir, 'missing.pem'), tlsKeyFile: join(dir, 'key.pem') }),
      { code: 'WS_ERR_INVALID_CONFIG', message: /^TLS_CERT_FILE=".*missing.pem" is not valid: .*ENOENT/ },
    );
    writeFileSync(join(dir, 'garbage.pem'), 'not a key');
    await assert.rejects(
      startTestGateway({ tlsCertFile: join(dir, 'cert.pem'), tlsKeyFile: join(dir, 'garbage.pem') }),
      {
        code: 'WS_ERR_INVALID_CONFIG',
      },
    );
  });
});
