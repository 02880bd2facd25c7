/**
 * The legacy baseline keeps its fixed-delay reconnect and never replaces a silent socket, but a served
 * stream silent past UPSTREAM_STALL_TIMEOUT_SECONDS makes the gateway unhealthy. The timeout is shortened
 * to 1 s (the production default is 50 s) so the test does not wait a minute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/gateway/index.js';
import { fetchRaw, openClient, startTestGateway, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';

describe('Legacy health with a stalled upstream', () => {
  let gateway: RunningGateway;
  let client: TestClient;
  before(async () => {
    gateway = await startTestGateway({
      useNewWsManager: false,
      upstreamStallTimeoutSeconds: 1,
      legacyReconnectDelayMs: 200,
    });
    client = await openClient(`${gateway.wsUrl}/ws/btcusdt@trade`);
  });
  after(async () => {
    await client.close();
    await gateway.close();
  });

  const readyz = async () => (await fetchRaw(`${gateway.url}/readyz`)).status;
  const metricsHead = async () =>
    (await fetchRaw(`${gateway.url}/api/ws/metrics`, { method: 'HEAD' })).status;

  it('turns unready while a served stream is silent past the stall timeout, ready once it flows again', async () => {
    await waitFor('events', () => client.messages.length > 3);
    assert.equal(await readyz(), 200);
    assert.equal(await metricsHead(), 200);

    const sim = gateway.simulator!;
    const upstreamId = sim.stats().connections[0]?.id;
    assert.equal(sim.stall(), 1);
    const stalledAt = Date.now();
    await waitFor('readyz 503 after the stall', async () => (await readyz()) === 503, 5000);
    const silentFor = Date.now() - stalledAt;
    // Silence began with the last event before the stall, at most one event interval (50 ms at rate 20) earlier.
    assert.ok(silentFor >= 900, `unready only after the stall timeout, took ${silentFor} ms`);
    assert.equal(await metricsHead(), 503);
    const body = JSON.parse((await fetchRaw(`${gateway.url}/readyz`)).body) as { reason: string };
    assert.match(body.reason, /^upstream silent for more than 1 s \(btcusdt@trade\)$/);
    // The baseline's simple behaviour stays: the silent socket is not replaced.
    assert.deepEqual(
      sim.stats().connections.map((c) => c.id),
      [upstreamId],
    );

    // The stalled socket drops; the fixed-delay reconnect brings events and readiness back.
    sim.dropConnections({ abrupt: true });
    const seen = client.messages.length;
    await waitFor('events after the reconnect', () => client.messages.length > seen + 3);
    assert.equal(await readyz(), 200);
    assert.equal(await metricsHead(), 200);
  });
});
