/**
 * Several managers in one registry, as the gateway runs them: each venue writes its own series, and
 * managers of the same venue (Bybit's spot and linear) add up into it: gauges summed, health the worst,
 * the high water mark that of the sum, counters both managers' events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ManagerMetrics } from '../../src/metrics/manager-metrics.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('upstream metrics of several managers in one registry', () => {
  it('keeps venues apart and adds up the managers of one venue', async () => {
    const registry = new Registry();
    const binance = new ManagerMetrics(registry, 'WSManager');
    const spot = new ManagerMetrics(registry, 'WSManager', 'bybit');
    const linear = new ManagerMetrics(registry, 'WSManager', 'bybit');
    assert.equal(binance.venue, 'binance', 'a manager alone is labelled binance');

    binance.setActiveConnections(1);
    spot.setActiveConnections(2);
    linear.setActiveConnections(3);
    linear.setActiveConnections(1);
    spot.streams(4, 1, 7);
    linear.streams(2, 0, 5);
    for (let i = 0; i < 5; i++) spot.message();
    for (let i = 0; i < 3; i++) linear.message();
    binance.message();
    spot.error('stalled');
    linear.error('stalled');
    linear.attempted();
    spot.attempted();
    spot.reconnectDuration.observe(0.2);
    linear.reconnectDuration.observe(0.3);
    linear.healthy.set(0);

    const text = await registry.metrics();
    assert.equal(value(text, 'ws_manager_active_connections{venue="binance"}'), 1);
    assert.equal(value(text, 'ws_manager_active_connections{venue="bybit"}'), 3);
    assert.equal(
      value(text, 'ws_manager_active_connections_hwm{venue="bybit"}'),
      5,
      'the sum at its highest',
    );
    assert.equal(value(text, 'ws_manager_active_streams{venue="bybit"}'), 6);
    assert.equal(value(text, 'ws_manager_idle_streams{venue="bybit"}'), 1);
    assert.equal(value(text, 'ws_manager_subscribers{venue="bybit"}'), 12);
    assert.equal(value(text, 'ws_manager_messages_received_total{venue="bybit"}'), 8);
    assert.equal(value(text, 'ws_manager_messages_received_total{venue="binance"}'), 1);
    assert.equal(value(text, 'ws_manager_errors_total{venue="bybit",reason="stalled"}'), 2);
    assert.equal(value(text, 'ws_manager_errors_total{venue="binance",reason="stalled"}'), 0);
    assert.equal(value(text, 'ws_manager_upstream_connect_attempts_total{venue="bybit"}'), 2);
    assert.equal(value(text, 'ws_manager_upstream_connect_attempts_total{venue="binance"}'), 0);
    assert.equal(value(text, 'ws_manager_reconnect_duration_seconds_count{venue="bybit"}'), 2);
    assert.equal(value(text, 'ws_manager_reconnect_duration_seconds_count{venue="binance"}'), 0);
    assert.equal(value(text, 'ws_manager_healthy{venue="bybit"}'), 0, 'one market down: the venue is down');
    assert.equal(value(text, 'ws_manager_healthy{venue="binance"}'), 1);
    assert.equal(value(text, 'ws_manager_info{implementation="WSManager"}'), 1);
    // Each manager's own figures stay its own (the JSON document's per-market block reads them).
    assert.equal(spot.counts.messages, 5);
    assert.equal(linear.openConnections, 1);
    assert.equal(linear.activeConnectionsHighWaterMark, 3);

    linear.healthy.set(1);
    spot.message();
    const later = await registry.metrics();
    assert.equal(value(later, 'ws_manager_healthy{venue="bybit"}'), 1);
    assert.equal(
      value(later, 'ws_manager_messages_received_total{venue="bybit"}'),
      9,
      'monotonic across scrapes',
    );
  });
});
