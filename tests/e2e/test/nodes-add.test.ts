import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { e2eMissing, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('adding a node in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ agent: true, console: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('Add node shows a working install command; the token can be revoked', async () => {
    await login(page, cluster);

    await page.goto(`${cluster.url}/nodes`);
    await page.getByTestId('add-node').click();
    await page.getByTestId('token-attributes').fill('rack=r7');
    await page.getByTestId('token-description').fill('e2e rack 7');
    await page.getByTestId('token-multi').check();
    await page.getByTestId('token-create').click();
    const line = (await page.getByTestId('install-line').textContent())!.trim();
    expect(line).toMatch(/^curl -fsSL (\S+\/install\/agent\.sh) \| sudo sh -s -- --token (join_\S+)$/);
    await page.screenshot({ path: path.join(shots, 'add-node.png'), fullPage: true });

    // The line works: the script it fetches is the installer, and control accepts the token.
    const [, scriptUrl, token] = /^curl -fsSL (\S+) \| sudo sh -s -- --token (\S+)$/.exec(line)!;
    const script = await (await fetch(scriptUrl!)).text();
    expect(script.startsWith('#!/bin/sh')).toBe(true);
    expect(script).toContain(`CONTROL_URL='${cluster.url}'`);
    const check = await fetch(`${cluster.url}/install/token-check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(check.status).toBe(200);

    await page.getByRole('button', { name: 'Done' }).click();
    const row = page
      .locator('[data-testid="join-token-row"][data-status="usable"]')
      .filter({ hasText: 'e2e rack 7' });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByTestId('revoke-token').click();
    await page.getByTestId('revoke-token-confirm').click();
    await expect
      .poll(() => page.locator('[data-testid="join-token-row"][data-status="revoked"]').count())
      .toBe(1);
    const after = await fetch(`${cluster.url}/install/token-check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(after.status).toBe(401);
    expect(await after.text()).toContain('revoked');
    await page.screenshot({ path: path.join(shots, 'join-tokens.png'), fullPage: true });
  }, 120_000);
});
