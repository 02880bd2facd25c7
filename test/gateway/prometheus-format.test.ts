/**
 * The Prometheus exposition is parsed properly (a strict parser of text format 0.0.4 here, and
 * `promtool check metrics` where installed) and the SAMPLE VALUES are asserted, not substrings.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/gateway/index.js';
import { haveBinaries } from '../support/system-tools.js';
import { waitFor } from '../support/wait-for.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from './helpers.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses Prometheus text format 0.0.4, throwing on anything a scraper would reject. */
function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue;
      assert.match(m[2]!, NAME, where);
      if (m[1] === 'TYPE') {
        assert.ok(TYPES.has(m[3]!), `${where}: unknown type`);
        assert.equal(types.has(m[2]!), false, `${where}: TYPE repeated`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, types);
    assert.ok(family, `${where}: sample before its TYPE`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    assert.equal(seen.has(key), false, `${where}: duplicate series`);
    seen.add(key);
    samples.push(sample);
  }
  return { types, samples };
}

function parseSample(line: string, where: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  assert.ok(m, `${where}: not a sample line`);
  const labels: Record<string, string> = {};
  let rest = m[2] ? m[2].slice(1, -1) : '';
  while (rest.length > 0) {
    const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    assert.ok(lm, `${where}: bad label set`);
    assert.equal(lm[1]! in labels, false, `${where}: repeated label`);
    labels[lm[1]!] = lm[2]!.replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(lm[0].length);
  }
  // Prometheus parses values with Go's strconv.ParseFloat, which takes NaN/Inf in any letter case
  // (prom-client writes `Nan`).
  const raw = m[3]!;
  const special = /^(?:([+-]?)inf|(nan))$/i.exec(raw);
  const value = special ? (special[2] ? Number.NaN : special[1] === '-' ? -Infinity : Infinity) : Number(raw);
  assert.ok(special || (raw.length > 0 && !Number.isNaN(value)), `${where}: value ${raw}`);
  return { name: m[1]!, labels, value };
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && ['histogram', 'summary'].includes(types.get(base) ?? '')) return base;
  }
  return undefined;
}

function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}

describe('Prometheus exposition', () => {
  let gateway: RunningGateway;
  const clients: TestClient[] = [];

  before(async () => {
    gateway = await startTestGateway({ useNewWsManager: true });
    for (let i = 0; i < 3; i++) clients.push(await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`));
    clients.push(await openClient(`${gateway.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade`));
    await waitFor('events on every client', () => clients.every((c) => c.messages.length >= 2));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await gateway.close();
  });

  async function scrape(): Promise<string> {
    const res = await fetchRaw(`${gateway.url}/api/ws/metrics?format=prometheus`);
    assert.equal(res.status, 200);
    return res.body;
  }

  it('parses strictly and carries the expected sample values', async () => {
    const exposition = parseExposition(await scrape());
    assert.equal(value(exposition, 'ws_gateway_clients'), 4);
    assert.equal(value(exposition, 'ws_gateway_client_subscriptions'), 5);
    assert.equal(value(exposition, 'ws_manager_subscribers'), 5);
    assert.equal(value(exposition, 'ws_manager_active_streams'), 2);
    assert.equal(value(exposition, 'ws_manager_active_connections'), 1, 'one shared upstream connection');
    assert.equal(value(exposition, 'ws_manager_stream_creations_total'), 2);
    assert.equal(value(exposition, 'ws_manager_info', { implementation: 'WSManager' }), 1);
    assert.equal(value(exposition, 'ws_manager_healthy'), 1);
    assert.equal(value(exposition, 'ws_gateway_slow_client_disconnects_total'), 0);
    assert.ok(value(exposition, 'ws_gateway_messages_sent_total') >= 8);
    assert.ok(value(exposition, 'ws_manager_messages_received_total') >= 2);
    assert.equal(exposition.types.get('ws_manager_reconnect_duration_seconds'), 'histogram');
    assert.equal(
      value(exposition, 'ws_manager_reconnect_duration_seconds_bucket', { le: '+Inf' }),
      value(exposition, 'ws_manager_reconnect_duration_seconds_count'),
    );
    assert.ok(exposition.types.has('process_cpu_seconds_total'), 'default process metrics');
    assert.ok(exposition.types.has('nodejs_eventloop_lag_seconds'), 'default nodejs metrics');
    for (const [name, type] of exposition.types) {
      if (type === 'counter') assert.match(name, /_total$/, `${name} counter ends in _total`);
    }
  });

  it('counts what a later scrape sees (values move, not just exist)', async () => {
    const first = value(parseExposition(await scrape()), 'ws_gateway_messages_sent_total');
    await waitFor(
      'more',
      async () => value(parseExposition(await scrape()), 'ws_gateway_messages_sent_total') > first,
    );
    const json = JSON.parse((await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`)).body);
    assert.equal(json.metrics.gateway.clients, 4);
  });

  it('passes promtool check metrics with no lint notes, default process metrics included', async (t) => {
    if (!haveBinaries(t, ['promtool'])) return;
    const exposition = await scrape();
    assert.match(exposition, /^process_cpu_seconds_total /m);
    assert.match(exposition, /^nodejs_eventloop_lag_seconds /m);
    const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    assert.equal(`${run.stdout}${run.stderr}`.trim(), '');
    assert.equal(run.status, 0, `promtool exit ${run.status}`);
  });
});
