/**
 * Bybit's REST market calls (`/bybit/v5/market/*`) through a clustered gateway, against a
 * single-process gateway on the same simulator: the same statuses, bodies and per-client request
 * budget, the calls reaching the exchange only from the ingest node over NATS (`svc.bybit.spot.rest`),
 * and Bybit's own SDK (`bybit-api` RestClientV5, unmodified) reading them. Real nats-server, simulator,
 * ingest node and gateways on loopback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestClientV5 } from 'bybit-api';
import type { RunningGateway } from '../../src/roles/start-gateway.js';
import { fetchRaw, type HttpResult } from '../gateway/helpers.js';
import { burstsWithinOneWindow, startRestCluster } from './venue-cluster.js';

/** Bybit's per-IP request cap the gateway applies to each client address: 600 per 5 s. */
const CLIENT_REQUESTS = 600;
const WINDOW_MS = 5000;

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
}

/** An answer with the fields that change from one moment to the next (`time`, a book's `ts`) taken out. */
function answerOf(res: HttpResult): Answer {
  const body = JSON.parse(res.body) as Record<string, unknown>;
  delete body['time'];
  return { status: res.status, contentType: res.headers['content-type'] as string | undefined, body };
}

test('a clustered gateway answers Bybit REST as a single-process gateway does, through the ingest tier', async (t) => {
  const cluster = await startRestCluster(t, 'bybit', ['btcusdt', 'ethusdt']);
  if (cluster === undefined) return t.skip('nats-server is not installed');
  const { simulator } = cluster;
  await cluster.startIngest('ingest');
  const [clustered] = (await cluster.startGateways(['gw'])) as [RunningGateway];
  const single = await cluster.startSingleGateway();

  // What goes over NATS for Bybit's REST: requests on the spot feed's subject only.
  const observer = await cluster.observer();
  const requests: string[] = [];
  observer.subscribe('svc.>', {
    callback: (_, msg) => {
      requests.push(msg.subject);
    },
  });
  await observer.flush();

  const get = async (gateway: RunningGateway, path: string, localAddress?: string) =>
    answerOf(
      await fetchRaw(
        `${gateway.url}/bybit/v5/market/${path}`,
        localAddress === undefined ? {} : { localAddress },
      ),
    );

  // Calls whose answers do not move with the market: equal as they stand, errors included.
  const still = [
    'instruments-info?category=spot',
    'instruments-info?category=linear&symbol=BTCUSDT',
    'recent-trade?category=inverse&symbol=BTCUSDT',
    'kline?category=spot&symbol=BTCUSDT',
    'orderbook?category=spot&symbol=btc-usdt',
    'nothing?category=spot',
  ];
  for (const path of still) {
    const [a, b] = [await get(clustered, path), await get(single, path)];
    assert.deepEqual(a, b, path);
  }
  const instruments = await get(clustered, 'instruments-info?category=spot');
  assert.deepEqual(
    (instruments.body['result'] as { list: { symbol: string }[] }).list.map((i) => i.symbol),
    ['BTCUSDT', 'ETHUSDT'],
  );
  assert.equal((await get(clustered, 'nothing?category=spot')).status, 404);

  // Calls on the running market: the same shape and size from both.
  const moving = [
    'recent-trade?category=spot&symbol=BTCUSDT&limit=20',
    'kline?category=linear&symbol=BTCUSDT&interval=1&limit=3',
    'orderbook?category=spot&symbol=BTCUSDT&limit=5',
  ];
  for (const path of moving) {
    const [a, b] = [await get(clustered, path), await get(single, path)];
    assert.deepEqual(
      { status: a.status, contentType: a.contentType, retCode: a.body['retCode'] },
      { status: 200, contentType: b.contentType, retCode: 0 },
      path,
    );
    const shape = (x: Answer) =>
      Object.fromEntries(
        Object.entries(x.body['result'] as Record<string, unknown>).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.length : typeof v,
        ]),
      );
    assert.deepEqual(shape(a), shape(b), path);
  }
  const trades = (await get(clustered, 'recent-trade?category=spot&symbol=BTCUSDT&limit=20')).body[
    'result'
  ] as { list: { execId: string }[] };
  const ids = trades.list.map((x) => Number(x.execId));
  // Newest first, one id per trade: the exchange's answer as it sent it.
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! - 1);

  // Bybit's SDK, unmodified, its base URL the clustered gateway's `/bybit`.
  const sdk = new RestClientV5({ baseUrl: `${clustered.url}/bybit` });
  const eth = await sdk.getInstrumentsInfo({ category: 'spot', symbol: 'ETHUSDT' });
  assert.equal(eth.retCode, 0);
  assert.deepEqual(
    eth.result.list.map((i) => i.symbol),
    ['ETHUSDT'],
  );
  const book = await sdk.getOrderbook({ category: 'linear', symbol: 'BTCUSDT', limit: 10 });
  assert.equal(book.retCode, 0);
  assert.equal(book.result.s, 'BTCUSDT');
  for (const side of [book.result.b, book.result.a]) assert.ok(side.length >= 1 && side.length <= 10);
  const sdkTrades = await sdk.getPublicTradingHistory({ category: 'spot', symbol: 'BTCUSDT', limit: 20 });
  assert.equal(sdkTrades.retCode, 0);
  assert.equal(sdkTrades.result.list.length, 20);
  const candles = await sdk.getKline({ category: 'spot', symbol: 'ETHUSDT', interval: '1', limit: 4 });
  assert.equal(candles.retCode, 0);
  assert.equal(candles.result.list.length, 4);

  // Every Bybit call of the clustered gateway went over the spot feed's subject (the market REST API is
  // one for both categories); the gateway itself called the exchange never.
  await observer.flush();
  assert.ok(requests.length > 0);
  assert.deepEqual([...new Set(requests)], ['svc.bybit.spot.rest']);

  // Each client address gets Bybit's 600 requests per 5 s window in both modes, the next ones refused
  // alike. A client address of its own (127.0.0.x), so the calls above do not count; both bursts start
  // at a window's start and must end within it (the windows are the epoch's 5 s slices), else they run
  // again from another address. instruments-info is kept per query on the gateway, so a burst costs
  // the exchange one call per gateway.
  const burst = async (gateway: RunningGateway, localAddress: string) => {
    const answers: Answer[] = [];
    for (let sent = 0; sent < CLIENT_REQUESTS + 2; sent += 100) {
      const batch = Math.min(100, CLIENT_REQUESTS + 2 - sent);
      answers.push(
        ...(await Promise.all(
          Array.from({ length: batch }, () => get(gateway, 'instruments-info?category=linear', localAddress)),
        )),
      );
    }
    return answers;
  };
  const before = simulator.bybitRestRequests('instruments-info');
  const bursts = await burstsWithinOneWindow(t, WINDOW_MS, 100, burst, [clustered, single]);
  assert.ok(bursts !== undefined, 'no burst ended within its window');
  const [ofClustered, ofSingle] = bursts;
  const refusals = (answers: Answer[]) => answers.filter((a) => a.status !== 200);
  assert.equal(ofSingle.length - refusals(ofSingle).length, CLIENT_REQUESTS);
  assert.equal(ofClustered.length - refusals(ofClustered).length, CLIENT_REQUESTS);
  assert.deepEqual(refusals(ofClustered), refusals(ofSingle));
  assert.equal(refusals(ofSingle)[0]?.status, 429);
  assert.equal(simulator.bybitRestRequests('instruments-info') - before, 2);
});
