/**
 * Only a well-formed Binance answer from the exchange's REST reaches the gateway's clients: a captive
 * portal's `200 text/html`, truncated JSON, a JSON of another shape or an answer past the call's size
 * bound becomes 502 with Binance's -1001 body, and exchangeInfo never keeps one. A loopback HTTP server
 * plays the exchange's REST; the gateway (WSManager) derives its REST base from `ws://` on that port.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/gateway/index.js';
import { fetchRaw, startTestGateway } from './helpers.js';

const INTERNAL = { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' };
const JSON_TYPE = 'application/json;charset=UTF-8';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** The exchange's REST as the test sets it: every request gets `answer`, and is counted by path. */
const exchange = {
  answer: ((_req, res) => res.writeHead(500).end()) as Answer,
  requests: new Map<string, number>(),
};
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  exchange.requests.set(path, (exchange.requests.get(path) ?? 0) + 1);
  exchange.answer(req, res);
});

function answerWith(status: number, contentType: string, body: string): void {
  exchange.answer = (_req, res) => res.writeHead(status, { 'content-type': contentType }).end(body);
}

let gateway: RunningGateway;

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  gateway = await startTestGateway({ useNewWsManager: true, upstreamUrl: `ws://127.0.0.1:${port}` });
});

after(async () => {
  await gateway.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const CALLS = [
  '/api/v3/klines?symbol=BTCUSDT&interval=1m',
  '/api/v3/aggTrades?symbol=BTCUSDT',
  '/api/v3/trades?symbol=BTCUSDT',
  // Each exchangeInfo query is asked once here: a kept copy would hide what the exchange answers next.
  '/api/v3/exchangeInfo?symbol=ETHUSDT',
  '/api/v3/time',
];

async function assertInternalError(path: string, what: string): Promise<void> {
  const a = await fetchRaw(`${gateway.url}${path}`);
  assert.deepEqual(
    [a.status, a.headers['content-type'], a.body],
    [502, JSON_TYPE, JSON.stringify(INTERNAL)],
    `${what}: ${path} answered ${a.status} ${a.headers['content-type']} ${a.body.slice(0, 80)}`,
  );
}

describe("the exchange's REST answers through the gateway", () => {
  it('turns a 200 text/html page, truncated JSON or a JSON of the wrong shape into 502 -1001', async () => {
    const bad: Array<[string, number, string, string]> = [
      ['captive portal', 200, 'text/html', '<html><body>Sign in to the network</body></html>'],
      ['truncated JSON', 200, JSON_TYPE, '[[1499040000000,"0.01634790","0.80000000"'],
      ['JSON of another shape', 200, JSON_TYPE, '{"ok":true,"symbols":3}'],
      ['numbers for records', 200, JSON_TYPE, '[1,2,3]'],
      ['a 4xx that is not Binance error body', 403, 'text/html', '<h1>403 Forbidden</h1>'],
    ];
    for (const [i, [what, status, type, body]] of bad.entries()) {
      answerWith(status, type, body);
      for (const path of CALLS) await assertInternalError(path.replace('ETHUSDT', `COIN${i}USDT`), what);
    }
  });

  it("passes well-formed answers and Binance's error bodies as the exchange sent them", async () => {
    const passes: Array<[string, number, string]> = [
      [
        '/api/v3/klines?symbol=BTCUSDT&interval=1m',
        200,
        '[[1499040000000,"0.1","0.2","0.1","0.2","1",1499644799999]]',
      ],
      [
        '/api/v3/aggTrades?symbol=BTCUSDT',
        200,
        '[{"a":26129,"p":"0.1","q":"4.7","T":1498793709153,"m":true}]',
      ],
      ['/api/v3/trades?symbol=BTCUSDT', 200, '[]'],
      ['/api/v3/exchangeInfo?symbol=BNBUSDT', 200, '{"timezone":"UTC","serverTime":1,"symbols":[]}'],
      ['/api/v3/trades?symbol=DOGEUSDT', 400, '{"code":-1121,"msg":"Invalid symbol."}'],
    ];
    for (const [path, status, body] of passes) {
      answerWith(status, JSON_TYPE, body);
      const a = await fetchRaw(`${gateway.url}${path}`);
      assert.deepEqual([a.status, a.headers['content-type'], a.body], [status, JSON_TYPE, body], path);
    }
  });

  it('keeps no exchangeInfo copy of an answer that is not Binance', async () => {
    const path = '/api/v3/exchangeInfo?symbol=XRPUSDT';
    const asked = () => exchange.requests.get('/api/v3/exchangeInfo') ?? 0;
    const before = asked();
    answerWith(200, 'text/html; charset=utf-8', '<html>proxy page</html>');
    await assertInternalError(path, 'proxy page');
    const good = '{"timezone":"UTC","serverTime":2,"symbols":[{"symbol":"XRPUSDT"}]}';
    answerWith(200, JSON_TYPE, good);
    const a = await fetchRaw(`${gateway.url}${path}`);
    assert.deepEqual([a.status, a.body], [200, good], 'the next request asks the exchange again');
    assert.equal(asked() - before, 2);
  });

  it('stops reading an answer past its bound and answers 502 -1001 without holding it', async (t) => {
    // 64 MiB of well-formed klines, written as fast as the gateway reads them.
    const total = 64 << 20;
    let written = 0;
    exchange.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': JSON_TYPE });
      const row = '[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.1","1"],';
      const chunk = Buffer.from(row.repeat(Math.ceil(65_536 / row.length)));
      res.write('[');
      written = 1;
      const pump = () => {
        while (!res.destroyed && written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end('[0]]');
      };
      res.on('close', () => res.destroy());
      pump();
    };
    const started = Date.now();
    await assertInternalError('/api/v3/klines?symbol=BTCUSDT&interval=1h', '64 MiB of klines');
    const tookMs = Date.now() - started;
    t.diagnostic(`the exchange wrote ${written} of ${total} bytes; answered in ${tookMs} ms`);
    assert.ok(written < 16 << 20, `the gateway read on past its bound: ${written} bytes written`);
    assert.ok(tookMs < 5000, `took ${tookMs} ms`);
  });
});
