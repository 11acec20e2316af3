import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const IMAGE = 'atoll-test-busybox:latest';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Screenshots of key pages, for people to look at. */
export const shots = path.join(root, 'test-results', 'screenshots');

/**
 * What the end-to-end tests lack on this machine, or null. Outside CI a missing part skips the
 * tests loudly; in CI it fails them.
 */
export async function e2eMissing(): Promise<string | null> {
  let missing: string | null = null;
  if (!existsSync(CHROMIUM)) missing = `no Chromium at ${CHROMIUM}`;
  else if (!existsSync(path.join(root, 'apps/console/.next/BUILD_ID')))
    missing = 'the console is not built (npm run build)';
  else {
    try {
      await new Docker().getImage(IMAGE).inspect();
    } catch {
      missing = `no Docker Engine or no ${IMAGE}`;
    }
  }
  if (missing) {
    if (process.env.CI) throw new Error(`end-to-end prerequisites missing in CI: ${missing}`);
    console.warn(`\n!!! SKIPPING end-to-end tests: ${missing}\n`);
  }
  return missing;
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Replaces the text of the CodeMirror editor inside `testId`. */
export async function fillEditor(page: Page, testId: string, value: unknown): Promise<void> {
  const editor = page.getByTestId(testId).locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await editor.fill(JSON.stringify(value));
}
