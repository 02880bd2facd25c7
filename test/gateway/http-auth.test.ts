/**
 * Issue 9 item 9 over a real port: the token is checked before the method, and unauthenticated requests
 * spend a budget of their own, not the one authenticated scrapers rely on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchRaw, startTestGateway } from './helpers.js';

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('bearer tokens before methods', () => {
  it('answers 401 to an anonymous caller whatever the method, so a 405 reveals no admin route', async () => {
    const gateway = await startTestGateway({ metricsToken: 'm-secret', adminToken: 'a-secret' });
    try {
      for (const [method, path] of [
        ['POST', '/api/ws/admin/streams'],
        ['DELETE', '/api/ws/admin/streams'],
        ['GET', '/api/ws/admin/cleanup'],
        ['PUT', '/api/ws/admin/cleanup'],
        ['POST', '/api/ws/metrics'],
      ] as const) {
        const anonymous = await fetchRaw(`${gateway.url}${path}`, { method });
        assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
        assert.equal(anonymous.headers['allow'], undefined, `${method} ${path} says nothing of its methods`);
        assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
        const wrong = await fetchRaw(`${gateway.url}${path}`, { method, headers: auth('m-secret-') });
        assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      }
      const admin = await fetchRaw(`${gateway.url}/api/ws/admin/streams`, {
        method: 'POST',
        headers: auth('a-secret'),
      });
      assert.equal(admin.status, 405, 'an authenticated caller learns the method');
      assert.equal(admin.headers['allow'], 'GET');
      const metrics = await fetchRaw(`${gateway.url}/api/ws/metrics`, {
        method: 'POST',
        headers: auth('m-secret'),
      });
      assert.equal(metrics.status, 405);
      assert.equal(metrics.headers['allow'], 'GET, HEAD');
      assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);
    } finally {
      await gateway.close();
    }
  });
});

describe('rate budgets by authentication', () => {
  it('unauthenticated requests from an address do not use up its authenticated scraper’s budget', async () => {
    const gateway = await startTestGateway({
      rateLimitPerMinute: 8,
      metricsToken: 'm-secret',
      adminToken: 'a',
    });
    try {
      const anonymous: number[] = [];
      for (let i = 0; i < 20; i++) {
        anonymous.push((await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`)).status);
      }
      // Their own budget is a quarter of RATE_LIMIT_PER_MINUTE (2 here): 401 twice, then 429.
      assert.deepEqual(anonymous.slice(0, 2), [401, 401]);
      assert.ok(
        anonymous.slice(2).every((s) => s === 429),
        `anonymous requests beyond their budget: ${anonymous.join(',')}`,
      );
      const limited = await fetchRaw(`${gateway.url}/api/ws/admin/streams`, { headers: auth('nope') });
      assert.equal(limited.status, 429, 'a wrong token spends the unauthenticated budget too');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      const scraper: number[] = [];
      for (let i = 0; i < 9; i++) {
        scraper.push(
          (await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`, { headers: auth('m-secret') })).status,
        );
      }
      assert.deepEqual(scraper, [200, 200, 200, 200, 200, 200, 200, 200, 429], 'the full budget, then 429');
    } finally {
      await gateway.close();
    }
  });
});
