import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { e2eMissing, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

/** expect.poll with room for a loaded machine (its default gives up after a second). */
const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 30_000 });

describe.skipIf(missing !== null)('the Organization page, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ console: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await login(page, cluster);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  /** A fresh browser context (no cookie) logged in as `username` through the login page. */
  async function loginAs(username: string, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const p = await context.newPage();
    p.setDefaultTimeout(60_000);
    await p.goto(`${cluster.url}/`);
    await p.waitForURL(/\/login/);
    await p.getByTestId('login-username').fill(username);
    await p.getByTestId('login-password').fill(password);
    await p.getByTestId('login-submit').click();
    await p.waitForURL((u) => !u.pathname.startsWith('/login'));
    return p;
  }

  it('creates a viewer (a weak password is refused under its field), who then logs in and sees only their account', async () => {
    await page.getByTestId('nav-organization').click();
    await page.waitForURL(/\/organization/);
    await eventually(() => page.getByTestId('account-admin').count()).toBe(1);

    await page.getByTestId('new-user').click();
    const dialog = page.getByTestId('create-account-dialog');
    await eventually(async () => (await dialog.textContent()) ?? '').toContain('At least 10 characters');
    await page.getByTestId('account-username').fill('vera');
    await page.getByTestId('account-role').selectOption('viewer');
    await page.getByTestId('account-password').fill('vera');
    await page.getByTestId('account-create').click();
    await eventually(async () =>
      (await dialog.getByTestId('field-error').allTextContents()).join(' | '),
    ).toContain('password must have at least 10 characters');
    await page.screenshot({ path: path.join(shots, 'organization-create-error.png') });

    await page.getByTestId('account-password').fill('vera-reads-everything');
    await page.getByTestId('account-create').click();
    await eventually(() => page.getByTestId('create-account-dialog').isVisible()).toBe(false);
    const row = page.getByTestId('account-vera');
    await eventually(async () => (await row.getByTestId('account-role-cell').textContent())?.trim()).toBe(
      'viewer',
    );
    await eventually(() => row.getByTestId('account-state').getAttribute('data-state')).toBe('active');
    await page.screenshot({ path: path.join(shots, 'organization-users.png'), fullPage: true });

    // Vera in a browser of her own: logged in, a viewer, with only "My account".
    const vera = await loginAs('vera', 'vera-reads-everything');
    await eventually(async () => (await vera.getByTestId('user-menu').textContent()) ?? '').toContain('vera');
    await vera.goto(`${cluster.url}/organization`);
    await eventually(() => vera.getByTestId('tab-me').count()).toBe(1);
    expect(await vera.getByTestId('tab-users').count()).toBe(0);
    expect(await vera.getByTestId('new-user').count()).toBe(0);
    await eventually(() => vera.getByTestId('my-session-row').count()).toBe(1);
    await vera.screenshot({ path: path.join(shots, 'organization-viewer.png'), fullPage: true });

    // The admin resets her password: a generated one, shown once; her session ends.
    await row.getByTestId('account-reset').click();
    await page.getByTestId('reset-submit').click();
    const generated = ((await page.getByTestId('generated-password').textContent()) ?? '').trim();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{20}$/);
    await page.getByTestId('reset-done').click();
    await vera.reload();
    await vera.waitForURL(/\/login/);

    // Five wrong passwords on the login page lock her account, and the page says until when.
    for (let i = 0; i < 5; i++) {
      await vera.getByTestId('login-username').fill('vera');
      await vera.getByTestId('login-password').fill(`not-her-password-${i}`);
      await vera.getByTestId('login-submit').click();
      await eventually(async () => (await vera.getByTestId('login-error').textContent()) ?? '').toMatch(
        i < 4 ? /invalid username or password/ : /account locked until \S+Z/,
      );
    }
    await vera.screenshot({ path: path.join(shots, 'login-locked.png') });
    await vera.context().close();
    await page.reload();
    await eventually(() =>
      page.getByTestId('account-vera').getByTestId('account-state').getAttribute('data-state'),
    ).toBe('locked');
  });

  it('creates a service account and a token for it, shown once, that authenticates', async () => {
    await page.getByTestId('tab-service').click();
    await page.getByTestId('new-service-account').click();
    await eventually(() => page.getByTestId('account-password').count()).toBe(0);
    await page.getByTestId('account-username').fill('ci-deployer');
    await page.getByTestId('account-role').selectOption('operator');
    await page.getByTestId('account-scope').fill('/team-a');
    await page.getByTestId('account-create').click();
    const row = page.getByTestId('account-ci-deployer');
    await eventually(() => row.count()).toBe(1);

    await row.getByTestId('account-tokens').click();
    await page.getByTestId('service-token-name').fill('pipeline');
    await page.getByTestId('service-token-create').click();
    const token = ((await page.getByTestId('service-new-token').textContent()) ?? '').trim();
    expect(token).toMatch(/^atl_/);
    await eventually(() => page.getByTestId('service-token-row').count()).toBe(1);
    await page.screenshot({ path: path.join(shots, 'organization-service-token.png') });

    const me = await fetch(`${cluster.url}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await me.json()).toMatchObject({
      username: 'ci-deployer',
      role: 'operator',
      scope: '/team-a',
      kind: 'service',
    });
  });
});
