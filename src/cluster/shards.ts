/**
 * Streams hash into a fixed number of shards; each shard's preferred owner among the live ingest
 * nodes is chosen by rendezvous (highest random weight) hashing, so every node computes the same
 * answer without a leader, and a node joining or leaving moves only the shards it wins or held.
 */

/** 32-bit FNV-1a over the UTF-16 code units, finished with murmur3's avalanche so nearby inputs spread. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return finishHash(h);
}

/** murmur3's finish of an FNV-1a state: every input bit reaches every output bit; unsigned 32 bits. */
export function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function shardOf(stream: string, shardCount: number): number {
  return hash32(stream) % shardCount;
}

/** The node with the highest weight for `shard`; ties (practically impossible) go to the smaller id. */
export function preferredOwner(shard: number, nodes: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = hash32(`${node}/${shard}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}
