/**
 * Structural measures of limiter state, independent of how a limiter is built and of heap timing: the
 * bytes its state holds, and the Map entries it visits.
 */

/**
 * Bytes of state reachable from `root`: 8 per number, a typed array's byte length, a string's length;
 * objects, arrays and Maps are walked (functions are not state and are skipped).
 */
export function structuralBytes(root: unknown): number {
  const seen = new Set<object>();
  const pending: unknown[] = [root];
  let bytes = 0;
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'number') bytes += 8;
    else if (typeof value === 'string') bytes += value.length;
    else if (typeof value === 'object' && value !== null && !seen.has(value)) {
      seen.add(value);
      if (ArrayBuffer.isView(value)) {
        bytes += value.byteLength;
        continue;
      }
      if (value instanceof Map) for (const [k, v] of value) pending.push(k, v);
      for (const key of Reflect.ownKeys(value))
        pending.push((value as Record<string | symbol, unknown>)[key]);
    }
  }
  return bytes;
}

/** Map entries visited by iteration (for…of, entries(), keys(), values()) while `run` runs. */
export function mapEntriesVisited(run: () => void): number {
  const prototypes = [new Map().entries(), new Map().keys(), new Map().values()].map(
    (it) => Object.getPrototypeOf(it) as { next: (this: unknown) => unknown },
  );
  const shared = [...new Set(prototypes)];
  const originals = shared.map((p) => p.next);
  let visited = 0;
  for (const [i, p] of shared.entries()) {
    const next = originals[i]!;
    p.next = function (this: unknown) {
      visited++;
      return next.call(this);
    };
  }
  try {
    run();
  } finally {
    for (const [i, p] of shared.entries()) p.next = originals[i]!;
  }
  return visited;
}
