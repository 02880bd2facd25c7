/**
 * The subscribers of one stream (or of one source), in subscription order. Delivery runs per event, so
 * it iterates `members`, an array built once after a change and never mutated: the loop needs no copy,
 * and a handler that unsubscribes someone while it runs leaves the loop's array intact. A member
 * removed meanwhile is skipped with `holds`, which only looks it up once the list has changed.
 */
export class SubscriberList<T> {
  /** Insertion-ordered, so it also gives the subscription order. */
  private readonly present = new Set<T>();
  /** `present` as an array; undefined after a change until `members` is read again. */
  private current: readonly T[] | undefined = [];

  /** The members in subscription order; a new array after each change, never mutated. */
  get members(): readonly T[] {
    this.current ??= [...this.present];
    return this.current;
  }

  get size(): number {
    return this.present.size;
  }

  /** Adds `member` (once: adding it again changes nothing); returns the function that removes it. */
  add(member: T): () => boolean {
    if (!this.present.has(member)) {
      this.present.add(member);
      this.current = undefined;
    }
    return () => this.remove(member);
  }

  /** Removes `member`; false when it was not in the list (removed already, or cleared). */
  remove(member: T): boolean {
    if (!this.present.delete(member)) return false;
    this.current = undefined;
    return true;
  }

  /**
   * Whether `member`, read from `members` as it was when a delivery loop started, is still subscribed.
   * While the list is unchanged this is one comparison.
   */
  holds(members: readonly T[], member: T): boolean {
    return members === this.current || this.present.has(member);
  }

  /** Empties the list and returns who was in it: later removes of them are no-ops, and loops skip them. */
  clear(): readonly T[] {
    const ended = this.members;
    this.present.clear();
    this.current = [];
    return ended;
  }
}
