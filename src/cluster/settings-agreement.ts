/**
 * The settings every process of a cluster must share. Each ingest node writes its values into its
 * entry of the node bucket every lease tick. A process that starts while a live ingest node runs with
 * another value refuses to join (one line naming the setting and both values); an ingest node that
 * sees a live node disagree while running (two started at the same moment, or an older version)
 * raises ws_manager_cluster_settings_mismatch and logs it.
 *
 * Why these: SHARD_COUNT decides which node owns a stream (two counts: streams published twice or by
 * nobody); LEASE_TTL_SECONDS and DEMAND_TTL_SECONDS are single bucket TTLs that every node's local
 * timing assumes (a node counting on a longer lease publishes after the server freed it; demand
 * refreshed less often than the ingest node expires it flaps); the history bounds and
 * JETSTREAM_REPLICAS configure the one history stream that every ingest node rewrites when it
 * starts. Gateways are checked on SHARD_COUNT (exported for the unowned-shard alert) and
 * DEMAND_TTL_SECONDS (their refresh cadence); their lease TTL only tunes when a silent stream may
 * restart its sequence, and they never write the history.
 */
import type { KV } from '@nats-io/kv';
import type { Gauge } from 'prom-client';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClusterSettings } from './cluster-settings.js';
import { BINANCE_FEED_ID, NODE_BUCKET } from './subjects.js';

const AGREED = {
  SHARD_COUNT: (s: ClusterSettings) => s.shardCount,
  LEASE_TTL_SECONDS: (s: ClusterSettings) => s.leaseTtlSeconds,
  DEMAND_TTL_SECONDS: (s: ClusterSettings) => s.demandTtlSeconds,
  HISTORY_MAX_MESSAGES: (s: ClusterSettings) => s.historyMaxMessages,
  HISTORY_MAX_AGE_SECONDS: (s: ClusterSettings) => s.historyMaxAgeSeconds,
  JETSTREAM_REPLICAS: (s: ClusterSettings) => s.replicas,
} as const;

export type AgreedSetting = keyof typeof AGREED;
export const AGREED_SETTINGS = Object.keys(AGREED) as AgreedSetting[];
const GATEWAY_AGREED: readonly AgreedSetting[] = ['SHARD_COUNT', 'DEMAND_TTL_SECONDS'];

export type AgreedValues = Partial<Record<AgreedSetting, number>>;

/** The values of `settings` that `role` must share with the cluster's ingest nodes. */
export function agreedValues(settings: ClusterSettings, role: 'ingest' | 'gateway'): AgreedValues {
  const names = role === 'ingest' ? AGREED_SETTINGS : GATEWAY_AGREED;
  return Object.fromEntries(names.map((name) => [name, AGREED[name](settings)]));
}

/** An ingest node's entry in the node bucket: its settings and the feeds it carries. */
export function nodeEntry(values: AgreedValues, feeds: readonly string[] = [BINANCE_FEED_ID]): string {
  return JSON.stringify({ at: Date.now(), settings: values, feeds });
}

/**
 * Whether the node of `entry` carries feed `id`. An entry that lists no feeds (a node that only
 * claimed its id, one that writes the time alone, or a version that carried Binance alone) carries
 * Binance only.
 */
export function carriesFeed(entry: string, id: string): boolean {
  let feeds: unknown;
  try {
    feeds = (JSON.parse(entry) as { feeds?: unknown } | null)?.feeds;
  } catch {
    feeds = undefined;
  }
  return Array.isArray(feeds) ? feeds.includes(id) : id === BINANCE_FEED_ID;
}

export interface Disagreement {
  readonly setting: AgreedSetting;
  readonly ours: number;
  readonly theirs: number;
  /** The live ingest node running with `theirs`. */
  readonly node: string;
}

/** Where the other live nodes' entries (node id → entry) disagree with `ours`; old entries without settings say nothing. */
export function disagreements(ours: AgreedValues, entries: ReadonlyMap<string, string>): Disagreement[] {
  const found: Disagreement[] = [];
  for (const [node, entry] of entries) {
    const theirs = settingsOfEntry(entry);
    for (const setting of AGREED_SETTINGS) {
      const [a, b] = [ours[setting], theirs?.[setting]];
      if (a !== undefined && typeof b === 'number' && a !== b)
        found.push({ setting, ours: a, theirs: b, node });
    }
  }
  return found;
}

function settingsOfEntry(entry: string): AgreedValues | undefined {
  try {
    const parsed = JSON.parse(entry) as { settings?: unknown };
    return typeof parsed?.settings === 'object' && parsed.settings !== null
      ? (parsed.settings as AgreedValues)
      : undefined;
  } catch {
    return undefined;
  }
}

/** What an ingest node writes into its node entry, and what it learns from the others' every tick. */
export interface NodeEntries {
  own(): string;
  /** The entries of the other live nodes (node id → entry). */
  seen(entries: ReadonlyMap<string, string>): void;
}

/**
 * Listing the node bucket waits until the server says every key was sent; a key that expires while it
 * is listed can leave the listing waiting for the consumer's idle heartbeat, far longer than a lease
 * tick may take. Past this it is abandoned.
 */
export const NODE_LIST_TIMEOUT_MS = 3000;

/**
 * The entries of the live ingest nodes other than `self` (node id → entry).
 * @throws Error when the listing takes longer than `timeoutMs`.
 */
export async function liveNodeEntries(
  nodes: KV,
  self: string,
  timeoutMs = NODE_LIST_TIMEOUT_MS,
): Promise<Map<string, string>> {
  const keys = await nodes.keys();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      keys.stop();
      reject(new Error(`listing the ${NODE_BUCKET} bucket took longer than ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const collect = async () => {
    const entries = new Map<string, string>();
    for await (const key of keys) {
      if (key === self) continue;
      const entry = await nodes.get(key);
      if (entry?.operation === 'PUT') entries.set(key, entry.string());
    }
    return entries;
  };
  try {
    return await Promise.race([collect(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Throws the one-line ConfigError when a live ingest node runs with another value of a shared setting.
 * A node bucket that cannot be listed in time is not a reason to refuse: the start goes on, with a
 * warning, and a running ingest node compares again at every lease tick.
 */
export async function refuseToDisagree(
  nodes: KV,
  self: string,
  ours: AgreedValues,
  logger: Logger,
  timeoutMs = NODE_LIST_TIMEOUT_MS,
): Promise<void> {
  let entries: Map<string, string>;
  try {
    entries = await liveNodeEntries(nodes, self, timeoutMs);
  } catch (error) {
    logger.warn({ err: String(error) }, 'Shared cluster settings not compared at start');
    return;
  }
  const [first] = disagreements(ours, entries);
  if (first === undefined) return;
  throw new ConfigError(
    `${first.setting}=${first.ours} disagrees with the cluster: ingest node ${first.node} runs with ${first.setting}=${first.theirs} (every process of a cluster must use the same ${first.setting})`,
  );
}

/** An ingest node's side while running: writes its values and reports the live nodes that disagree. */
export class SettingsAgreement implements NodeEntries {
  private reported = new Set<string>();

  /** @param feeds the feeds this node carries, listed in its entry. */
  constructor(
    private readonly ours: AgreedValues,
    private readonly mismatch: Gauge,
    private readonly logger: Logger,
    private readonly feeds: readonly string[] = [BINANCE_FEED_ID],
  ) {
    for (const setting of AGREED_SETTINGS) mismatch.set({ setting }, 0);
  }

  own(): string {
    return nodeEntry(this.ours, this.feeds);
  }

  seen(entries: ReadonlyMap<string, string>): void {
    const found = disagreements(this.ours, entries);
    const now = new Set(found.map((d) => `${d.setting}/${d.node}/${d.theirs}`));
    for (const setting of AGREED_SETTINGS) {
      this.mismatch.set({ setting }, found.some((d) => d.setting === setting) ? 1 : 0);
    }
    for (const d of found) {
      if (this.reported.has(`${d.setting}/${d.node}/${d.theirs}`)) continue;
      this.logger.error(
        { setting: d.setting, ours: d.ours, theirs: d.theirs, node: d.node },
        `${d.setting}=${d.ours} here, but live ingest node ${d.node} runs with ${d.setting}=${d.theirs}: every process of a cluster must use the same`,
      );
    }
    this.reported = now;
  }
}
