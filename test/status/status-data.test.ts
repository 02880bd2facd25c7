/**
 * The status page's data without a browser: the fields added to the JSON metrics document, the
 * one-call endpoint with its history, the event stream, METRICS_TOKEN, the caps that keep it bounded.
 * Real gateways on loopback with the embedded simulator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { describe, test } from 'node:test';
import type { ConnectionInfo, StreamSource } from '../../src/core/stream-source.js';
import { MAX_EVENT_STREAMS, MAX_EVENT_STREAMS_PER_ADDRESS } from '../../src/gateway/status/event-stream.js';
import { RingBuffer } from '../../src/gateway/status/ring-buffer.js';
import { MAX_CONNECTION_ROWS, statusFields } from '../../src/gateway/status/status-fields.js';
import { fetchRaw, openClient, startTestGateway } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { holdEvents, openEvents } from './event-streams.js';

const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

type Doc = { timestamp: string; metrics: Record<string, unknown> };

async function getJson(url: string, token?: string): Promise<{ status: number; body: Doc }> {
  const res = await fetchRaw(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: JSON.parse(res.body) };
}

/** Opens the event stream and collects `snapshot` events until `count` arrived or the stream ended. */
function readEvents(url: string, count: number, headers: Record<string, string> = {}): Promise<Doc[]> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`status ${res.statusCode}`));
        res.resume();
        return;
      }
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      const docs: Doc[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          assert.match(block, /^event: snapshot\ndata: /);
          docs.push(JSON.parse(block.slice(block.indexOf('data: ') + 6)));
          if (docs.length === count) {
            req.destroy();
            resolve(docs);
          }
        }
      });
      // The gateway ended the stream: what arrived until then.
      res.on('end', () => resolve(docs));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status data structures', () => {
  test('the history ring keeps the newest samples in order and never grows past its capacity', () => {
    const ring = new RingBuffer<number>(900);
    for (let i = 0; i < 2000; i++) ring.push(i);
    assert.equal(ring.size, 900);
    const all = ring.toArray();
    assert.equal(all[0], 1100);
    assert.equal(all.at(-1), 1999);
    assert.throws(() => new RingBuffer(0), /capacity must be a positive integer/);
  });

  test('connection rows are capped, troubled ones first, and the rest counted', () => {
    const rows: ConnectionInfo[] = Array.from({ length: MAX_CONNECTION_ROWS + 5 }, (_, i) => ({
      id: `legacy-${i}`,
      state: i === 22 ? 'waiting' : 'open',
      streams: 1,
      openedAt: i === 22 ? undefined : 1000,
      lastMessageAt: 1500,
      retries: i === 22 ? 3 : 0,
    }));
    const source = {
      connections: () => rows,
      listStreams: () => [],
    } as unknown as StreamSource;
    const rates = { messagesInPerSecond: 0, messagesOutPerSecond: 0 };
    const fields = statusFields(source, { version: '1.2.3', startedAt: 0, rates }, 2000);
    assert.equal(fields.connections.length, MAX_CONNECTION_ROWS);
    assert.equal(fields.connectionsNotShown, 5);
    assert.deepEqual(fields.connections[0], {
      id: 'legacy-22',
      state: 'waiting',
      streams: 1,
      ageMs: null,
      lastMessageAgeMs: 500,
      retries: 3,
    });
    assert.equal(fields.connections[1]?.ageMs, 1000);
    assert.equal(fields.uptimeSeconds, 2);
  });
});

for (const useNewWsManager of [true, false]) {
  const implementation = useNewWsManager ? 'WSManager' : 'Legacy';
  describe(`status data (${implementation})`, () => {
    test('the metrics document carries version, uptime, rates, connection rows, top streams and the clients high-water mark', async () => {
      const gateway = await startTestGateway({ useNewWsManager, simulatorPort: 0 });
      const a = await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`);
      const b = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
      try {
        const m = await waitFor('a second sample with traffic', async () => {
          const doc = (await getJson(`${gateway.url}/api/ws/metrics?format=json`)).body.metrics;
          return (doc.messagesInPerSecond as number) > 0 && doc.activeConnections !== 0 ? doc : undefined;
        });
        assert.equal(m.implementation, implementation);
        assert.equal(m.version, VERSION);
        assert.equal(typeof m.uptimeSeconds, 'number');
        assert.ok((m.messagesOutPerSecond as number) > 0);
        const rows = m.connections as Array<Record<string, unknown>>;
        assert.equal(
          rows.length,
          useNewWsManager ? 1 : 3,
          'WSManager shares one socket; Legacy opens one per subscription',
        );
        for (const row of rows) {
          assert.deepEqual(Object.keys(row).sort(), [
            'ageMs',
            'id',
            'lastMessageAgeMs',
            'retries',
            'state',
            'streams',
          ]);
          assert.equal(row.state, 'open');
          assert.equal(typeof row.ageMs, 'number');
        }
        assert.equal(m.connectionsNotShown, 0);
        const top = m.topStreams as Array<{ stream: string; subscribers: number }>;
        assert.deepEqual(
          top.map((s) => [s.stream, s.subscribers]),
          [
            ['btcusdt@trade', 2],
            ['ethusdt@trade', 1],
          ],
        );
        assert.equal(m.overdueIdleStreams, 0);
        await b.close();
        const gw = await waitFor('one client left', async () => {
          const doc = (await getJson(`${gateway.url}/api/ws/metrics`)).body.metrics;
          const stats = doc.gateway as Record<string, number>;
          return stats.clients === 1 ? stats : undefined;
        });
        assert.equal(gw.clientsHwm, 2);
      } finally {
        await a.close();
        await b.close();
        await gateway.close();
      }
    });

    test('a dropped upstream shows in its connection row', async () => {
      const gateway = await startTestGateway({ useNewWsManager, simulatorPort: 0 });
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
      try {
        await waitFor(
          'open',
          async () => (await getJson(`${gateway.url}/api/ws/metrics`)).body.metrics.activeConnections === 1,
        );
        assert.ok(gateway.simulator);
        await fetchRaw(`${gateway.simulator.httpUrl}/faults/drop`, { method: 'POST' });
        const row = await waitFor('a row with retries', async () => {
          const rows = (await getJson(`${gateway.url}/api/ws/metrics`)).body.metrics.connections as Array<
            Record<string, unknown>
          >;
          return rows.find((r) => (r.retries as number) > 0);
        });
        assert.equal(row.retries, 1);
      } finally {
        await client.close();
        await gateway.close();
      }
    });
  });
}

describe('status endpoints', () => {
  test('the event stream sends the metrics document once a second; the one-call endpoint adds the history', async () => {
    const gateway = await startTestGateway({ simulatorPort: 0 });
    try {
      const started = Date.now();
      const docs = await readEvents(`${gateway.url}/api/ws/status/events`, 3);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1500, `3 events (one at once, then one a second) took ${elapsed} ms`);
      const json = (await getJson(`${gateway.url}/api/ws/metrics?format=json`)).body;
      for (const doc of docs) {
        assert.deepEqual(Object.keys(doc.metrics).sort(), Object.keys(json.metrics).sort());
      }
      const status = (await getJson(`${gateway.url}/api/ws/status`)).body as Doc & {
        history: Record<string, number[]>;
      };
      assert.deepEqual(Object.keys(status.metrics).sort(), Object.keys(json.metrics).sort());
      assert.deepEqual(Object.keys(status.history).sort(), [
        'activeConnections',
        'clients',
        'messageGaps',
        'messagesInPerSecond',
        'messagesOutPerSecond',
        'retryCount',
        't',
      ]);
      assert.ok((status.history.t?.length ?? 0) >= 2, 'sampled once a second');
      for (const column of Object.values(status.history))
        assert.equal(column.length, status.history.t?.length);
    } finally {
      await gateway.close();
    }
  });

  test('with METRICS_TOKEN the data needs the bearer token; the page does not', async () => {
    const gateway = await startTestGateway({ simulatorPort: 0, metricsToken: 'status-token' });
    try {
      assert.equal((await getJson(`${gateway.url}/api/ws/status`)).status, 401);
      await assert.rejects(readEvents(`${gateway.url}/api/ws/status/events`, 1), /status 401/);
      assert.equal((await getJson(`${gateway.url}/api/ws/status`, 'status-token')).status, 200);
      const docs = await readEvents(`${gateway.url}/api/ws/status/events`, 1, {
        authorization: 'Bearer status-token',
      });
      assert.equal(docs.length, 1);
      for (const path of ['/', '/status', '/status/status.js', '/status/uplot.js', '/status/uplot.css']) {
        const res = await fetchRaw(`${gateway.url}${path}`);
        assert.equal(res.status, 200, path);
        assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
      }
      const head = await fetchRaw(`${gateway.url}/`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      const page = (await fetchRaw(`${gateway.url}/`)).body;
      assert.doesNotMatch(page, /https?:\/\/(?!127\.0\.0\.1)/, 'nothing loaded from elsewhere');
    } finally {
      await gateway.close();
    }
  });

  test('event streams are capped; one over the cap gets 503', async () => {
    const gateway = await startTestGateway({ simulatorPort: 0 });
    const held: IncomingMessage[] = [];
    try {
      // Every address may hold its share: the slots fill from MAX_EVENT_STREAMS / share addresses.
      for (let i = 0; i < MAX_EVENT_STREAMS; i++) {
        const from = `127.0.1.${Math.floor(i / MAX_EVENT_STREAMS_PER_ADDRESS)}`;
        held.push(await holdEvents(gateway.url, from));
      }
      const over = await openEvents(gateway.url, '127.0.2.1');
      assert.ok('body' in over, `stream ${MAX_EVENT_STREAMS + 1} was served`);
      assert.equal(over.status, 503);
      assert.equal(over.headers['retry-after'], '5');
      assert.match(over.body, /too many open status event streams: all 64 this gateway serves are in use/);
    } finally {
      for (const res of held) res.destroy();
      await gateway.close();
    }
  });

  test('one address holds at most its share of the slots; the others are still served', async () => {
    const gateway = await startTestGateway({ simulatorPort: 0 });
    const held: IncomingMessage[] = [];
    try {
      for (let i = 0; i < MAX_EVENT_STREAMS_PER_ADDRESS; i++)
        held.push(await holdEvents(gateway.url, '127.0.3.1'));
      const over = await openEvents(gateway.url, '127.0.3.1');
      if ('res' in over) held.push(over.res);
      assert.ok('body' in over, `stream ${MAX_EVENT_STREAMS_PER_ADDRESS + 1} from one address was served`);
      assert.deepEqual(
        [over.status, over.headers['retry-after'], JSON.parse(over.body)],
        [
          429,
          '5',
          {
            success: false,
            error: `too many open status event streams from your address: it already holds ${MAX_EVENT_STREAMS_PER_ADDRESS}, the most one address may; close another status page`,
          },
        ],
        `stream ${MAX_EVENT_STREAMS_PER_ADDRESS + 1} from one address`,
      );
      held.push(await holdEvents(gateway.url, '127.0.3.2'));
      // A slot given back is the address's again.
      held.shift()?.destroy();
      await waitFor('the slot to be given back', async () => {
        const res = await holdEvents(gateway.url, '127.0.3.1').catch(() => undefined);
        if (res !== undefined) held.push(res);
        return res !== undefined;
      });
    } finally {
      for (const res of held) res.destroy();
      await gateway.close();
    }
  });

  test('a reader that does not read loses its slot when its stream ends; a reader gets a clean end', async () => {
    // The streams' lifetime is shortened from 60 s to 3 s so the test need not wait a minute.
    const maxAgeMs = 3000;
    const gateway = await startTestGateway({ simulatorPort: 0 }, { statusEventStreamMaxAgeMs: maxAgeMs });
    const held: IncomingMessage[] = [];
    try {
      const reading = readEvents(`${gateway.url}/api/ws/status/events`, 1000);
      for (let i = 0; i < MAX_EVENT_STREAMS - 1; i++) {
        held.push(await holdEvents(gateway.url, `127.0.4.${Math.floor(i / MAX_EVENT_STREAMS_PER_ADDRESS)}`));
      }
      const filledAt = Date.now();
      const refused = await openEvents(gateway.url, '127.0.5.1');
      if ('res' in refused) held.push(refused.res);
      assert.equal(refused.status, 503, 'every slot is held');
      let admitted: IncomingMessage | undefined;
      await waitFor(
        'a new page to be served once the readers that do not read lost their slots',
        async () => {
          admitted = await holdEvents(gateway.url, '127.0.5.1').catch(() => undefined);
          return admitted !== undefined;
        },
        maxAgeMs + 3000,
      ).catch(() => {
        throw new Error(`still refused ${Date.now() - filledAt} ms after the slots filled`);
      });
      if (admitted) held.push(admitted);
      const ended = await Promise.race([reading, new Promise<undefined>((r) => setTimeout(r, 3000))]);
      assert.ok(
        ended !== undefined && ended.length >= 1,
        'the reader got snapshots, then the end of its stream',
      );
    } finally {
      for (const res of held) res.destroy();
      await gateway.close();
    }
  });
});
