/**
 * Messages on `md.binance.<stream>` that did not come from the stream's owner: a Ws-Seq far ahead with
 * the owner's real epoch, a higher epoch, a body that is not a JSON object, headers that are not
 * integers. Each is published once by hand on the gateway's subject; the stream keeps flowing to old and
 * new clients with contiguous exchange ids, nothing malformed reaches a client, and each drop is counted
 * in `ws_manager_cluster_rejected_messages_total{reason}`.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { DEMAND_BUCKET, kvTokenOf, subjectOf } from '../../src/cluster/subjects.js';
import { openClient, type TestClient } from '../gateway/helpers.js';
import { waitFor } from '../support/wait-for.js';
import { startSmallCluster } from './small-cluster.js';
import { contiguousTradeIds } from './trades.js';

const STREAM = 'forgaausdt@trade';

function headersOf(seq: number | string, epoch: number | string): MsgHdrs {
  const h = natsHeaders();
  h.set('Ws-Seq', String(seq));
  h.set('Ws-Epoch', String(epoch));
  h.set('Ws-Node', 'ingest');
  return h;
}

async function rejected(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/api/ws/metrics?format=prometheus`)).text();
  const line = new RegExp(`^ws_manager_cluster_rejected_messages_total\\{reason="${reason}"\\} (\\S+)$`, 'm');
  return Number(line.exec(text)?.[1] ?? Number.NaN);
}

const body = (text: string) => new TextEncoder().encode(text);

/** Publishes `text` with `headers` on STREAM's subject. */
type Publish = (text: string, headers: MsgHdrs) => void;

interface Forgery {
  readonly client: TestClient;
  readonly gatewayUrl: string;
  /** Runs `publish` with the headers of the owner's next event, right after it (20 events/s). */
  afterNext(forge: (publish: Publish, seq: number, epoch: number) => void): Promise<void>;
  /** Asserts the stream keeps flowing to the client and to a new client, with contiguous ids. */
  stillFlowing(): Promise<void>;
}

/**
 * A cluster serving STREAM to one client, and a second NATS connection that publishes on its subject.
 * Forged messages go out right after one of the owner's, numbered from its headers as anyone allowed
 * to subscribe sees them, so they reach the gateway before the owner's next event.
 */
async function forgery(t: TestContext): Promise<Forgery | undefined> {
  const cluster = await startSmallCluster(t, { symbols: ['forgaausdt'] });
  if (cluster === undefined) return undefined;
  const { gateway, nats } = cluster;
  const forger = await connect({ servers: nats.url });
  cluster.closeLater(() => forger.close());
  const subject = subjectOf(STREAM);
  let forge: ((seq: number, epoch: number) => void) | undefined;
  let seen = 0;
  forger.subscribe(subject, {
    callback: (_error, msg) => {
      seen++;
      const next = forge;
      forge = undefined;
      next?.(Number(msg.headers?.get('Ws-Seq')), Number(msg.headers?.get('Ws-Epoch')));
    },
  });
  const client = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
  cluster.closeLater(() => client.close());
  await waitFor('the client receiving', () => client.messages.length >= 5 && seen > 0);
  return {
    client,
    gatewayUrl: gateway.url,
    async afterNext(send) {
      let done = false;
      forge = (seq, epoch) => {
        send((text, headers) => forger.publish(subject, body(text), { headers }), seq, epoch);
        done = true;
      };
      await waitFor('a forged message sent', () => done);
      await forger.flush();
    },
    async stillFlowing() {
      const before = client.messages.length;
      await waitFor('the stream still flowing', () => client.messages.length >= before + 40, 10_000).catch(
        () => assert.fail(`got ${client.messages.length - before} of 40 events after the forged messages`),
      );
      const late = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
      cluster.closeLater(() => late.close());
      await waitFor('a new client receiving', () => late.messages.length >= 5, 5_000).catch(() =>
        assert.fail(`a new client got ${late.messages.length} of 5 events`),
      );
      for (const text of client.messages) {
        const data: unknown = JSON.parse(text);
        assert.ok(typeof data === 'object' && data !== null && !Array.isArray(data), `delivered ${text}`);
      }
      assert.ok(!client.messages.some((m) => /"t":-/.test(m)), 'no forged event delivered');
      const ids = contiguousTradeIds(client.messages, STREAM);
      assert.equal(ids.gaps, 0, `trade ids skipped: ${ids.missing.join(',')}`);
    },
  };
}

it('drops a body that is not a JSON object, or headers that are not integers, before it takes a sequence number', async (t) => {
  const f = await forgery(t);
  if (f === undefined) return;
  // Numbered as the owner's next event: delivered, each would have cost the client that event.
  await f.afterNext((publish, seq, epoch) => {
    const next = headersOf(seq + 1, epoch);
    publish('null', next);
    publish('[1,2]', next);
    publish('{"e":"trade"', next);
    publish('{"e":"trade","t":-3}', headersOf('x', epoch));
  });
  await f.stillFlowing();
  assert.equal(await rejected(f.gatewayUrl, 'body'), 3);
  assert.equal(await rejected(f.gatewayUrl, 'headers'), 1);
});

it('does not follow a Ws-Seq far ahead or a higher Ws-Epoch that no next event confirms', async (t) => {
  const f = await forgery(t);
  if (f === undefined) return;
  await f.afterNext((publish, _seq, epoch) =>
    publish('{"e":"trade","t":-1}', headersOf(9007199254740000, epoch)),
  );
  await new Promise((r) => setTimeout(r, 300));
  // The owner's next event, with a higher epoch. It only counts when it reaches the gateway before the
  // owner's own next event (events may come in bursts): tried until the gateway has held one, at most 10 times.
  for (let attempt = 0; attempt < 10 && !((await rejected(f.gatewayUrl, 'unconfirmed')) >= 2); attempt++) {
    await f.afterNext((publish, seq, epoch) =>
      publish('{"e":"trade","t":-2}', headersOf(seq + 1, epoch + 1000)),
    );
    await new Promise((r) => setTimeout(r, 200));
  }
  await f.stillFlowing();
  assert.equal(await rejected(f.gatewayUrl, 'unconfirmed'), 2);
});

it('does not start a stream on a forged first message while its owner publishes it', async (t) => {
  // Two trades a second: the forged message reaches the gateway's new subscription well before the next.
  const cluster = await startSmallCluster(t, { symbols: ['forgaausdt'], rate: 2 });
  if (cluster === undefined) return;
  const { gateway, nats } = cluster;
  const forger = await connect({ servers: nats.url });
  cluster.closeLater(() => forger.close());
  const subject = subjectOf(STREAM);
  let epoch = 0;
  forger.subscribe(subject, {
    callback: (_error, msg) => {
      epoch = Number(msg.headers?.get('Ws-Epoch'));
    },
  });
  // Wanted elsewhere (as by another gateway): the owner publishes, and its epoch becomes known.
  const demand = await new Kvm(forger).open(DEMAND_BUCKET);
  await demand.put(`${kvTokenOf(STREAM)}.elsewhere`, '1');
  await waitFor('the owner publishing', () => epoch > 0, 10_000);

  // This gateway's subscription is new: its first message is a forged one with the owner's epoch, sent
  // as soon as the gateway declares demand (its NATS subscription is registered by then).
  const watch = await demand.watch({ key: `${kvTokenOf(STREAM)}.*` });
  const forged = (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT' || entry.key.endsWith('.elsewhere')) continue;
      forger.publish(subject, body('{"e":"trade","t":-1}'), { headers: headersOf(9007199254740000, epoch) });
      await forger.flush();
      return;
    }
  })();
  const client = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
  cluster.closeLater(() => client.close());
  await forged;
  watch.stop();
  await waitFor('the client receiving', () => client.messages.length >= 8, 10_000).catch(() =>
    assert.fail(`got ${client.messages.length} of 8 events after a forged first message`),
  );
  assert.ok(!client.messages.some((m) => /"t":-/.test(m)), 'no forged event delivered');
  const ids = contiguousTradeIds(client.messages, STREAM);
  assert.equal(ids.gaps, 0, `trade ids skipped: ${ids.missing.join(',')}`);
  assert.equal(await rejected(gateway.url, 'unconfirmed'), 1);
});

it('does not let an owner continue numbering from a forged message in the history', async (t) => {
  const cluster = await startSmallCluster(t, { symbols: ['forgaausdt'] });
  if (cluster === undefined) return;
  const { gateway, nats } = cluster;
  const forger = await connect({ servers: nats.url });
  cluster.closeLater(() => forger.close());
  const subject = subjectOf(STREAM);
  // Before anyone wants the stream: the history's last message for it is a forged one, a few events
  // short of the largest safe integer.
  forger.publish(subject, body('{"e":"trade","t":-1}'), {
    headers: headersOf(Number.MAX_SAFE_INTEGER - 5, 1),
  });
  await forger.flush();
  const published: number[] = [];
  forger.subscribe(subject, {
    callback: (_error, msg) => {
      published.push(Number(msg.headers?.get('Ws-Seq')));
    },
  });
  const client = await openClient(`${gateway.wsUrl}/ws/${STREAM}`);
  cluster.closeLater(() => client.close());
  await waitFor('the client receiving', () => client.messages.length >= 40, 10_000).catch(() =>
    assert.fail(
      `got ${client.messages.length} of 40 events; the owner numbered from ${published[0]} to ${published.at(-1)}`,
    ),
  );
  assert.ok(
    published.every((seq) => seq < 1000),
    `the owner numbered from ${published[0]}`,
  );
  assert.ok(!client.messages.some((m) => /"t":-/.test(m)), 'no forged event delivered');
});
