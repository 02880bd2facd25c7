/**
 * One cluster of real processes on loopback for a row of the failure matrix: nats-server(s), the
 * simulator (`ws-manager simulate`) as the exchange, ingest nodes (`ws-manager ingest`) and gateways
 * (`ws-manager serve` with NATS_URL). A role may reach NATS through a TCP proxy the row can cut.
 */
import { fileURLToPath } from 'node:url';
import { startTcpProxy, type TcpProxy } from '../../test/cluster/tcp-proxy.js';
import { type Child, freePort, startChild, until, waitForPort } from './children.js';
import { type Nats, startNats } from './nats.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ClusterSettings {
  readonly ingestNodes: number;
  readonly gateways: number;
  readonly symbols: readonly string[];
  /** The simulator's events per second on every stream. */
  readonly rate: number;
  readonly shardCount: number;
  readonly leaseTtlSeconds: number;
  /** 3 starts a NATS cluster of three servers and JETSTREAM_REPLICAS=3. */
  readonly natsServers: 1 | 3;
  /** Roles (e.g. `gateway-0`, `ingest-1`) that reach NATS through a proxy the row can cut. */
  readonly proxied?: readonly string[];
  readonly natsBinary?: string;
}

export interface Role {
  readonly name: string;
  readonly url: string;
  readonly child: Child;
  metric(name: string): Promise<number | undefined>;
}

export interface SimulatorStats {
  readonly connectionAttempts: number;
  readonly openConnections: number;
}

export interface Cluster {
  readonly settings: ClusterSettings;
  readonly nats: Nats;
  readonly simulatorUrl: string;
  readonly ingests: Role[];
  readonly gateways: Role[];
  readonly proxies: ReadonlyMap<string, TcpProxy>;
  simulatorStats(): Promise<SimulatorStats>;
  /** The simulator closes every upstream socket at once (its drop fault). */
  dropUpstream(): Promise<number>;
  /** Starts (or restarts, with the same id) an ingest node and waits until it serves its metrics. */
  startIngest(name: string): Promise<Role>;
  /** Resolves once the live ingest nodes together hold every shard, each at least one. */
  shardsSpread(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(settings: ClusterSettings): Promise<Cluster> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const nats = await startNats(settings.natsServers, settings.natsBinary);
    closers.push(() => nats.close());
    const simPort = await freePort();
    const simulator = startChild('simulator', process.execPath, [
      '--import',
      'tsx',
      CLI,
      'simulate',
      '--port',
      String(simPort),
      '--symbols',
      settings.symbols.join(','),
      '--rate',
      String(settings.rate),
    ]);
    closers.push(() => simulator.stop('SIGKILL'));
    // Everything boots at once: most of a row's start-up is each process loading its TypeScript, and an
    // ingest node retries the simulator until it listens.
    const simReady = waitForPort(simPort, 'simulator');
    simReady.catch(() => {});
    await nats.ready();
    const simulatorUrl = `ws://127.0.0.1:${simPort}`;
    const simHttp = `http://127.0.0.1:${simPort}`;

    const proxies = new Map<string, TcpProxy>();
    for (const name of settings.proxied ?? []) {
      const proxy = await startTcpProxy(nats.nodes[0]!.port);
      proxies.set(name, proxy);
      closers.push(() => proxy.close());
    }
    const common = {
      UPSTREAM_URL: simulatorUrl,
      SHARD_COUNT: String(settings.shardCount),
      LEASE_TTL_SECONDS: String(settings.leaseTtlSeconds),
      JETSTREAM_REPLICAS: String(settings.natsServers),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // Every client of the harness connects from 127.0.0.1, and reconnects in bulk after a failure:
      // the per-address limits meant for the internet would refuse them.
      CLIENT_CONNECT_ATTEMPTS_PER_IP: '1000000',
      RATE_LIMIT_PER_MINUTE: '100000',
    };
    const startRole = async (command: 'ingest' | 'serve', name: string): Promise<Role> => {
      const port = await freePort();
      const proxy = proxies.get(name);
      const child = startChild(name, process.execPath, ['--import', 'tsx', CLI, command], {
        ...common,
        NATS_URL: proxy === undefined ? nats.url : `nats://127.0.0.1:${proxy.port}`,
        NODE_ID: name,
        PORT: String(port),
      });
      closers.push(() => child.stop('SIGKILL'));
      const url = `http://127.0.0.1:${port}`;
      const role: Role = { name, url, child, metric: (m) => metric(url, m) };
      await until(
        `${name} serving metrics`,
        async () => {
          if (child.exited()) throw new Error(`${name} exited: ${child.output()}`);
          return (await role.metric('ws_manager_cluster_shard_count{feed="binance"}')) !== undefined;
        },
        45_000,
        100,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; ${name} printed: ${child.output().slice(-1500)}`);
      });
      return role;
    };

    // On a fresh NATS cluster the first node creates the history and the buckets, whose replicas then
    // elect their leaders; a node starting meanwhile times out reading them and exits. One node first.
    const firstIngest = settings.natsServers > 1 ? await startRole('ingest', 'ingest-0') : undefined;
    const ingestsStarting = Promise.all(
      Array.from({ length: settings.ingestNodes }, (_, i) =>
        i === 0 && firstIngest !== undefined ? firstIngest : startRole('ingest', `ingest-${i}`),
      ),
    );
    const gatewaysStarting = Promise.all(
      Array.from({ length: settings.gateways }, (_, i) => startRole('serve', `gateway-${i}`)),
    );
    const [ingests, gateways] = await Promise.all([ingestsStarting, gatewaysStarting, simReady]);
    const shardsSpread = async (timeoutMs = 30_000) => {
      await until(
        'shards spread over the ingest nodes',
        async () => {
          const alive = ingests.filter((r) => !r.child.exited());
          const owned = await Promise.all(
            alive.map((r) => r.metric('ws_manager_cluster_shards_owned{feed="binance"}')),
          );
          const total = owned.reduce<number>((a, b) => a + (b ?? 0), 0);
          return total === settings.shardCount && owned.every((n) => (n ?? 0) > 0);
        },
        timeoutMs,
        100,
      );
    };
    await shardsSpread();
    const simulatorStats = async (): Promise<SimulatorStats> => {
      const res = await fetch(`${simHttp}/stats`);
      if (!res.ok) throw new Error(`simulator GET /stats answered ${res.status}`);
      return (await res.json()) as SimulatorStats;
    };
    return {
      settings,
      nats,
      simulatorUrl,
      ingests,
      gateways,
      proxies,
      simulatorStats,
      async dropUpstream() {
        const res = await fetch(`${simHttp}/faults/drop`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"abrupt":true}',
        });
        if (!res.ok) throw new Error(`simulator POST /faults/drop answered ${res.status}`);
        return ((await res.json()) as { dropped: number }).dropped;
      },
      async startIngest(name) {
        const role = await startRole('ingest', name);
        const at = ingests.findIndex((r) => r.name === name);
        if (at === -1) ingests.push(role);
        else ingests[at] = role;
        return role;
      },
      shardsSpread,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function metric(url: string, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/api/ws/metrics?format=prometheus`);
    const text = await res.text();
    // `name` may end in a label set (`{feed="binance"}`): matched literally.
    const m = new RegExp(`^${name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
