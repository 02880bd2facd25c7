/**
 * An ingest node killed with SIGKILL (a child process): its shards' leases expire and the other node
 * takes them, so every client receives again within the lease TTL + 2 s; the window in between is
 * refilled from the exchange's history (the exchange ids do not skip), and the upstream sees no burst of
 * connection attempts. Stopped with SIGTERM, it offers its leases to the other node and publishes until
 * that node does.
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/roles/start-gateway.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { type IngestProcess, spawnIngest } from './processes.js';
import { contiguousTradeIds } from './trades.js';

const LEASE_TTL_SECONDS = 3;
const SHARDS = 8;
const SYMBOLS = Array.from({ length: 12 }, (_, i) => `fail${String(i).padStart(2, '0')}usdt`);
const STREAMS = SYMBOLS.map((s) => `${s}@trade`);

describe('clustered mode: an ingest node stops', () => {
  let nats: NatsServer | undefined;
  let simulator: Simulator | undefined;
  let gateway: RunningGateway | undefined;
  const ingests: IngestProcess[] = [];
  const clients: {
    client: TestClient;
    stream: string;
    lastAt: () => number;
    since: (t: number) => number;
  }[] = [];

  async function cleanUp(): Promise<void> {
    await Promise.all(clients.splice(0).map(({ client }) => client.close()));
    await gateway?.close();
    await Promise.all(ingests.splice(0).map((i) => i.kill('SIGKILL')));
    await simulator?.close();
    await nats?.stop();
    gateway = undefined;
    simulator = undefined;
    nats = undefined;
  }

  after(cleanUp);

  it('SIGKILL: serves every stream again within the lease TTL + 2 s, reports the missed range, no attempt burst', (t) =>
    stopOneNode(t, 'SIGKILL', LEASE_TTL_SECONDS * 1000 + 2000));

  // A stopped node deletes its leases: the other takes them at its next tick (a third of the TTL).
  it('SIGTERM: hands the shards over within one lease tick + 2 s', (t) =>
    stopOneNode(t, 'SIGTERM', (LEASE_TTL_SECONDS * 1000) / 3 + 2000));

  async function stopOneNode(t: TestContext, signal: NodeJS.Signals, budgetMs: number): Promise<void> {
    await cleanUp();
    nats = await startNatsServer(t);
    if (nats === undefined) return;
    simulator = await startSimulator({ host: '127.0.0.1', port: 0, symbols: SYMBOLS, rate: 20 });
    const env = {
      NATS_URL: nats.url,
      UPSTREAM_URL: simulator.url,
      SHARD_COUNT: String(SHARDS),
      LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
    };
    ingests.push(await spawnIngest('node-a', env), await spawnIngest('node-b', env));
    await waitFor(
      'shards spread over both nodes',
      async () => {
        const owned = await Promise.all(
          ingests.map((i) => i.metric('ws_manager_cluster_shards_owned{feed="binance"}')),
        );
        return owned.every((n) => (n ?? 0) > 0) && owned.reduce((a = 0, b = 0) => a + b, 0) === SHARDS;
      },
      20_000,
    );
    gateway = await startGateway(
      { natsUrl: nats.url, nodeId: 'gw', port: 0, shardCount: SHARDS, leaseTtlSeconds: LEASE_TTL_SECONDS },
      { logger: silentLogger() },
    );
    for (const stream of STREAMS) {
      const client = await openClient(`${gateway.wsUrl}/ws/${stream}`);
      const times: number[] = [];
      client.ws.on('message', () => times.push(Date.now()));
      clients.push({
        client,
        stream,
        lastAt: () => times.at(-1) ?? 0,
        since: (from) => times.filter((at) => at > from).length,
      });
    }
    await waitFor(
      'every client receiving',
      () => clients.every(({ client }) => client.messages.length >= 10),
      20_000,
    );
    // Both nodes carry some of the clients' streams, so the kill below interrupts some of them.
    await waitFor(
      'node-a publishing',
      async () => ((await ingests[0]!.metric('ws_manager_cluster_published_total')) ?? 0) > 0,
    );
    const attemptsBefore = simulator.stats().connectionAttempts;
    const gapsBefore = gateway.source.getMetrics().messageGaps;

    const killedAt = Date.now();
    const exited = new Promise<number | null>((resolve) =>
      ingests[0]!.child.once('exit', (code) => resolve(code)),
    );
    await ingests[0]!.kill(signal);
    if (signal === 'SIGTERM') assert.equal(await exited, 0, 'a stopped node exits 0');
    // Events published before the kill arrive within milliseconds: one after a second is a new owner's.
    await waitFor(
      'every client receiving again',
      () => clients.every(({ since }) => since(killedAt + 1000) > 0),
      budgetMs,
    );
    const recoveredMs = Date.now() - killedAt;
    assert.ok(recoveredMs <= budgetMs, `recovered in ${recoveredMs} ms`);

    const interrupted = clients.filter(
      ({ client, stream }) => contiguousTradeIds(client.messages, stream).gaps > 0,
    );
    // The killed node's window is refilled, the stopped node's handed over: no stream is interrupted.
    assert.equal(interrupted.length, 0, 'no stream skipped an exchange id');
    const reported = gateway.source.getMetrics().messageGaps - gapsBefore;
    assert.equal(reported, interrupted.length, 'every interrupted stream reported its missed range once');
    const attemptsAfter = simulator.stats().connectionAttempts;
    assert.ok(
      attemptsAfter - attemptsBefore <= 1,
      `connection attempts ${attemptsBefore} → ${attemptsAfter}`,
    );
    t.diagnostic(
      `recovered in ${recoveredMs} ms; ${interrupted.length} of ${clients.length} streams interrupted`,
    );
  }
});
