/**
 * The ranking of the status page's `topStreams`: most subscribers first, then by name in code-unit
 * order (locale-independent, and cheap enough to apply to every stream of a large manager).
 */

/** True when a stream with `subscribers` and `name` ranks before one with `otherSubscribers` and `otherName`. */
export function ranksBefore(
  subscribers: number,
  name: string,
  otherSubscribers: number,
  otherName: string,
): boolean {
  return subscribers !== otherSubscribers ? subscribers > otherSubscribers : name < otherName;
}

/**
 * The first `limit` of `items` in ranking order, in one pass and without sorting them all: with
 * thousands of streams, a full sort per metrics document cost more than the rest of the document.
 */
export function busiest<T>(
  items: Iterable<T>,
  limit: number,
  subscribersOf: (item: T) => number,
  nameOf: (item: T) => string,
): T[] {
  const top: T[] = [];
  if (limit <= 0) return top;
  for (const item of items) {
    const subscribers = subscribersOf(item);
    const name = nameOf(item);
    const last = top[top.length - 1];
    if (
      top.length === limit &&
      last !== undefined &&
      !ranksBefore(subscribers, name, subscribersOf(last), nameOf(last))
    ) {
      continue;
    }
    let at = top.length;
    while (at > 0) {
      const before = top[at - 1]!;
      if (!ranksBefore(subscribers, name, subscribersOf(before), nameOf(before))) break;
      at--;
    }
    top.splice(at, 0, item);
    if (top.length > limit) top.pop();
  }
  return top;
}
