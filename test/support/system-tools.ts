/**
 * System tools some tests need (promtool, prometheus, amtool, alertmanager, chromium): where to find
 * them, and what to do when one is missing (skip loudly locally, fail under CI=true, where .ci/run
 * installs them).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Absolute path of an executable found on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * What to do when a tool is missing: under `CI=true` the test fails (the CI script installs them, so a
 * missing one is a broken pipeline); elsewhere the test is skipped with a message naming what is missing
 * and how to install it.
 */
const PROMETHEUS_PACKAGES = "Debian's prometheus and prometheus-alertmanager packages";

function missingBinary(t: TestContext, missing: string, packages: string): void {
  const reason = `missing binary ${missing} on PATH: install ${packages} (.ci/run does) to run this test`;
  if (process.env.CI === 'true') throw new Error(`${reason} (mandatory under CI=true)`);
  process.stderr.write(`\n!!! SKIPPED: ${reason}\n\n`);
  t.skip(reason);
}

/** True when every binary is on PATH; otherwise see missingBinary. */
export function haveBinaries(
  t: TestContext,
  names: readonly string[],
  packages: string = PROMETHEUS_PACKAGES,
): boolean {
  const missing = names.filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return true;
  missingBinary(t, missing.join(', '), packages);
  return false;
}

/** The first of several names for the same tool found on PATH; otherwise see missingBinary. */
export function binaryOf(
  t: TestContext,
  alternatives: readonly string[],
  packages: string = PROMETHEUS_PACKAGES,
): string | undefined {
  for (const name of alternatives) {
    const found = findBinary(name);
    if (found !== undefined) return found;
  }
  missingBinary(t, alternatives.join(' or '), packages);
  return undefined;
}
