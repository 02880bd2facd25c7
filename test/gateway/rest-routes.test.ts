/**
 * Issue 11: the gateway answers Binance's REST market-data calls as the exchange does (same status,
 * body and content type), charges each client address Binance's request weight (`X-MBX-USED-WEIGHT-1M`,
 * 429 then 418), and spends the exchange's weight only through the manager's shared budget, so no
 * number of clients makes the exchange refuse the gateway. Real gateway (WSManager), simulator, plain HTTP.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { WSManager } from '../../src/manager/index.js';
import { CLIENT_SHARE } from '../../src/manager/rest-client.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { fetchRaw, type HttpResult, startTestGateway } from './helpers.js';

/** A GET on a fresh connection, from `from` (any 127.0.0.0/8 address: a client address of its own). */
function get(url: string, from = '127.0.0.1'): Promise<HttpResult> {
  return fetchRaw(url, { localAddress: from });
}

async function restRequests(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('ws_manager_rest_requests_total');
  return (await metric?.get())?.values[0]?.value ?? 0;
}

/** Starts a window-aligned budget test only with room left in the window (they are aligned to the clock). */
async function roomInWindow(windowMs: number, needMs: number): Promise<void> {
  const into = Date.now() % windowMs;
  if (into > windowMs - needMs) await new Promise((r) => setTimeout(r, windowMs - into + 100));
}

describe('Binance REST calls through the gateway', () => {
  it("answers every call with the exchange's status, content type and body", async (t) => {
    const gateway = await startTestGateway({ useNewWsManager: true, simulatorRate: 5 });
    const sim = gateway.simulator as Simulator;
    t.after(() => gateway.close());
    // Start the feeds and give them some history.
    await get(`${sim.httpUrl}/api/v3/aggTrades?symbol=BTCUSDT&limit=1`);
    await new Promise((r) => setTimeout(r, 1200));
    const first = JSON.parse(
      (await get(`${sim.httpUrl}/api/v3/aggTrades?symbol=BTCUSDT&limit=5`)).body,
    ) as Array<{
      a: number;
    }>;
    const fromId = first[0]?.a ?? 0;
    const paths = [
      '/api/v3/exchangeInfo',
      '/api/v3/exchangeInfo?symbol=ETHUSDT',
      `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${fromId}&limit=3`,
      '/api/v3/trades?symbol=BTCUSDT&limit=3',
      '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2',
      // Errors: decided by the exchange (unknown symbol) or by Binance's query rules at the gateway.
      '/api/v3/trades?symbol=DOGEUSDT',
      '/api/v3/exchangeInfo?symbol=DOGEUSDT',
      // The gateway keeps no book for a symbol the exchange does not know: -1121 at once.
      '/api/v3/depth?symbol=DOGEUSDT',
      '/api/v3/trades?symbol=btcusdt',
      '/api/v3/aggTrades',
      '/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=2',
      '/api/v3/klines?symbol=BTCUSDT&interval=7m',
      '/api/v3/klines?symbol=BTCUSDT',
      '/api/v3/depth?symbol=BTCUSDT&limit=-1',
    ];
    for (const path of paths) {
      // The feeds move (a trade a second): a pair of answers straddling an event is asked again.
      let pair: [HttpResult, HttpResult] | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        pair = [await get(`${gateway.url}${path}`), await get(`${sim.httpUrl}${path}`)];
        if (pair[0].body === pair[1].body) break;
      }
      const [ours, theirs] = pair as [HttpResult, HttpResult];
      assert.equal(ours.status, theirs.status, path);
      assert.equal(ours.headers['content-type'], theirs.headers['content-type'], path);
      // exchangeInfo is kept for a minute: its serverTime is the one of the copy kept.
      const comparable = (body: string) => body.replace(/"serverTime":\d+/, '"serverTime":0');
      assert.equal(comparable(ours.body), comparable(theirs.body), path);
    }

    const ping = await get(`${gateway.url}/api/v3/ping`);
    assert.deepEqual([ping.status, ping.body], [200, '{}']);
    const ourTime = JSON.parse((await get(`${gateway.url}/api/v3/time`)).body) as { serverTime: number };
    const theirTime = JSON.parse((await get(`${sim.httpUrl}/api/v3/time`)).body) as { serverTime: number };
    assert.ok(Math.abs(ourTime.serverTime - theirTime.serverTime) < 250, 'the exchange clock');
  });

  it("charges each client address Binance's weight and shares what the exchange need not repeat", async (t) => {
    const registry = new Registry();
    const gateway = await startTestGateway({ useNewWsManager: true }, { registry });
    t.after(() => gateway.close());
    await roomInWindow(60_000, 10_000);
    const used = async (path: string, from = '127.0.0.2'): Promise<[number, string | undefined]> => {
      const a = await get(`${gateway.url}${path}`, from);
      return [a.status, a.headers['x-mbx-used-weight-1m'] as string | undefined];
    };
    assert.deepEqual(await used('/api/v3/ping'), [200, '1']);
    assert.deepEqual(await used('/api/v3/time'), [200, '2']);
    assert.deepEqual(await used('/api/v3/exchangeInfo'), [200, '22']);
    assert.deepEqual(await used('/api/v3/depth?symbol=BTCUSDT&limit=100'), [200, '27']);
    assert.deepEqual(await used('/api/v3/aggTrades?symbol=BTCUSDT&limit=10'), [200, '31']);
    assert.deepEqual(await used('/api/v3/trades?symbol=BTCUSDT&limit=10'), [200, '56']);
    assert.deepEqual(await used('/api/v3/klines?symbol=BTCUSDT&interval=1m'), [200, '58']);
    assert.deepEqual(
      await used('/api/v3/trades?symbol=btcusdt'),
      [400, '83'],
      'a malformed call costs its weight',
    );
    assert.deepEqual(await used('/api/v3/depth?symbol=BTCUSDT&limit=5000'), [200, '333']);
    // Another address has a budget of its own.
    assert.deepEqual(await used('/api/v3/ping', '127.0.0.3'), [200, '1']);

    // Shared: exchangeInfo is kept, time is the exchange's clock through a measured offset, ping is local.
    const before = await restRequests(registry);
    for (let i = 0; i < 5; i++) {
      assert.equal((await get(`${gateway.url}/api/v3/exchangeInfo`)).status, 200);
      assert.equal((await get(`${gateway.url}/api/v3/time`)).status, 200);
      assert.equal((await get(`${gateway.url}/api/v3/ping`)).status, 200);
    }
    assert.equal(await restRequests(registry), before, 'none of these reached the exchange again');
  });

  it('refuses a client over its weight with 429 and Retry-After, then bans it with 418, serving the others', async (t) => {
    const registry = new Registry();
    const windowMs = 600_000;
    const gateway = await startTestGateway(
      { useNewWsManager: true },
      { registry, restClientLimits: { limit: 50, windowMs, requestsBeforeBan: 2 } },
    );
    t.after(() => gateway.close());
    await roomInWindow(windowMs, 15_000);
    const statuses: number[] = [];
    let last: HttpResult | undefined;
    for (let i = 0; i < 7; i++) {
      last = await get(`${gateway.url}/api/v3/exchangeInfo`, '127.0.0.2');
      statuses.push(last.status);
      if (last.status === 429) {
        assert.deepEqual(JSON.parse(last.body), {
          code: -1003,
          msg: 'Too much request weight used; current limit is 50 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
        });
        const retryAfter = Number(last.headers['retry-after']);
        assert.ok(retryAfter >= 1 && retryAfter <= windowMs / 1000, `Retry-After ${retryAfter}`);
      }
    }
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 418, 418]);
    const ban = JSON.parse(last?.body ?? '{}') as { code: number; msg: string };
    assert.equal(ban.code, -1003);
    assert.match(ban.msg, /^Way too much request weight used; IP banned until \d+\./);
    assert.ok(Number(last?.headers['retry-after']) >= 1);
    assert.equal((await get(`${gateway.url}/api/v3/exchangeInfo`, '127.0.0.3')).status, 200);
    assert.equal(await restRequests(registry), 1, 'refused calls never reach the exchange');
  });

  it("keeps many clients within their share of the manager's budget: refills keep room, the exchange never refuses", async (t) => {
    // An exchange whose budget is barely above the manager's (1200 a minute): any overspend gets a 429.
    const windowMs = 600_000;
    await roomInWindow(windowMs, 15_000);
    await roomInWindow(60_000, 10_000);
    const sim = await startSimulator({
      rate: 10,
      rest: { weightLimit: 1300, windowMs, requestsBeforeBan: 0 },
    });
    const registry = new Registry();
    const gateway = await startTestGateway({ useNewWsManager: true, upstreamUrl: sim.url }, { registry });
    t.after(async () => {
      await gateway.close();
      await sim.close();
    });
    const clients = Array.from({ length: 100 }, (_, i) =>
      get(`${gateway.url}/api/v3/trades?symbol=BTCUSDT&limit=5`, `127.0.1.${1 + (i % 20)}`),
    );
    const answers = await Promise.all(clients);
    const served = answers.filter((a) => a.status === 200).length;
    const clientShare = Math.floor(1200 * CLIENT_SHARE);
    assert.equal(
      served,
      clientShare / 25,
      "the clients' share of the manager budget, spent to the last request",
    );
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 429);
      assert.equal(JSON.parse(a.body).code, -1003);
      assert.match(JSON.parse(a.body).msg, new RegExp(`current limit is ${clientShare} request weight`));
      assert.ok(Number(a.headers['retry-after']) >= 1);
    }
    // What the clients could not take stays for the manager's own refills and snapshots.
    const refill = await (gateway.source as WSManager).rest?.get(
      '/api/v3/trades',
      { symbol: 'BTCUSDT', limit: 5 },
      25,
    );
    assert.equal(refill?.ok, true, 'a refill still goes out after the clients spent their share');
    // The exchange's own count for the gateway's address (the test shares it): within its limit.
    const probe = await get(`${sim.httpUrl}/api/v3/ping`);
    assert.equal(probe.status, 200);
    assert.ok(Number(probe.headers['x-mbx-used-weight-1m']) <= 1300, 'the exchange never went over');
    assert.equal(await restRequests(registry), served + 1);
  });

  it("stops at the exchange's 429 until its Retry-After, and turns an unreachable exchange into Binance's error", async () => {
    const sim = await startSimulator({ rate: 10 });
    const registry = new Registry();
    const gateway = await startTestGateway({ useNewWsManager: true, upstreamUrl: sim.url }, { registry });
    try {
      // A 503 with Binance's body passes through as it came.
      sim.refuseConnections(60_000, 503);
      const overloaded = await get(`${gateway.url}/api/v3/trades?symbol=BTCUSDT`);
      const direct = await get(`${sim.httpUrl}/api/v3/trades?symbol=BTCUSDT`);
      assert.deepEqual([overloaded.status, overloaded.body], [direct.status, direct.body]);
      sim.refuseConnections(60_000, 429, 30);
      const refused = await get(`${gateway.url}/api/v3/trades?symbol=BTCUSDT`);
      assert.equal(refused.status, 429);
      assert.equal(JSON.parse(refused.body).code, -1003);
      assert.ok(Number(refused.headers['retry-after']) >= 29);
      const sent = await restRequests(registry);
      const again = await get(`${gateway.url}/api/v3/aggTrades?symbol=BTCUSDT`);
      assert.equal(again.status, 429);
      assert.equal(
        await restRequests(registry),
        sent,
        'nothing more goes to the exchange before Retry-After',
      );
    } finally {
      await gateway.close();
      await sim.close();
    }

    // An exchange whose REST answers are not Binance's (a proxy's error page), then none at all.
    const broken = createServer((_req, res) =>
      res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>'),
    );
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const port = (broken.address() as AddressInfo).port;
    const internal = {
      code: -1001,
      msg: 'Internal error; unable to process your request. Please try again.',
    };
    let down = await startTestGateway({ useNewWsManager: true, upstreamUrl: `ws://127.0.0.1:${port}` });
    try {
      const a = await get(`${down.url}/api/v3/klines?symbol=BTCUSDT&interval=1m`);
      assert.deepEqual(
        [a.status, a.headers['content-type'], JSON.parse(a.body)],
        [502, 'application/json;charset=UTF-8', internal],
      );
    } finally {
      await down.close();
      await new Promise((r) => broken.close(r));
    }
    down = await startTestGateway({ useNewWsManager: true, upstreamUrl: `ws://127.0.0.1:${port}` });
    try {
      for (const path of ['/api/v3/trades?symbol=BTCUSDT', '/api/v3/exchangeInfo', '/api/v3/time']) {
        const a = await get(`${down.url}${path}`);
        assert.deepEqual([a.status, JSON.parse(a.body)], [502, internal], path);
      }
      assert.equal((await get(`${down.url}/api/v3/ping`)).status, 200, 'ping tests the gateway itself');
    } finally {
      await down.close();
    }
  });

  it("answers an unknown /api/v3 path with the exchange's 404 and error body, in every mode", async (t) => {
    const gateway = await startTestGateway({ useNewWsManager: true, simulatorRate: 5 });
    const legacy = await startTestGateway({ useNewWsManager: false });
    t.after(() => Promise.all([gateway.close(), legacy.close()]));
    const sim = gateway.simulator as Simulator;
    for (const path of ['/api/v3/avgPrice?symbol=BTCUSDT', '/api/v3/', '/api/v3/ticker/24hr']) {
      const theirs = await get(`${sim.httpUrl}${path}`);
      assert.equal(theirs.status, 404, path);
      for (const url of [gateway.url, legacy.url]) {
        const ours = await get(`${url}${path}`);
        assert.deepEqual(
          [ours.status, ours.headers['content-type'], ours.body],
          [404, theirs.headers['content-type'], theirs.body],
          `${url}${path}`,
        );
      }
    }
  });

  it('says the legacy implementation, which has no REST client, does not serve the calls', async (t) => {
    const gateway = await startTestGateway({ useNewWsManager: false });
    t.after(() => gateway.close());
    for (const path of ['/api/v3/ping', '/api/v3/depth?symbol=BTCUSDT', '/api/v3/trades?symbol=BTCUSDT']) {
      const answer = await get(`${gateway.url}${path}`);
      assert.deepEqual(
        [answer.status, answer.headers['content-type'], JSON.parse(answer.body)],
        [
          404,
          'application/json;charset=UTF-8',
          {
            code: -5000,
            msg: "REST market data is not available from this gateway's source (legacy mode, USE_NEW_WS_MANAGER=false)",
          },
        ],
        path,
      );
      assert.equal(answer.headers['x-mbx-used-weight-1m'], undefined, 'not charged');
    }
  });
});
