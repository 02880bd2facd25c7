/** Plain requests to the dialect's WebSocket paths are told to upgrade (426); other paths are not theirs. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { binanceDialect } from '../../src/exchange/binance/dialect.js';
import type { Dialect } from '../../src/exchange/dialect.js';
import { addWebSocketPathHint } from '../../src/gateway/downstream-server.js';
import { HttpRouter } from '../../src/http/http-router.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { fetchRaw } from './helpers.js';

async function serve(dialect: Dialect): Promise<{ server: Server; base: string }> {
  const router = new HttpRouter({
    logger: silentLogger(),
    requests: { inc: () => {} },
    rateLimiter: new RateLimiter(1000),
    unauthenticatedLimiter: new RateLimiter(1000),
  });
  addWebSocketPathHint(router, dialect);
  const server = createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('addWebSocketPathHint', () => {
  let binance: { server: Server; base: string };
  let other: { server: Server; base: string };

  before(async () => {
    binance = await serve(binanceDialect);
    other = await serve({ ...binanceDialect, webSocketPaths: ['/feed'] });
  });
  after(async () => {
    for (const { server } of [binance, other]) await new Promise<void>((r) => server.close(() => r()));
  });

  it("answers 426 on Binance's paths and the paths under them, 404 elsewhere", async () => {
    const upgrade = ['/ws', '/ws/', '/ws/0', '/ws/btcusdt@trade', '/stream', '/stream/', '/stream/x'];
    for (const path of [...upgrade, '/stream?streams=btcusdt@trade/ethusdt@trade']) {
      const res = await fetchRaw(`${binance.base}${path}`);
      assert.equal(res.status, 426, path);
      assert.equal(res.headers['upgrade'], 'websocket', path);
    }
    for (const path of ['/wss', '/ws0', '/streams', '/api/ws', '/feed']) {
      assert.equal((await fetchRaw(`${binance.base}${path}`)).status, 404, path);
    }
  });

  it("follows the dialect's list", async () => {
    assert.equal((await fetchRaw(`${other.base}/feed/x`)).status, 426);
    assert.equal((await fetchRaw(`${other.base}/ws`)).status, 404);
  });
});
