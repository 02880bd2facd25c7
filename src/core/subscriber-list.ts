/**
 * The subscribers of one stream (or of one source), in subscription order. Delivery runs per event, so
 * it iterates `members`, an array never mutated once given out: the loop needs no copy, and a handler
 * that unsubscribes someone while it runs leaves the loop's array intact. A member removed meanwhile is
 * skipped with `holds`, which only looks it up once the list has changed.
 *
 * Most streams have one or a few subscribers and there are many streams, so a small list is just its
 * array, replaced on each change; a Set for look-ups is built only once a list grows past
 * `SET_FROM` members, where copying the array on every change would cost more than the Set's memory.
 */
const SET_FROM = 16;
const NONE: readonly never[] = Object.freeze([]);

export class SubscriberList<T> {
  /** Insertion-ordered membership, present only past `SET_FROM` members. */
  private present: Set<T> | undefined;
  /** The members; undefined after a change while `present` is in use, until `members` is read. */
  private current: readonly T[] | undefined = NONE;

  /** The members in subscription order; a new array after each change, never mutated. */
  get members(): readonly T[] {
    this.current ??= [...(this.present as Set<T>)];
    return this.current;
  }

  get size(): number {
    return this.present === undefined ? (this.current as readonly T[]).length : this.present.size;
  }

  /** Adds `member` (once: adding it again changes nothing); returns the function that removes it. */
  add(member: T): () => boolean {
    if (this.present !== undefined) {
      if (!this.present.has(member)) {
        this.present.add(member);
        this.current = undefined;
      }
    } else {
      const members = this.current as readonly T[];
      if (!members.includes(member)) {
        // `[member]` and `concat` allocate exactly the length (a spread grows a spare backing store).
        if (members.length + 1 < SET_FROM)
          this.current = members.length === 0 ? [member] : members.concat([member]);
        else {
          this.present = new Set(members).add(member);
          this.current = undefined;
        }
      }
    }
    return () => this.remove(member);
  }

  /** Removes `member`; false when it was not in the list (removed already, or cleared). */
  remove(member: T): boolean {
    if (this.present !== undefined) {
      if (!this.present.delete(member)) return false;
      this.current = undefined;
      return true;
    }
    const members = this.current as readonly T[];
    const at = members.indexOf(member);
    if (at < 0) return false;
    this.current = members.length === 1 ? NONE : members.slice(0, at).concat(members.slice(at + 1));
    return true;
  }

  /**
   * Whether `member`, read from `members` as it was when a delivery loop started, is still subscribed.
   * While the list is unchanged this is one comparison.
   */
  holds(members: readonly T[], member: T): boolean {
    if (members === this.current) return true;
    return this.present === undefined
      ? (this.current as readonly T[]).includes(member)
      : this.present.has(member);
  }

  /** Empties the list and returns who was in it: later removes of them are no-ops, and loops skip them. */
  clear(): readonly T[] {
    const ended = this.members;
    this.present = undefined;
    this.current = NONE;
    return ended;
  }
}
