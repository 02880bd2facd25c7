/**
 * A gateway serving Binance and Bybit shows every venue on /api/ws/metrics: the upstream series carry
 * `venue` (Bybit's spot and linear managers add up into `venue="bybit"`), the JSON document has a
 * per-venue block beside the unchanged Binance fields, and the health verdict counts the Bybit source:
 * refused upstream, the gateway turns unhealthy with a reason naming the venue.
 * Bybit comes from a simulator of its own so that refusing its upgrades leaves Binance's alone.
 * HEALTH_GRACE_SECONDS=1 (the minimum) keeps the wait for the verdict short.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { RunningGateway } from '../../src/gateway/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

let gateway: RunningGateway;
let bybit: Simulator;
const clients: TestClient[] = [];
type Line = Record<string, unknown>;
const lines: Line[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as Line);
    done();
  },
});

before(async () => {
  bybit = await startSimulator({ rate: 20 });
  gateway = await startTestGateway(
    {
      useNewWsManager: true,
      venues: ['binance', 'bybit'],
      bybitUrl: `${bybit.url}/bybit`,
      healthGraceSeconds: 1,
      // The activity line comes every 300 ms here (a minute by default) so the test does not wait for it.
    },
    { logger: pino({ level: 'info' }, sink), summaryIntervalMs: 300 },
  );
});

after(async () => {
  for (const client of clients) await client.close();
  await gateway.close();
  await bybit.close();
});

async function client(path: string): Promise<TestClient> {
  const opened = await openClient(`${gateway.wsUrl}${path}`);
  clients.push(opened);
  return opened;
}

async function prometheus(): Promise<string> {
  return (await fetchRaw(`${gateway.url}/api/ws/metrics?format=prometheus`)).body;
}

/** The value of the one series `series` (name and labels as exposed), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

type Figures = {
  activeConnections: number;
  subscribers: number;
  isHealthy: boolean;
  healthReason: string | null;
};
type Document = {
  metrics: {
    activeConnections: number;
    implementation: string;
    isHealthy: boolean;
    healthReason: string | null;
    venues: Record<string, Record<string, Figures>>;
  };
};

async function document(): Promise<Document> {
  return JSON.parse((await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`)).body) as Document;
}

describe('upstream metrics per venue', () => {
  it('shows each venue its own series once a Bybit client subscribes', async () => {
    await client('/ws/btcusdt@trade');
    const spot = await client('/bybit/v5/public/spot');
    const linear = await client('/bybit/v5/public/linear');
    spot.ws.send('{"op":"subscribe","req_id":"s","args":["publicTrade.BTCUSDT"]}');
    linear.ws.send('{"op":"subscribe","req_id":"l","args":["publicTrade.BTCUSDT","publicTrade.ETHUSDT"]}');
    await waitFor('a trade on each Bybit client', () =>
      [spot, linear].every((c) => c.messages.some((m) => m.startsWith('{"topic":"publicTrade.'))),
    );
    const text = await waitFor('both Bybit markets connected', async () => {
      const t = await prometheus();
      return sample(t, 'ws_manager_active_connections{venue="bybit"}') === 2 ? t : undefined;
    });
    assert.equal(sample(text, 'ws_manager_active_connections{venue="binance"}'), 1);
    assert.equal(sample(text, 'ws_manager_active_connections_hwm{venue="bybit"}'), 2);
    assert.equal(sample(text, 'ws_manager_stream_creations_total{venue="bybit"}'), 3, 'one spot, two linear');
    assert.equal(sample(text, 'ws_manager_stream_creations_total{venue="binance"}'), 1);
    assert.equal(sample(text, 'ws_manager_subscribers{venue="bybit"}'), 3);
    assert.equal(sample(text, 'ws_manager_healthy{venue="bybit"}'), 1);
    assert.equal(sample(text, 'ws_manager_upstream_connect_attempts_total{venue="bybit"}'), 2);
    // Each venue against its own limit: Bybit 2 attempts of 500 (its markets summed), Binance 1 of 300.
    assert.equal(sample(text, 'ws_manager_upstream_connect_budget_ratio{venue="bybit"}'), 2 / 500);
    assert.equal(sample(text, 'ws_manager_upstream_connect_budget_ratio{venue="binance"}'), 1 / 300);
    assert.equal(sample(text, 'ws_manager_info{implementation="WSManager"}'), 1);
    assert.ok((sample(text, 'ws_manager_messages_received_total{venue="bybit"}') ?? 0) >= 2);

    const { metrics } = await document();
    assert.equal(metrics.activeConnections, 1, 'the top-level fields stay the Binance source');
    assert.equal(metrics.implementation, 'WSManager');
    assert.equal(metrics.venues['binance']?.['spot']?.activeConnections, 1);
    assert.equal(metrics.venues['bybit']?.['spot']?.activeConnections, 1);
    assert.equal(metrics.venues['bybit']?.['linear']?.activeConnections, 1);
    assert.equal(metrics.venues['bybit']?.['linear']?.subscribers, 2);
    assert.equal(metrics.venues['bybit']?.['spot']?.healthReason, null);
    assert.equal((await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status, 200);

    type Activity = {
      streams: number;
      upstreamConnections: number;
      messagesInPerSecond: number;
      healthy: boolean;
    };
    const start = lines.length;
    const activity = await waitFor('an activity line with each Bybit market', () =>
      lines
        .slice(start)
        .find((l) => String(l['msg']).startsWith('Gateway activity') && l['venues'] !== undefined),
    );
    const venues = activity['venues'] as Record<string, Activity>;
    assert.deepEqual(Object.keys(venues), ['bybit/spot', 'bybit/linear']);
    assert.equal(venues['bybit/spot']?.streams, 1);
    assert.equal(venues['bybit/linear']?.streams, 2);
    assert.equal(venues['bybit/linear']?.upstreamConnections, 1);
    assert.equal(venues['bybit/spot']?.healthy, true);
    assert.equal(activity['streams'], 1, 'the top-level figures stay the Binance source');
    assert.match(
      String(activity['msg']),
      /; bybit\/spot 1 streams, [\d.]+ msgs\/s in; bybit\/linear 2 streams, /,
    );
  });

  it('turns unhealthy naming the venue when the Bybit upstream is refused', async () => {
    bybit.refuseConnections(60_000, 503);
    bybit.dropConnections();
    // Each market's source passes its grace on its own; wait for both, then read every view of the verdict.
    const { metrics } = await waitFor('both Bybit markets unhealthy', async () => {
      const doc = await document();
      const bybitMarkets = doc.metrics.venues['bybit'] ?? {};
      return bybitMarkets['spot']?.isHealthy === false && bybitMarkets['linear']?.isHealthy === false
        ? doc
        : undefined;
    });
    assert.equal(metrics.isHealthy, false);
    assert.match(metrics.healthReason ?? '', /^bybit\/spot: .+; bybit\/linear: .+$/);
    assert.doesNotMatch(metrics.healthReason ?? '', /binance/);
    assert.equal(metrics.venues['binance']?.['spot']?.isHealthy, true);
    assert.equal(metrics.activeConnections, 1, 'Binance still connected');
    const head = await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 503);
    const ready = await fetchRaw(`${gateway.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((JSON.parse(ready.body) as { reason: string }).reason, metrics.healthReason);
    const text = await prometheus();
    assert.equal(sample(text, 'ws_manager_healthy{venue="bybit"}'), 0);
    assert.equal(sample(text, 'ws_manager_healthy{venue="binance"}'), 1);
    assert.equal(sample(text, 'ws_manager_active_connections{venue="bybit"}'), 0);
    assert.equal(sample(text, 'ws_manager_active_connections{venue="binance"}'), 1);
  });
});
