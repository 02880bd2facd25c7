/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The status page in real headless Chromium against a real gateway and its embedded simulator: no
 * console error, figures equal to the JSON metrics document, charts drawn, retries rising within 3 s
 * of a fault, and METRICS_TOKEN honoured. Runs for both implementations.
 * `UPDATE_SCREENSHOT=1` also writes docs/status-page.png (the README shows it).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { Registry } from 'prom-client';
import type { RunningGateway } from '../../src/gateway/index.js';
import { MAX_EVENT_STREAMS_PER_ADDRESS } from '../../src/gateway/status/event-stream.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { launchBrowser } from './browser.js';
import { holdEvents } from './event-streams.js';

const SCREENSHOT = fileURLToPath(new URL('../../docs/status-page.png', import.meta.url));
const STREAMS = ['btcusdt@trade', 'ethusdt@trade', 'bnbusdt@bookTicker'];

/** Console errors and uncaught exceptions of a page. */
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

/** `data-metric` → `data-value` of every figure on the page (table cells excluded). */
function figures(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const el of document.querySelectorAll<HTMLElement>('[data-metric][data-format]')) {
      out[el.dataset.metric ?? ''] = el.dataset.value ?? '';
    }
    return out;
  });
}

function connectionRows(page: Page): Promise<Array<Record<string, string>>> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('tr[data-metric="connections"]')].map((tr) => {
      const row: Record<string, string> = {};
      for (const td of tr.querySelectorAll<HTMLElement>('td[data-metric]')) {
        row[(td.dataset.metric ?? '').replace('connections.', '')] = td.dataset.value ?? '';
      }
      return row;
    }),
  );
}

/** Pixels of each chart canvas in a series colour: a line was drawn, not only axes and grid. */
function seriesPixels(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const css = getComputedStyle(document.documentElement);
    // No named helper functions in here: tsx would wrap them in a __name() the page does not have.
    const colours = ['--accent', '--accent2']
      .map((name) => css.getPropertyValue(name).trim())
      .map((hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)));
    return [...document.querySelectorAll<HTMLCanvasElement>('[data-chart] canvas')].map((canvas) => {
      const ctx = canvas.getContext('2d');
      if (ctx === null) return 0;
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if ((data[i + 3] ?? 0) < 200) continue;
        if (colours.some((c) => c.every((v, k) => Math.abs((data[i + k] ?? 0) - v) < 24))) n++;
      }
      return n;
    });
  });
}

async function metricsJson(gateway: RunningGateway, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetchRaw(`${gateway.url}/api/ws/metrics?format=json`, { headers });
  assert.equal(res.status, 200);
  return JSON.parse(res.body).metrics as Record<string, unknown>;
}

function get(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | null)?.[key];
  return value;
}

async function withClients(gateway: RunningGateway, count: number, token?: string): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) {
    clients.push(await openClient(`${gateway.wsUrl}/stream?streams=${STREAMS.join('/')}`));
  }
  await waitFor('upstream open', async () => (await metricsJson(gateway, token)).activeConnections !== 0);
  return clients;
}

/** Figures that stay put while nothing changes in the test (rates and ages move every second). */
const STABLE = [
  'implementation',
  'version',
  'isHealthy',
  'activeConnections',
  'activeConnectionsHwm',
  'retryCount',
  'messageGaps',
  'activeStreams',
  'idleStreams',
  'overdueIdleStreams',
  'subscribers',
  'gateway.clients',
  'gateway.clientsHwm',
  'gateway.clientSubscriptions',
  'gateway.slowClientDisconnects',
  'connectionsNotShown',
];

for (const useNewWsManager of [true, false]) {
  const implementation = useNewWsManager ? 'WSManager' : 'Legacy';

  describe(`status page in Chromium (${implementation})`, () => {
    test('loads without console errors, matches the JSON metrics, draws charts, shows retries within 3 s of a fault', async (t) => {
      const browser = await launchBrowser(t);
      if (browser === undefined) return;
      const gateway = await startTestGateway({
        useNewWsManager,
        simulatorPort: 0,
        legacyReconnectDelayMs: 200,
      });
      const clients = await withClients(gateway, 2);
      try {
        const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
        const errors = watchConsole(page);
        await page.goto(`${gateway.url}/`);
        await page.waitForSelector('#live.ok', { timeout: 10_000 });

        // Freeze the page, then read it and the JSON document at the same moment.
        await page.click('#pause');
        const shown = await figures(page);
        const rows = await connectionRows(page);
        const json = await metricsJson(gateway);
        assert.equal(shown.implementation, implementation);
        for (const path of STABLE) {
          assert.equal(shown[path], String(get(json, path)), `data-metric="${path}"`);
        }
        assert.ok(Number(shown.uptimeSeconds) <= Number(json.uptimeSeconds));
        const jsonRows = json.connections as Array<Record<string, unknown>>;
        assert.equal(rows.length, jsonRows.length);
        assert.ok(rows.length > 0);
        for (const [i, row] of rows.entries()) {
          for (const key of ['id', 'state', 'streams', 'retries']) {
            assert.equal(row[key], String(jsonRows[i]?.[key]), `connections[${i}].${key}`);
          }
        }
        // Human formatting: the small counts read as they are.
        assert.equal(await page.textContent('[data-metric="gateway.clients"]'), '2');
        assert.match((await page.textContent('#health')) ?? '', /✔ Healthy/);

        await page.click('#pause');
        await waitFor('every chart to draw its line', async () =>
          (await seriesPixels(page)).every((n) => n > 20),
        );

        const before = Number((await figures(page)).retryCount);
        const simulator = gateway.simulator;
        assert.ok(simulator);
        const dropped = await fetchRaw(`${simulator.httpUrl}/faults/drop`, { method: 'POST' });
        assert.equal(dropped.status, 200);
        const faultAt = Date.now();
        await waitFor(
          'retries on the page to rise',
          async () => Number((await figures(page)).retryCount) > before,
          3000,
        );
        t.diagnostic(`retries rose on the page ${Date.now() - faultAt} ms after the fault`);

        if (process.env.UPDATE_SCREENSHOT === '1' && useNewWsManager) {
          await waitFor('recovery', async () => (await figures(page)).isHealthy === 'true');
          await page.waitForTimeout(3000);
          await page.screenshot({ path: SCREENSHOT, fullPage: true });
        }
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
        for (const c of clients) await c.close();
        await gateway.close();
      }
    });
  });
}

describe('status page with METRICS_TOKEN', () => {
  test('shows no data without the token, asks for it, and shows data once it is given', async (t) => {
    const browser = await launchBrowser(t);
    if (browser === undefined) return;
    const gateway = await startTestGateway({ simulatorPort: 0, metricsToken: 'page-token-1' });
    const clients = await withClients(gateway, 1, 'page-token-1');
    try {
      const page = await browser.newPage();
      const errors = watchConsole(page);
      const page200 = await page.goto(`${gateway.url}/status`);
      assert.equal(page200?.status(), 200, 'the page itself loads without the token');
      await page.waitForSelector('#token-form:not([hidden])');
      await page.waitForTimeout(1500);
      const withoutToken = await figures(page);
      assert.deepEqual(
        Object.entries(withoutToken).filter(([, v]) => v !== ''),
        [],
        'no figure carries data',
      );
      assert.equal(await page.locator('tr[data-metric="connections"]').count(), 0);

      await page.fill('#token', 'wrong-token');
      await page.click('#token-form button[type="submit"]');
      await page.waitForSelector('#token-error:not([hidden])');
      assert.equal((await figures(page)).implementation, '');

      await page.fill('#token', 'page-token-1');
      await page.click('#token-form button[type="submit"]');
      await page.waitForSelector('#live.ok');
      const shown = await figures(page);
      assert.equal(shown.implementation, 'Legacy');
      assert.equal(shown['gateway.clients'], '1');
      assert.ok(await page.isHidden('#token-form'));
      assert.ok(!page.url().includes('page-token-1'), 'the token never goes into the URL');
      assert.equal(
        await page.evaluate(() => sessionStorage.getItem('ws-manager-status-token')),
        'page-token-1',
      );

      // Phone width in dark mode: nothing wider than the screen, light text on a dark background.
      await page.setViewportSize({ width: 390, height: 800 });
      await page.emulateMedia({ colorScheme: 'dark' });
      const look = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        background: getComputedStyle(document.body).backgroundColor,
        text: getComputedStyle(document.body).color,
      }));
      assert.ok(look.overflow <= 0, `page is ${look.overflow} px wider than a phone`);
      assert.equal(look.background, 'rgb(13, 17, 23)');
      assert.equal(look.text, 'rgb(230, 237, 243)');
      // The only console errors are Chromium's own reports of the refused requests.
      assert.deepEqual(
        errors.filter((e) => !/status of 401/.test(e)),
        [],
      );
    } finally {
      await browser.close();
      for (const c of clients) await c.close();
      await gateway.close();
    }
  });
});

describe('status page event stream slots', () => {
  test('says why live updates are refused, goes live once a slot is free, and stays live as streams renew', async (t) => {
    const browser = await launchBrowser(t);
    if (browser === undefined) return;
    const registry = new Registry();
    // The streams' lifetime is shortened from 60 s to 3 s so renewals happen within the test.
    const gateway = await startTestGateway(
      { simulatorPort: 0 },
      { registry, statusEventStreamMaxAgeMs: 3000 },
    );
    const held: IncomingMessage[] = [];
    try {
      const page = await browser.newPage();
      const errors = watchConsole(page);
      // Chromium connects from 127.0.0.1 too: its address's share is taken, then the page opens.
      for (let i = 0; i < MAX_EVENT_STREAMS_PER_ADDRESS; i++)
        held.push(await holdEvents(gateway.url, '127.0.0.1'));
      await page.goto(`${gateway.url}/`);
      await page.waitForSelector('#notice:not([hidden])', { timeout: 5000 });
      assert.equal(
        await page.textContent('#notice'),
        `Live updates refused by the gateway: too many open status event streams from your address: it already holds ${MAX_EVENT_STREAMS_PER_ADDRESS}, the most one address may; close another status page. Trying again in 5 s.`,
      );
      assert.match((await page.textContent('#live')) ?? '', /refused/);
      assert.equal((await figures(page)).implementation, 'Legacy', 'the snapshot is still shown');

      // Once the address's streams are gone, the page's next try is served.
      for (const res of held.splice(0)) res.destroy();
      await page.waitForSelector('#live.ok', { timeout: 10_000 });
      assert.ok(await page.isHidden('#notice'));
      const requests = async () =>
        (await registry.getSingleMetric('ws_gateway_http_requests_total')?.get())?.values
          .filter((v) => v.labels.route === 'status_events' && v.labels.status === '200')
          .reduce((n, v) => n + v.value, 0) ?? 0;
      const opened = await requests();
      const states = new Set<string>();
      const firstTime = await page.getAttribute('[data-metric="timestamp"]', 'data-value');
      for (let i = 0; i < 35; i++) {
        states.add((await page.getAttribute('#live', 'class')) ?? '');
        await page.waitForTimeout(200);
      }
      assert.ok((await requests()) >= opened + 1, 'the stream was renewed');
      assert.deepEqual([...states], ['live ok'], 'live throughout the renewals');
      assert.notEqual(await page.getAttribute('[data-metric="timestamp"]', 'data-value'), firstTime);
      // The only console errors are Chromium's own reports of the refused request.
      assert.deepEqual(
        errors.filter((e) => !/status of 429/.test(e)),
        [],
      );
    } finally {
      await browser.close();
      for (const res of held) res.destroy();
      await gateway.close();
    }
  });
});
