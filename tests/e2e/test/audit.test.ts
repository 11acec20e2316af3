import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, IMAGE, launchBrowser, shots } from './support';

const missing = await e2eMissing();

// The audit log in the console: writes made in the console and over the API appear as rows with
// who, what, target and result. No agent: the service waits for a node, its record is there anyway.
describe.skipIf(missing !== null)('the audit log in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => cluster);
  const rows = () => page.getByTestId('audit-row');
  const row = (action: string, status: number) =>
    page.locator(`[data-testid="audit-row"][data-action="${action}"][data-status="${status}"]`);

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ console: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows a failed login, a service deployed from the form and one deployed over /v2', async () => {
    await page.goto(`${cluster.url}/`);
    await page.waitForURL(/\/login/);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByText(/invalid username or password/i).count()).toBeGreaterThan(0);
    await page.getByTestId('login-password').fill(cluster.adminPassword);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    await page.getByTestId('nav-services').click();
    await page.getByTestId('run-service').click();
    await page.getByTestId('form-id').fill('/e2e-audit/web');
    await page.getByTestId('form-image').fill(IMAGE);
    await page.getByTestId('form-cmd').fill('sleep 3600');
    await page.getByTestId('form-instances').fill('1');
    await page.getByTestId('form-cpus').fill('0.1');
    await page.getByTestId('form-mem').fill('32');
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/\/services\/detail/);
    await api('POST', '/v2/apps', {
      id: '/e2e-audit/api',
      cmd: 'sleep 3600',
      instances: 0,
      cpus: 0.1,
      mem: 32,
    });

    await page.getByTestId('nav-audit').click();
    await page.waitForURL(/\/audit/);
    const created = row('apps.create', 200);
    await expect.poll(() => created.count(), { timeout: 20_000 }).toBe(1);
    await expect
      .poll(async () => (await created.getByTestId('audit-target').textContent()) ?? '')
      .toBe('/e2e-audit/web');
    await expect
      .poll(async () => (await created.getByTestId('audit-actor-cell').textContent()) ?? '')
      .toBe('admin');
    await expect
      .poll(async () => (await created.getByTestId('audit-result').textContent()) ?? '')
      .toMatch(/200/);
    // Over /v2: the route pattern names the action; the record came in while the page was open or before.
    await expect.poll(() => row('POST /v2/apps', 201).count(), { timeout: 20_000 }).toBe(1);
    const failed = row('auth.login', 401);
    await expect.poll(() => failed.count()).toBe(1);
    await expect
      .poll(async () => (await failed.getByTestId('audit-actor-cell').textContent()) ?? '')
      .toContain('not signed in');
    await page.screenshot({ path: path.join(shots, 'audit.png'), fullPage: true });

    // Export: the rows shown, as CSV.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('audit-export').click(),
    ]);
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,at,actor,actorId,method,path,action,target,ip,status,requestId');
    expect(lines.length - 1).toBe(await rows().count());
    expect(lines.some((l) => l.includes(',apps.create,/e2e-audit/web,'))).toBe(true);

    // A prefix filter keeps only the apps.* procedures.
    await page.getByTestId('audit-action').fill('apps.');
    await expect
      .poll(async () => [
        ...new Set(await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))),
      ])
      .toEqual(['apps.create']);
    await page.getByTestId('audit-status').selectOption('4xx');
    await expect.poll(() => page.getByText('No write matches the filters.').count()).toBe(1);
    await page.getByTestId('audit-status').selectOption('');
    await page.getByTestId('audit-action').fill('');

    // The target links to the service's page.
    await created.getByTestId('audit-target-link').click();
    await page.waitForURL(/\/services\/detail\?id=\/e2e-audit\/web/);
  });

  it("is not in a viewer's navigation, and the page says it is for admins", async () => {
    const password = 'viewer-audit-e2e-pw';
    await api('POST', '/api/v1/users', { username: 'audit-viewer', role: 'viewer', password });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const viewer = await context.newPage();
      viewer.setDefaultTimeout(60_000);
      await viewer.goto(`${cluster.url}/`);
      await viewer.waitForURL(/\/login/);
      await viewer.getByTestId('login-username').fill('audit-viewer');
      await viewer.getByTestId('login-password').fill(password);
      await viewer.getByTestId('login-submit').click();
      await viewer.waitForURL((u) => !u.pathname.startsWith('/login'));
      await viewer.getByTestId('nav-events').waitFor();
      expect(await viewer.getByTestId('nav-audit').count()).toBe(0);
      await viewer.goto(`${cluster.url}/audit`);
      await viewer.getByTestId('audit-admins-only').waitFor();
      expect(await viewer.getByTestId('audit-row').count()).toBe(0);
    } finally {
      await context.close();
    }
    // The admin sees the viewer's login among the records.
    await page.goto(`${cluster.url}/audit?actor=audit-viewer`);
    await expect.poll(() => row('auth.login', 200).count(), { timeout: 20_000 }).toBe(1);
  });
});
