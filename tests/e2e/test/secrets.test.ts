import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

// The Secrets page: a secret created in the page is stored (and its value never comes back to the
// page), the list names the services that use it, deleting warns about them, admins rotate keys.
describe.skipIf(missing !== null)('secrets in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => cluster);
  const value = `console-secret-${Math.random().toString(36).slice(2)}`;

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

  it('creates a secret in the page, shows who uses it, never shows its value', async () => {
    await page.getByTestId('nav-secrets').click();
    await page.waitForURL(/\/secrets/);
    await page.getByTestId('new-secret').click();
    await page.getByTestId('secret-path').fill('/e2e/db-password');
    await page.getByTestId('secret-value').fill(value);
    await page.getByTestId('secret-description').fill('the e2e database');
    await page.getByTestId('secret-save').click();
    const row = page.locator('[data-testid="secret-row"][data-path="/e2e/db-password"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('the e2e database');

    // Stored: control gives it to a service that refers to it (checked through the list's usedBy).
    await api('POST', '/v2/apps', {
      id: '/e2e/web',
      cmd: 'sleep 3600',
      instances: 0,
      cpus: 0.1,
      mem: 32,
      secrets: { db: { source: '/e2e/db-password' } },
      env: { DB_PASSWORD: { secret: 'db' } },
    });
    await page.reload();
    await expect.poll(async () => (await row.textContent()) ?? '').toContain('/e2e/web');

    // A bad path is refused in the dialog, naming the field.
    await page.getByTestId('new-secret').click();
    await page.getByTestId('secret-path').fill('/bad path');
    await page.getByTestId('secret-value').fill('x');
    await page.getByTestId('secret-save').click();
    await expect
      .poll(
        async () => (await page.getByTestId('secret-dialog').getByTestId('field-error').textContent()) ?? '',
      )
      .toMatch(/segments/);
    await page.keyboard.press('Escape');

    // Editing: the value field is write-only and starts empty.
    await row.getByTestId('secret-edit').click();
    expect(await page.getByTestId('secret-value').inputValue()).toBe('');
    await page.getByTestId('secret-description').fill('the e2e database (primary)');
    await page.getByTestId('secret-save').click();
    await expect.poll(async () => (await row.textContent()) ?? '').toContain('(primary)');
    expect(await page.content()).not.toContain(value);

    // Deleting warns about the service that still refers to it.
    await row.getByTestId('secret-delete').click();
    const warning = page.getByTestId('secret-delete-warning');
    await expect.poll(async () => (await warning.textContent()) ?? '').toContain('/e2e/web');
    await page.screenshot({ path: path.join(shots, 'secrets-delete-warning.png') });
    await page.keyboard.press('Escape');

    // The service form takes a variable from a secret (a select of the secrets).
    await page.getByTestId('nav-services').click();
    await page.getByTestId('run-service').click();
    await page.getByTestId('form-id').fill('/e2e/api');
    await page.getByTestId('form-image').fill(IMAGE);
    await page.getByTestId('form-cmd').fill('sleep 3600');
    await page.getByTestId('form-instances').fill('0');
    await page.getByTestId('secret-env-key').fill('API_DB_PASSWORD');
    await page.getByTestId('secret-env-source').selectOption('/e2e/db-password');
    await page.getByTestId('secret-env-add').click();
    await expect
      .poll(async () => (await page.getByTestId('secret-env-row').textContent()) ?? '')
      .toContain('API_DB_PASSWORD');
    await page.screenshot({ path: path.join(shots, 'secrets-service-form.png') });
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/\/services\/detail/);
    const app = await api<{ app: { env: Record<string, unknown>; secrets: Record<string, unknown> } }>(
      'GET',
      '/v2/apps/e2e/api',
    );
    expect(app.app.env.API_DB_PASSWORD).toEqual({ secret: 'e2e-db-password' });
    expect(app.app.secrets).toEqual({ 'e2e-db-password': { source: '/e2e/db-password' } });
    await page.getByTestId('nav-secrets').click();
    await page.waitForURL(/\/secrets/);
    await expect.poll(async () => (await row.textContent()) ?? '').toContain('/e2e/api');

    // Admins rotate the keys.
    await page.getByTestId('rotate-keys').click();
    await page.getByTestId('rotate-confirm').click();
    await expect
      .poll(async () => (await page.getByTestId('rotate-result').textContent()) ?? '')
      .toMatch(/Re-encrypted 1 of 1/);
    await page.keyboard.press('Escape');
    await page.screenshot({ path: path.join(shots, 'secrets.png') });
    expect(await page.content()).not.toContain(value);
  });
});
