/**
 * nats-server processes with JetStream on loopback: one server, or a cluster of three joined by routes
 * (what JETSTREAM_REPLICAS=3 needs). Each server keeps its port and store across a kill and restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { HISTORY_STREAM } from '../../src/cluster/subjects.js';
import { type Child, freePort, startChild, until, waitForPort } from './children.js';

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface Nats {
  readonly nodes: readonly NatsNode[];
  /** Every server's client URL, comma-separated (NATS_URL accepts a list). */
  readonly url: string;
  /** Name of the server leading the history stream's replicas, once the stream exists. */
  historyLeader(): Promise<string | undefined>;
  /** Resolves once JetStream answers (a cluster has elected its meta leader). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function startNats(size: 1 | 3, binary = 'nats-server'): Promise<Nats> {
  const root = mkdtempSync(join(tmpdir(), 'ws-manager-chaos-nats-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const nodes: NatsNode[] = ports.map((port, i) => {
    const name = `nats-${i}`;
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      join(root, name),
      '--server_name',
      name,
    ];
    if (size > 1) {
      const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
      args.push(
        '--cluster_name',
        'chaos',
        '--cluster',
        `nats://127.0.0.1:${routePorts[i]}`,
        '--routes',
        routes.join(','),
      );
    }
    let child: Child | undefined;
    return {
      name,
      port,
      async kill() {
        await child?.stop('SIGKILL');
      },
      async start() {
        child = startChild(name, binary, args);
        await waitForPort(port, name, 10_000).catch((error: unknown) => {
          throw new Error(`${String(error)}; ${name} printed: ${child?.output() ?? ''}`);
        });
      },
    };
  });
  await Promise.all(nodes.map((n) => n.start()));
  const url = ports.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const withManager = async <T>(use: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>) => {
    const nc = await connect({ servers: url.split(','), timeout: 2000 });
    try {
      return await use(await jetstreamManager(nc, { timeout: 2000 }));
    } finally {
      await nc.close();
    }
  };
  return {
    nodes,
    url,
    historyLeader: () => withManager(async (jsm) => (await jsm.streams.info(HISTORY_STREAM)).cluster?.leader),
    async ready() {
      await until(
        'JetStream available',
        () => withManager(async (jsm) => (await jsm.getAccountInfo()) !== undefined),
        20_000,
        200,
      );
    },
    async close() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
