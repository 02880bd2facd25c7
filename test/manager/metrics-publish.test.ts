/**
 * The upstream counters are plain numbers published at scrape time: every scrape shows the running
 * total (nothing counted between two scrapes is lost or counted twice), labelled series included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ManagerMetrics } from '../../src/metrics/manager-metrics.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ManagerMetrics counters', () => {
  it('publish running totals at each scrape, monotonic across scrapes', async () => {
    const registry = new Registry();
    const metrics = new ManagerMetrics(registry, 'WSManager');
    for (let i = 0; i < 3; i++) metrics.message();
    metrics.gap(4);
    metrics.error('stalled');
    metrics.cleanedUp('idle', 2);
    let text = await registry.metrics();
    assert.equal(value(text, 'ws_manager_messages_received_total{venue="binance"}'), 3);
    assert.equal(value(text, 'ws_manager_missed_messages_total{venue="binance"}'), 4);
    assert.equal(value(text, 'ws_manager_errors_total{venue="binance",reason="stalled"}'), 1);
    assert.equal(value(text, 'ws_manager_errors_total{venue="binance",reason="malformed_frame"}'), 0);
    assert.equal(value(text, 'ws_manager_stream_cleanups_by_reason_total{venue="binance",reason="idle"}'), 2);
    // A scrape with nothing new changes nothing; events after it add to the total.
    assert.equal(await registry.metrics(), text);
    metrics.message();
    metrics.gap(1);
    metrics.error('stalled');
    metrics.retried();
    metrics.sequenceReset();
    metrics.refillFailed('budget');
    text = await registry.metrics();
    assert.equal(value(text, 'ws_manager_messages_received_total{venue="binance"}'), 4);
    assert.equal(value(text, 'ws_manager_message_gaps_total{venue="binance"}'), 2);
    assert.equal(value(text, 'ws_manager_missed_messages_total{venue="binance"}'), 5);
    assert.equal(value(text, 'ws_manager_errors_total{venue="binance",reason="stalled"}'), 2);
    assert.equal(value(text, 'ws_manager_retry_count_total{venue="binance"}'), 1);
    assert.equal(value(text, 'ws_manager_sequence_resets_total{venue="binance"}'), 1);
    assert.equal(value(text, 'ws_manager_refill_failures_total{venue="binance",reason="budget"}'), 1);
    assert.equal(metrics.counts.messages, 4, 'the synchronous snapshot reads the same numbers');
  });

  it('legacy exports no sequence-reset counter (it does not track restarts)', async () => {
    const registry = new Registry();
    new ManagerMetrics(registry, 'Legacy');
    assert.doesNotMatch(await registry.metrics(), /ws_manager_sequence_resets_total/);
  });
});
