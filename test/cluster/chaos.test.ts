/**
 * The failure matrix's harness (scripts/chaos): its figures come out right from known id sequences, and
 * its cheapest row, a gateway stopped with SIGTERM, run on real processes, measures what the gateway's
 * drain promises: the clients of the stopped gateway reconnect to the other one, and no client loses,
 * repeats or reorders an event. Settings are the smallest that still exercise the row (one ingest node,
 * 2 s lease TTL, 4 clients on 2 streams, a 1 s watch after recovery) to stay within the test budget.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stopEverything } from '../../scripts/chaos/children.js';
import { clientFigures, markdownTable, rowFigures } from '../../scripts/chaos/figures.js';
import { DEFAULT_SETTINGS, runRow } from '../../scripts/chaos/matrix.js';
import { ROWS } from '../../scripts/chaos/rows.js';
import { binaryOf } from '../support/system-tools.js';

describe('failure matrix figures', () => {
  it('counts holes, holes across a reconnect, duplicates, ids going backwards and the longest silence', () => {
    // Connection 1: 10 11 13 (12 lost) 13 (duplicate) 12 (late) 14; connection 2 starts at 17 (15, 16 lost
    // to the reconnect) then 18.
    const ids = [10, 11, 13, 13, 12, 14, 17, 18];
    const arrivals = [0, 100, 200, 300, 400, 500, 2500, 2600];
    const figures = clientFigures({ ids, arrivals, connectionStarts: [0, 6] }, 450, 3000);
    assert.deepEqual(figures, {
      lost: 0,
      lostAcrossReconnects: 2,
      duplicates: 1,
      outOfOrder: 1,
      longestSilenceMs: 2000,
      events: 8,
      connections: 2,
    });
    const hole = clientFigures(
      { ids: [1, 2, 5, 6], arrivals: [0, 10, 20, 30], connectionStarts: [0] },
      0,
      1030,
    );
    assert.equal(hole.lost, 2);
    assert.equal(hole.longestSilenceMs, 1000, 'the silence still running at the end counts');
    const row = rowFigures('r', [figures, hole], 3, 1);
    assert.equal(row.lost, 2);
    assert.equal(row.lostAcrossReconnects, 2);
    assert.equal(row.clientsWithLoss, 2);
    assert.equal(row.longestSilenceMs, 2000);
    assert.equal(row.reconnected, 1);
    assert.match(markdownTable([row]), /^\| r \| 2000 \| 2 \| 2 \| 2\/2 \| 1 \| 1 \| 3 \| 1 \| 1 \| 12 \|$/m);
  });

  it('gateway-sigterm on real processes: clients move to the other gateway, nothing lost, repeated or reordered', async (t) => {
    const natsBinary = binaryOf(t, ['nats-server'], "Debian's nats-server package");
    if (natsBinary === undefined) return;
    const row = ROWS.find((r) => r.name === 'gateway-sigterm');
    assert.ok(row);
    try {
      const figures = await runRow(row, {
        ...DEFAULT_SETTINGS,
        ingestNodes: 1,
        gateways: 2,
        clients: 4,
        streams: 2,
        settleMs: 1000,
        recoveryTimeoutMs: 8000,
        natsBinary,
        log: (line) => t.diagnostic(line),
      });
      t.diagnostic(JSON.stringify(figures));
      assert.equal(figures.clients, 4);
      // Clients 0 and 2 were on gateway-0 (clients alternate between the gateways).
      assert.equal(figures.reconnected, 2);
      assert.equal(figures.silentAtEnd, 0, 'every client receiving again');
      assert.equal(figures.lost, 0);
      assert.equal(figures.duplicates, 0);
      assert.equal(figures.outOfOrder, 0);
      assert.equal(figures.upstreamAttempts, 0, 'the ingest tier does not notice a gateway leaving');
      assert.ok(figures.longestSilenceMs < 2000, `longest silence ${figures.longestSilenceMs} ms`);
    } finally {
      await stopEverything();
    }
  });
});
