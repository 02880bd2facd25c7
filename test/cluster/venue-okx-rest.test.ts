/**
 * OKX's REST calls (`/okx/api/v5/market/*`, `/okx/api/v5/public/instruments`) through a clustered
 * gateway, against a single-process gateway on the same simulator: the same statuses, bodies, errors
 * and per-client budget, the calls reaching the exchange only from the ingest node over NATS
 * (`svc.okx.rest`), OKX's own SDK (`okx-api` RestClient, unmodified) reading them, and with no ingest
 * node left OKX's system error at once; and the same client load costing the simulator the same OKX
 * requests through one gateway and through three. Real nats-server, simulator, ingest node and
 * gateways on loopback.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { RestClient } from 'okx-api';
import type { RunningGateway } from '../../src/roles/start-gateway.js';
import type { RunningIngest } from '../../src/roles/start-ingest.js';
import type { Simulator } from '../../src/simulator/index.js';
import { fetchRaw, type HttpResult } from '../gateway/helpers.js';
import { burstsWithinOneWindow, startRestCluster } from './venue-cluster.js';

/** OKX's budget per client address, in units of a `books` request: 40 per 2 s; instruments weigh 2. */
const INSTRUMENT_CALLS_PER_WINDOW = 20;
const WINDOW_MS = 2000;
/**
 * Client addresses of their own per part of the first test, each within OKX's 40 units per 2 s at the
 * gateway (history-trades weighs 4); the SDK's calls come from 127.0.0.1. The simulator's own limits
 * apply to the ingest node and the single-process gateway together (both call from 127.0.0.1): the
 * history-trades calls below stay under its 10 per 2 s.
 */
const STILL = '127.0.0.5';
const MOVING = '127.0.0.6';
const ENDPOINTS = [
  'public/instruments',
  'market/books',
  'market/trades',
  'market/history-trades',
  'market/candles',
] as const;

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: { code: string; msg: string; data: unknown[] };
}

function answerOf(res: HttpResult): Answer {
  return {
    status: res.status,
    contentType: res.headers['content-type'] as string | undefined,
    body: JSON.parse(res.body) as Answer['body'],
  };
}

async function get(gateway: RunningGateway, path: string, localAddress?: string): Promise<Answer> {
  return answerOf(
    await fetchRaw(`${gateway.url}/okx/api/v5/${path}`, localAddress === undefined ? {} : { localAddress }),
  );
}

/** The simulator's count of OKX requests per endpoint. */
function requestsAt(simulator: Simulator): Record<string, number> {
  return Object.fromEntries(ENDPOINTS.map((e) => [e, simulator.okxRestRequests(e)]));
}

interface Cluster {
  readonly simulator: Simulator;
  readonly gateways: RunningGateway[];
  readonly natsUrl: string;
  readonly ingest: RunningIngest;
  /** A single-process gateway on the same simulator, when asked for. */
  readonly single: RunningGateway | undefined;
}

/** nats-server, a simulator, one ingest node carrying OKX, `gateways` clustered gateways; undefined without nats-server. */
async function startCluster(
  t: TestContext,
  gateways: number,
  withSingle: boolean,
): Promise<Cluster | undefined> {
  const cluster = await startRestCluster(t, 'okx', ['btcusdt', 'ethusdt']);
  if (cluster === undefined) return undefined;
  const ingest = await cluster.startIngest('ingest');
  const started = await cluster.startGateways(Array.from({ length: gateways }, (_, g) => `gw${g}`));
  const single = withSingle ? await cluster.startSingleGateway() : undefined;
  return { simulator: cluster.simulator, gateways: started, natsUrl: cluster.nats.url, ingest, single };
}

test('a clustered gateway answers OKX REST as a single-process gateway does, through the ingest tier', async (t) => {
  const cluster = await startCluster(t, 1, true);
  if (cluster === undefined) return t.skip('nats-server is not installed');
  const { simulator } = cluster;
  const clustered = cluster.gateways[0]!;
  const single = cluster.single!;

  // What goes over NATS for OKX's REST: requests on the okx feed's REST subject only.
  const observer = await connect({ servers: cluster.natsUrl });
  t.after(() => observer.close());
  const requests: string[] = [];
  observer.subscribe('svc.>', {
    callback: (_, msg) => {
      requests.push(msg.subject);
    },
  });
  await observer.flush();

  // The simulator's trade history reaches back from its first request, as OKX's does: a cursor below
  // the newest trade names pages that no longer move.
  const [newest] = (await get(single, 'market/trades?instId=BTC-USDT&limit=1')).body.data as {
    tradeId: string;
  }[];
  const cursor = Number(newest!.tradeId) - 40;

  const answers = new Map<string, Answer>();
  const still = [
    'public/instruments?instType=SPOT',
    'public/instruments?instType=SWAP',
    'public/instruments',
    'market/books',
    'market/books?instId=BTC-USDT&sz=0',
    'market/books?instId=nope',
    'market/trades?instId=BTC-USDT&limit=501',
    `market/history-trades?instId=BTC-USDT&after=${cursor}&limit=30`,
    `market/history-trades?instId=BTC-USDT&before=${cursor - 50}&limit=20`,
    'market/history-trades?instId=BTC-USDT&type=2',
    'market/candles?instId=ETH-USDT&bar=7m',
    'market/tickers?instType=SPOT',
    'public/time',
    'market/nothing',
  ];
  const outcomes: string[] = [];
  for (const path of still) {
    const [a, b] = [await get(clustered, path, STILL), await get(single, path, STILL)];
    assert.deepEqual(a, b, path);
    answers.set(path, a);
    outcomes.push(`${a.status} ${a.body.code} ${a.body.data.length}`);
  }
  // The exchange's own answers to bad parameters (HTTP 200, its code), the gateway's 404 for what it
  // does not serve.
  assert.deepEqual(outcomes, [
    '200 0 2',
    '200 0 0',
    '200 50014 0',
    '200 50014 0',
    '200 51000 0',
    '200 51001 0',
    '200 51000 0',
    '200 0 30',
    '200 0 20',
    '200 51000 0',
    '200 51000 0',
    '404 50404 0',
    '404 50404 0',
    '404 50404 0',
  ]);
  assert.deepEqual(
    (answers.get('public/instruments?instType=SPOT')!.body.data as { instId: string }[]).map((i) => i.instId),
    ['BTC-USDT', 'ETH-USDT'],
  );
  const page = answers.get(`market/history-trades?instId=BTC-USDT&after=${cursor}&limit=30`)!.body.data as {
    tradeId: string;
  }[];
  assert.deepEqual(
    page.map((x) => Number(x.tradeId)),
    Array.from({ length: 30 }, (_, i) => cursor - 1 - i),
  );

  // Calls on the running market: the same status, code and size from both.
  const moving = [
    'market/books?instId=BTC-USDT&sz=5',
    'market/trades?instId=BTC-USDT&limit=20',
    'market/history-trades?instId=ETH-USDT&limit=15',
    'market/candles?instId=ETH-USDT&bar=1m&limit=3',
  ];
  for (const path of moving) {
    const [a, b] = [await get(clustered, path, MOVING), await get(single, path, MOVING)];
    const shape = (x: Answer) => ({
      status: x.status,
      contentType: x.contentType,
      code: x.body.code,
      rows: x.body.data.length,
      fields: Object.keys((x.body.data[0] ?? {}) as object).sort(),
    });
    assert.deepEqual(shape(a), shape(b), path);
    assert.equal(a.body.code, '0', path);
  }
  const [book] = (await get(clustered, 'market/books?instId=BTC-USDT&sz=5', MOVING)).body.data as {
    bids: unknown[];
    asks: unknown[];
  }[];
  assert.deepEqual([book!.bids.length, book!.asks.length], [5, 5]);
  const trades = (await get(clustered, 'market/trades?instId=BTC-USDT&limit=20', MOVING)).body.data as {
    tradeId: string;
  }[];
  const ids = trades.map((x) => Number(x.tradeId));
  // Newest first, one id per trade: the exchange's answer as it sent it.
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! - 1);

  // OKX's SDK, unmodified, its base URL the clustered gateway's `/okx`.
  const sdk = new RestClient({ baseUrl: `${clustered.url}/okx` });
  assert.deepEqual(
    (await sdk.getInstruments({ instType: 'SPOT' })).map((i) => i.instId),
    ['BTC-USDT', 'ETH-USDT'],
  );
  const [sdkBook] = await sdk.getOrderBook({ instId: 'ETH-USDT', sz: '10' });
  assert.deepEqual([sdkBook!.bids.length, sdkBook!.asks.length], [10, 10]);
  assert.ok(Number(sdkBook!.bids[0]![0]) < Number(sdkBook!.asks[0]![0]));
  assert.equal((await sdk.getTrades({ instId: 'BTC-USDT', limit: 20 })).length, 20);
  const history = await sdk.getHistoricTrades({ instId: 'BTC-USDT', after: String(cursor), limit: '10' });
  assert.deepEqual(
    history.map((x) => Number(x.tradeId)),
    Array.from({ length: 10 }, (_, i) => cursor - 1 - i),
  );
  assert.equal((await sdk.getCandles({ instId: 'ETH-USDT', bar: '1m', limit: '2' })).length, 2);

  // Every OKX call of the clustered gateway went over the okx feed's REST subject; the gateway itself
  // called the exchange never, and asked for no book snapshot.
  await observer.flush();
  assert.ok(requests.length > 0);
  assert.deepEqual([...new Set(requests)], ['svc.okx.rest']);

  // Each client address gets OKX's 40 units per 2 s in both modes (20 instruments calls), the next ones
  // refused alike. A client address of its own (127.0.0.x), so the calls above do not count; both bursts
  // start at a window's start and must end within it (the windows are the epoch's 2 s slices), else
  // they run again from another address. Instruments are kept per query on the gateway, so a burst costs
  // the exchange one call per gateway at most.
  const burst = (gateway: RunningGateway, localAddress: string) =>
    Promise.all(
      Array.from({ length: INSTRUMENT_CALLS_PER_WINDOW + 2 }, () =>
        get(gateway, 'public/instruments?instType=FUTURES', localAddress),
      ),
    );
  const before = simulator.okxRestRequests('public/instruments');
  const bursts = await burstsWithinOneWindow(t, WINDOW_MS, 50, burst, [clustered, single]);
  assert.ok(bursts !== undefined, 'no burst ended within its window');
  const [ofClustered, ofSingle] = bursts;
  const refusals = (answers: Answer[]) => answers.filter((a) => a.status !== 200);
  assert.equal(ofSingle.length - refusals(ofSingle).length, INSTRUMENT_CALLS_PER_WINDOW);
  assert.equal(ofClustered.length - refusals(ofClustered).length, INSTRUMENT_CALLS_PER_WINDOW);
  assert.deepEqual(refusals(ofClustered), refusals(ofSingle));
  assert.deepEqual(refusals(ofSingle)[0], {
    status: 429,
    contentType: 'application/json',
    body: {
      code: '50011',
      msg: 'Rate limit reached. Please refer to API documentation and throttle requests accordingly.',
      data: [],
    },
  });
  assert.ok(simulator.okxRestRequests('public/instruments') - before <= 2);

  // No ingest node carrying OKX: the gateway answers at once, as one process whose OKX is unreachable
  // does, with OKX's system error; never a hang.
  await cluster.ingest.close();
  // The observer's subscription would receive the requests itself (and never answer them).
  await observer.close();
  const started = Date.now();
  assert.deepEqual(await get(clustered, 'market/trades?instId=BTC-USDT&limit=5'), {
    status: 502,
    contentType: 'application/json',
    body: { code: '50026', msg: 'System error. Try again later.', data: [] },
  });
  assert.ok(Date.now() - started < 1000, 'answered without waiting for a timeout');
});

/** Each client's calls, in the order a client library starting up makes them. */
const CLIENT_CALLS = [
  'public/instruments?instType=SPOT',
  'public/instruments?instType=SWAP',
  'market/books?instId=BTC-USDT&sz=50',
  'market/trades?instId=BTC-USDT&limit=10',
  'market/history-trades?instId=BTC-USDT&limit=10',
  'market/candles?instId=BTC-USDT&bar=1m&limit=5',
];
const CLIENTS = 3;

async function requestsOfLoad(t: TestContext, gateways: number): Promise<Record<string, number> | undefined> {
  const cluster = await startCluster(t, gateways, false);
  if (cluster === undefined) return undefined;
  const before = requestsAt(cluster.simulator);
  for (let c = 0; c < CLIENTS; c++) {
    const gateway = cluster.gateways[c % gateways]!;
    for (const call of CLIENT_CALLS) {
      const answer = await get(gateway, call);
      assert.deepEqual(
        [answer.status, answer.body.code],
        [200, '0'],
        `${call} through gateway ${c % gateways}`,
      );
    }
  }
  const after = requestsAt(cluster.simulator);
  return Object.fromEntries(ENDPOINTS.map((e) => [e, after[e]! - before[e]!]));
}

test('the same client load costs OKX the same requests through 1 and through 3 gateways', async (t) => {
  const runs: Record<string, number>[] = [];
  for (const gateways of [1, 3]) {
    // Each run its own cluster, closed before the next starts.
    await t.test(`${gateways} gateway(s)`, async (st) => {
      const cost = await requestsOfLoad(st, gateways);
      if (cost !== undefined) runs.push(cost);
    });
  }
  if (runs.length < 2) return t.skip('nats-server is not installed');
  const [one, three] = runs;
  t.diagnostic(`one gateway ${JSON.stringify(one)}, three ${JSON.stringify(three)}`);
  // Each instruments query once (kept by the ingest node for every gateway), every other call once per
  // client: what one process with the same clients spends. Three gateways asking the exchange
  // themselves would have cost 6 instruments calls.
  const expected = {
    'public/instruments': 2,
    'market/books': CLIENTS,
    'market/trades': CLIENTS,
    'market/history-trades': CLIENTS,
    'market/candles': CLIENTS,
  };
  assert.deepEqual({ one, three }, { one: expected, three: expected });
});
