/**
 * The one polling helper of the tests: waits for a condition that real sockets, servers or child
 * processes bring about in their own time.
 */

/**
 * Calls `check` every `intervalMs` until it returns a truthy value, and resolves with that value. A
 * check that throws (a server still starting) is tried again; after `timeoutMs` the promise rejects
 * with an error naming `what` and the last error thrown. The 20 ms default keeps a check that reads
 * the gateway's metrics route within RATE_LIMIT_PER_MINUTE's burst (120) for a couple of seconds.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
