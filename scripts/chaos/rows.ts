/** The failure matrix: each row is a fault applied to a fresh cluster that clients are reading from. */

import { sleep } from './children.js';
import type { Cluster } from './cluster.js';

export interface Row {
  readonly name: string;
  /** What the row does, one line (printed and used in the docs' table legend). */
  readonly does: string;
  /** 3: a NATS cluster of three servers with JETSTREAM_REPLICAS=3. */
  readonly natsServers?: 3;
  /** Roles that reach NATS through a proxy the fault cuts. */
  readonly proxied?: readonly string[];
  /** At least this many ingest nodes (a takeover needs a survivor). */
  readonly minIngestNodes?: number;
  /** Applies the fault; resolves when the fault itself is over (not when clients recovered). */
  fault(cluster: Cluster): Promise<void>;
}

/** How long a gateway is cut from NATS. */
export const GATEWAY_CUT_MS = 10_000;

function first<T>(list: readonly T[], what: string): T {
  const item = list[0];
  if (item === undefined) throw new Error(`the row needs at least one ${what}`);
  return item;
}

export const ROWS: readonly Row[] = [
  {
    name: 'ingest-sigterm',
    does: 'ingest-0 stopped with SIGTERM (planned handover)',
    minIngestNodes: 2,
    fault: (c) => first(c.ingests, 'ingest node').child.stop('SIGTERM'),
  },
  {
    name: 'ingest-sigkill',
    does: 'ingest-0 killed with SIGKILL (crash takeover after the lease TTL)',
    minIngestNodes: 2,
    fault: (c) => first(c.ingests, 'ingest node').child.stop('SIGKILL'),
  },
  {
    name: 'rolling-restart',
    does: 'every ingest node in turn: SIGTERM, started again with its id, until the shards are spread again',
    minIngestNodes: 2,
    async fault(c) {
      for (const node of [...c.ingests]) {
        await node.child.stop('SIGTERM');
        await c.startIngest(node.name);
        await c.shardsSpread();
      }
    },
  },
  {
    name: 'node-join',
    does: 'one more ingest node started; it takes its share of the shards',
    async fault(c) {
      await c.startIngest(`ingest-${c.ingests.length}`);
      await c.shardsSpread();
    },
  },
  {
    name: 'gateway-sigkill',
    does: 'gateway-0 killed with SIGKILL; its clients reconnect to gateway-1',
    fault: (c) => first(c.gateways, 'gateway').child.stop('SIGKILL'),
  },
  {
    name: 'gateway-sigterm',
    does: 'gateway-0 stopped with SIGTERM (drains, closes clients with 1001); they reconnect to gateway-1',
    fault: (c) => first(c.gateways, 'gateway').child.stop('SIGTERM'),
  },
  {
    name: 'nats-leader-killed',
    does: 'three NATS servers, JETSTREAM_REPLICAS=3: the server leading the history stream killed (SIGKILL), left down',
    natsServers: 3,
    async fault(c) {
      const leader = await c.nats.historyLeader();
      const node = c.nats.nodes.find((n) => n.name === leader);
      if (node === undefined) throw new Error(`no NATS server named ${String(leader)} leads the history`);
      await node.kill();
    },
  },
  {
    name: 'nats-restart',
    does: 'the NATS server killed (SIGKILL) and started again on its port and store',
    async fault(c) {
      for (const node of c.nats.nodes) await node.kill();
      for (const node of c.nats.nodes) await node.start();
    },
  },
  {
    name: 'gateway-nats-cut',
    does: `gateway-0 cut from NATS for ${GATEWAY_CUT_MS / 1000} s (its connection dropped, new ones refused)`,
    proxied: ['gateway-0'],
    async fault(c) {
      cut(c, 'gateway-0', GATEWAY_CUT_MS);
      await sleep(GATEWAY_CUT_MS);
    },
  },
  {
    name: 'ingest-nats-cut',
    does: 'ingest-0 cut from NATS for twice its lease TTL + 1 s; the other node takes its shards meanwhile',
    proxied: ['ingest-0'],
    minIngestNodes: 2,
    async fault(c) {
      const ms = c.settings.leaseTtlSeconds * 2000 + 1000;
      cut(c, 'ingest-0', ms);
      await sleep(ms);
    },
  },
  {
    name: 'exchange-drop-in-takeover',
    does: 'ingest-0 killed (SIGKILL), and at once the exchange drops every upstream socket',
    minIngestNodes: 2,
    async fault(c) {
      await first(c.ingests, 'ingest node').child.stop('SIGKILL');
      await c.dropUpstream();
    },
  },
];

function cut(c: Cluster, role: string, ms: number): void {
  const proxy = c.proxies.get(role);
  if (proxy === undefined) throw new Error(`${role} does not reach NATS through a proxy`);
  proxy.cut(ms);
}
