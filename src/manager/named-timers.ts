/**
 * One-shot timers kept by name: setting a name replaces its pending timer, and `clearAll` stops every
 * one, so an owner with several timers cannot leave one running or arm one twice.
 */
export class NamedTimers<Name extends string> {
  private readonly pending = new Map<Name, NodeJS.Timeout>();

  /** Runs `callback` after `ms`, replacing the pending timer of the same name. */
  set(name: Name, ms: number, callback: () => void): void {
    this.clear(name);
    this.pending.set(
      name,
      setTimeout(() => {
        this.pending.delete(name);
        callback();
      }, ms),
    );
  }

  clear(name: Name): void {
    const timer = this.pending.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(name);
  }

  clearAll(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
