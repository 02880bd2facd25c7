/** Checks the exchange ids a raw-stream client received: trade `t` / aggTrade `a` grow by one. */
export function contiguousTradeIds(
  messages: readonly string[],
  stream: string,
): { count: number; gaps: number; first: number | undefined; last: number | undefined; missing: number[] } {
  const key = stream.endsWith('@aggTrade') ? 'a' : 't';
  let last: number | undefined;
  let first: number | undefined;
  let gaps = 0;
  const missing: number[] = [];
  let count = 0;
  for (const text of messages) {
    const data = JSON.parse(text) as Record<string, unknown>;
    const id = data[key];
    if (typeof id !== 'number') continue;
    count++;
    first ??= id;
    if (last !== undefined && id !== last + 1) {
      gaps++;
      missing.push(last + 1, id - 1);
    }
    last = id;
  }
  return { count, gaps, first, last, missing };
}
