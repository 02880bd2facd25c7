/**
 * Issue 11: the aggTrade streams the gateway forwards are refilled in order after an upstream gap
 * (UPSTREAM_GAP_RECOVERY=backfill, the default). Real gateway on WSManager, its embedded simulator as
 * upstream and REST history, real ws clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../support/wait-for.js';
import { openClient, startTestGateway } from './helpers.js';

function aggIds(messages: string[]): number[] {
  return messages
    .map((m) => JSON.parse(m) as { e?: string; a?: number })
    .filter((m) => m.e === 'aggTrade')
    .map((m) => m.a as number);
}

describe('gap recovery of forwarded streams', () => {
  for (const [recovery, contiguous] of [
    ['backfill', true],
    ['report', false],
  ] as const) {
    it(`${recovery}: after an abrupt upstream drop a client's aggTrade ids are ${contiguous ? 'contiguous' : 'missing the gap'}`, async () => {
      const gateway = await startTestGateway({
        useNewWsManager: true,
        simulatorRate: 100,
        upstreamGapRecovery: recovery,
      });
      const client = await openClient(`${gateway.wsUrl}/ws/btcusdt@aggTrade`);
      try {
        await waitFor('first events', () => aggIds(client.messages).length >= 20);
        // Upgrades refused for 300 ms (no Retry-After) while the upstream connection is dropped, so the
        // outage surely loses events (about 30 at 100/s).
        const before = aggIds(client.messages).length;
        gateway.simulator!.refuseConnections(300, 503, null);
        gateway.simulator!.dropConnections({ abrupt: true });
        await waitFor('events after the drop', () => aggIds(client.messages).length >= before + 150);
        const ids = aggIds(client.messages);
        const holes = ids.slice(1).filter((id, i) => id !== ids[i]! + 1).length;
        if (contiguous) assert.equal(holes, 0, `ids: ${ids.join(',')}`);
        else assert.ok(holes >= 1, 'the gap shows without backfill');
      } finally {
        await client.close();
        await gateway.close();
      }
    });
  }
});
