/**
 * An ingest node serves the gateway's HTTP edge: the same checks run against an ingest node and a
 * clustered gateway configured alike, and both must answer the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type RunningIngest, startIngest } from '../../src/roles/start-ingest.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { fetchRaw } from '../gateway/helpers.js';
import { type NatsServer, startNatsServer } from './nats-server.js';

const TOKEN = 'ingest-http-token';
const AUTH = `Bearer ${TOKEN}`;
/** Small enough to reach in a test: authenticated GETs per minute; a quarter of it for failed tokens. */
const PER_MINUTE = 8;

describe('ingest node HTTP edge, checked against the gateway', () => {
  let nats: NatsServer | undefined;
  let simulator: Simulator | undefined;
  let ingest: RunningIngest | undefined;
  let gateway: RunningGateway | undefined;

  before(async (t) => {
    nats = await startNatsServer(t as never);
    if (nats === undefined) return;
    simulator = await startSimulator({ host: '127.0.0.1', port: 0, rate: 5 });
    const common = {
      natsUrl: nats.url,
      port: 0,
      host: '127.0.0.1',
      leaseTtlSeconds: 3,
      metricsToken: TOKEN,
      rateLimitPerMinute: PER_MINUTE,
    };
    ingest = await startIngest(
      { ...common, upstreamUrl: simulator.url, nodeId: 'edge-ingest' },
      { logger: silentLogger() },
    );
    gateway = await startGateway({ ...common, nodeId: 'edge-gateway' }, { logger: silentLogger() });
  });

  after(async () => {
    await gateway?.close();
    await ingest?.close();
    await simulator?.close();
    await nats?.stop();
  });

  for (const role of ['ingest', 'gateway'] as const) {
    it(`${role}: negotiates Prometheus text and OpenMetrics, checks the token before the method, rate-limits`, async (t) => {
      if (nats === undefined) return t.skip('nats-server missing');
      const base = role === 'ingest' ? ingest!.url : gateway!.url;
      const metrics = `${base}/api/ws/metrics`;

      const text = await fetchRaw(metrics, { headers: { authorization: AUTH, accept: 'text/plain' } });
      assert.equal(text.status, 200);
      assert.match(String(text.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(text.body, /^ws_manager_cluster_info\{role="/m);
      assert.doesNotMatch(text.body, /# EOF/);

      const open = await fetchRaw(metrics, {
        headers: { authorization: AUTH, accept: 'application/openmetrics-text; version=1.0.0' },
      });
      assert.equal(open.status, 200);
      assert.match(String(open.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/);
      assert.match(open.body, /# EOF\n$/);

      const json = await fetchRaw(metrics, { headers: { authorization: AUTH } });
      assert.match(String(json.headers['content-type']), /^application\/json/);
      const document = JSON.parse(json.body) as { success: boolean; metrics: Record<string, unknown> };
      assert.equal(document.success, true);
      // Only the gateway has clients to report.
      assert.equal('gateway' in document.metrics, role === 'gateway');

      // The token first: an anonymous caller learns nothing about which methods exist.
      const anonymousPost = await fetchRaw(metrics, { method: 'POST' });
      assert.equal(anonymousPost.status, 401, 'POST without a token: 401, not 405');
      assert.equal(anonymousPost.headers['www-authenticate'], 'Bearer');
      const post = await fetchRaw(metrics, { method: 'POST', headers: { authorization: AUTH } });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');

      // Probes are never limited or guarded; the metrics GET is (3 GETs spent above).
      for (let i = 0; i < PER_MINUTE * 2; i++) {
        assert.equal((await fetchRaw(`${base}/healthz`)).status, 200);
        assert.equal((await fetchRaw(`${base}/readyz`)).status, 200);
        assert.equal((await fetchRaw(metrics, { method: 'HEAD' })).status, 200);
      }
      let allowed = 0;
      while ((await fetchRaw(metrics, { headers: { authorization: AUTH } })).status === 200) {
        allowed++;
        assert.ok(allowed <= PER_MINUTE, 'the per-address budget of RATE_LIMIT_PER_MINUTE ends in a 429');
      }
      // 3 GETs spent above; a token may have refilled meanwhile (one per 60 / PER_MINUTE s).
      assert.ok(allowed >= PER_MINUTE - 3, `${allowed} more GETs allowed before the 429`);
      const limited = await fetchRaw(metrics, { headers: { authorization: AUTH } });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After given');

      assert.equal((await fetchRaw(`${base}/nowhere`)).status, 404);
      // Only the gateway has downstream WebSockets; it tells a plain GET there to upgrade.
      assert.equal((await fetchRaw(`${base}/ws/btcusdt@trade`)).status, role === 'gateway' ? 426 : 404);
      assert.equal((await fetchRaw(`${base}/api/ws/admin/streams`)).status, 404, 'no admin routes');
      // Binance's REST paths get Binance's own 404 on both roles.
      const rest = await fetchRaw(`${base}/api/v3/avgPrice`);
      assert.equal(rest.status, 404);
      assert.equal(rest.body, '{"code":-5000,"msg":"Path /api/v3/avgPrice, Method GET is invalid"}');
    });
  }
});
