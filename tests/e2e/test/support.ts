import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  startTestCluster,
  waitForNodes,
  type TestCluster,
  type TestClusterOptions,
} from '@atoll/control/testing';

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

/** A JSON client of control's REST APIs with the admin's token; throws on non-2xx with the body. */
export function apiOf(cluster: () => { url: string; token: string }) {
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(cluster().url + p, {
      method,
      headers: {
        authorization: `Bearer ${cluster().token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  };
}

/** Logs the browser in as the admin through the login page. */
export async function login(page: Page, cluster: { url: string; adminPassword: string }): Promise<void> {
  await page.goto(`${cluster.url}/`);
  await page.waitForURL(/\/login/);
  await page.getByTestId('login-username').fill('admin');
  await page.getByTestId('login-password').fill(cluster.adminPassword);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/**
 * A cluster serving the console with its agents connected, and a browser page logged in as the
 * admin. `close()` removes all of it.
 */
export async function consoleSession(
  opts: TestClusterOptions = { agent: true },
): Promise<{ cluster: TestCluster; browser: Browser; page: Page; close: () => Promise<void> }> {
  await mkdir(shots, { recursive: true });
  const cluster = await startTestCluster({ ...opts, console: true });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000);
  await waitForNodes(cluster, typeof opts.agents === 'number' ? opts.agents : (opts.agents?.length ?? 1));
  await login(page, cluster);
  return {
    cluster,
    browser,
    page,
    close: async () => {
      await browser.close();
      await cluster.stop();
    },
  };
}
