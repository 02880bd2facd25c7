/**
 * Real headless Chromium for the status page tests: Debian's `chromium` package driven by
 * playwright-core (no browser download; playwright gives each launch a fresh temporary profile).
 * Missing chromium skips loudly locally and fails under CI=true.
 */
import type { TestContext } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { binaryOf } from '../support/system-tools.js';

/** Launches chromium, or returns undefined after skipping the test (see binaryOf). */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  const executablePath = binaryOf(t, ['chromium', 'chromium-browser'], "Debian's chromium package");
  if (executablePath === undefined) return undefined;
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
