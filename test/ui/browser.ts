/**
 * Headless Chromium for the dashboard tests: the Debian `chromium` package
 * driven by playwright-core, a fresh profile per run, every background
 * network feature off so nothing but loopback is reached. Missing Chromium
 * skips loudly, except under CI=true where it fails.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser context, or undefined when the test was skipped for want of Chromium. */
export async function openBrowser(t: TestContext, viewport = { width: 1280, height: 900 }): Promise<BrowserContext | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}; install the Debian package \`chromium\` (CI=true needs the browser test to run).`);
    console.warn(`\n*** SKIPPED: the browser test needs Chromium at ${CHROMIUM} (apt-get install -y chromium) ***\n`);
    t.skip(`Chromium missing at ${CHROMIUM}`);
    return undefined;
  }
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    timeout: 30_000,
  });
  t.after(async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  });
  return context;
}
