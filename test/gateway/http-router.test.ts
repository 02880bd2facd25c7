/** The HTTP kit's router on its own: registration, precedence, token before method, counting. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { json } from '../../src/http/http-response.js';
import { HttpRouter } from '../../src/http/http-router.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { fetchRaw } from './helpers.js';

describe('HttpRouter', () => {
  const counted: string[] = [];
  const router = new HttpRouter({
    logger: silentLogger(),
    requests: { inc: ({ route, status }) => counted.push(`${route} ${status}`) },
    rateLimiter: new RateLimiter(2),
    unauthenticatedLimiter: new RateLimiter(100),
  });
  router
    .add('/api/x/exact', { name: 'exact', methods: ['GET'], handle: () => json(200, { from: 'exact' }) })
    .addPrefix('/api/x/', {
      name: 'prefix',
      handle: (req) => json(200, { from: 'prefix', method: req.method }),
    })
    .add('/guarded', {
      name: 'guarded',
      methods: ['GET'],
      token: () => 'secret',
      limited: () => true,
      handle: () => json(200, { ok: true }),
    });
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => void router.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('prefers an exact path to a prefix, and a prefix route without methods answers every method', async () => {
    assert.equal(JSON.parse((await fetchRaw(`${base}/api/x/exact`)).body).from, 'exact');
    const other = await fetchRaw(`${base}/api/x/other`, { method: 'DELETE' });
    assert.deepEqual(JSON.parse(other.body), { from: 'prefix', method: 'DELETE' });
    const post = await fetchRaw(`${base}/api/x/exact`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    assert.equal((await fetchRaw(`${base}/nowhere`)).status, 404);
  });

  it('checks the token before the method, then spends the rate limit', async () => {
    assert.equal((await fetchRaw(`${base}/guarded`, { method: 'POST' })).status, 401);
    const auth = { authorization: 'Bearer secret' };
    assert.equal((await fetchRaw(`${base}/guarded`, { method: 'POST', headers: auth })).status, 405);
    assert.equal((await fetchRaw(`${base}/guarded`, { headers: auth })).status, 200);
    assert.equal((await fetchRaw(`${base}/guarded`, { headers: auth })).status, 200);
    assert.equal((await fetchRaw(`${base}/guarded`, { headers: auth })).status, 429);
  });

  it('counts every answer under its route, unrouted ones as other', () => {
    assert.ok(counted.includes('exact 200'));
    assert.ok(counted.includes('prefix 200'));
    assert.ok(counted.includes('other 404'));
    assert.ok(counted.includes('guarded 429'));
  });

  it('refuses a path registered twice', () => {
    assert.throws(() => router.add('/guarded', { name: 'again', handle: () => json(200, {}) }));
  });
});
