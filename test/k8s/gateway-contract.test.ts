/**
 * The manifest against the real gateway, in place of a cluster: the gateway is started in-process with
 * each track's environment as Kubernetes would assemble it from k8s/staging-canary.yaml, and is asked
 * what the kubelet (probes), Prometheus (the PodMonitor's scrape) and ingress-nginx (the Ingress paths)
 * would ask. Only the bind address, port and upstream are changed for the test: loopback, a free port,
 * and the embedded simulator in place of the exchange (this machine has no internet).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningGateway, startGateway } from '../../src/gateway/index.js';
import { field, findObject, type K8sObject, loadManifest, parseManifest, readRepoFile } from './manifest.js';
import { baselineManifestText, podEnv } from './pod-env.js';

const TOKEN = 'test-metrics-token';
const SECRETS = { 'ws-manager-metrics-token/token': TOKEN };
const DEADLINE_MS = 10_000;

interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  ports: Array<{ name: string; containerPort: number }>;
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
}
interface PodMetricsEndpoint {
  port: string;
  path: string;
  params: Record<string, string[]>;
  authorization: { type: string };
}

const gateways: RunningGateway[] = [];
after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
});

async function startTrack(objects: readonly K8sObject[]): Promise<RunningGateway> {
  const config = loadConfig(podEnv(objects, SECRETS));
  const gateway = await startGateway(
    { ...config, host: '127.0.0.1', port: 0, upstreamUrl: undefined },
    { logger: silentLogger() },
  );
  gateways.push(gateway);
  return gateway;
}

async function untilOk(url: string): Promise<Response> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const response = await fetch(url);
    if (response.ok || Date.now() > deadline) return response;
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens a WebSocket and resolves with its first message; always closes it. */
function firstMessage(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no message on ${url} within ${DEADLINE_MS} ms`));
    }, DEADLINE_MS);
    socket.once('message', (data) => {
      clearTimeout(timer);
      socket.close();
      resolve(String(data));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function checksFor(label: string, objects: readonly K8sObject[], implementation: string): void {
  const container = field(findObject(objects, 'Rollout'), 'spec.template.spec.containers.0') as Container;
  const podMonitorEndpoint = field(
    findObject(objects, 'PodMonitor'),
    'spec.podMetricsEndpoints.0',
  ) as PodMetricsEndpoint;

  describe(label, () => {
    let gateway: RunningGateway;

    test(`starts from the manifest's environment and serves through ${implementation}`, async () => {
      gateway = await startTrack(objects);
      assert.equal(gateway.source.implementation, implementation);
    });

    test('the startup, liveness and readiness probe paths answer 200', async () => {
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        assert.ok(
          container.ports.some((p) => p.name === probe.httpGet.port),
          `probe port ${probe.httpGet.port}`,
        );
        const response = await untilOk(`${gateway.url}${probe.httpGet.path}`);
        assert.equal(response.status, 200, probe.httpGet.path);
        await response.arrayBuffer();
      }
      const ready = (await (
        await fetch(`${gateway.url}${container.readinessProbe.httpGet.path}`)
      ).json()) as {
        implementation: string;
      };
      assert.equal(ready.implementation, implementation);
    });

    test("the PodMonitor's scrape (path, params, bearer token) returns the metrics the rules read", async () => {
      const query = new URLSearchParams(
        Object.entries(podMonitorEndpoint.params).flatMap(([k, values]) =>
          values.map((v): [string, string] => [k, v]),
        ),
      );
      const url = `${gateway.url}${podMonitorEndpoint.path}?${query}`;
      const refused = await fetch(url);
      assert.equal(refused.status, 401, 'METRICS_TOKEN from the Secret is enforced');
      await refused.arrayBuffer();
      const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await response.text();
      // Raw metric names only: recorded series (`level:metric:operations`) contain colons.
      const used = new Set(
        readRepoFile('monitoring/ws-manager-rules.yml').match(/(?<![\w:])ws_manager_[a-z_]+(?![\w:])/g),
      );
      assert.ok(used.size > 0);
      // The clustered mode's series come from clustered processes (test/cluster/cluster-flow.test.ts).
      for (const metric of [...used].filter((m) => !m.startsWith('ws_manager_cluster_')))
        assert.match(body, new RegExp(`^${metric}[ {]`, 'm'), `${metric} is exposed`);
      assert.match(body, /^ws_manager_info\{implementation="([A-Za-z]+)"\} 1$/m);
      assert.ok(body.includes(`ws_manager_info{implementation="${implementation}"} 1`));
    });

    test('the Ingress paths reach the downstream WebSocket API', async () => {
      const ingress = findObject(objects, 'Ingress');
      const paths = (field(ingress, 'spec.rules.0.http.paths') as Array<{ path: string }>).map((p) => p.path);
      assert.deepEqual(paths.sort(), ['/stream', '/ws']);
      const raw = JSON.parse(await firstMessage(`${gateway.wsUrl}/ws/btcusdt@trade`)) as { e: string };
      assert.equal(raw.e, 'trade');
      const combined = JSON.parse(await firstMessage(`${gateway.wsUrl}/stream?streams=btcusdt@trade`)) as {
        stream: string;
      };
      assert.equal(combined.stream, 'btcusdt@trade');
    });
  });
}

checksFor('canary track (k8s/staging-canary.yaml)', loadManifest(), 'WSManager');
checksFor(
  'stable track (baseline from the docs/canary.md command)',
  parseManifest(baselineManifestText()),
  'Legacy',
);
