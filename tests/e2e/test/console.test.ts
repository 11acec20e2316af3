import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { e2eMissing, IMAGE, launchBrowser, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('the console, end to end', () => {
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

  it('logs in', async () => {
    await page.goto(`${cluster.url}/`);
    await page.waitForURL(/\/login/);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill('wrong-password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByText(/invalid username or password/i).count()).toBeGreaterThan(0);
    await page.getByTestId('login-password').fill(cluster.adminPassword);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  });

  it('shows the local node with its resources', async () => {
    await page.getByTestId('nav-nodes').click();
    await page.waitForURL(/\/nodes/);
    const row = page.getByTestId('node-row').first();
    await row.waitFor();
    await expect.poll(async () => (await row.textContent()) ?? '').toMatch(/docker/);
    await page.screenshot({ path: path.join(shots, 'nodes.png'), fullPage: true });
  });

  it('deploys a service from the form and sees it RUNNING and answering', async () => {
    await page.getByTestId('nav-services').click();
    await page.getByTestId('run-service').click();
    await page.getByTestId('form-id').fill('/e2e/web');
    await page.getByTestId('form-image').fill(IMAGE);
    await page
      .getByTestId('form-cmd')
      .fill('mkdir -p /www && echo hello > /www/index.html && httpd -f -p 8080 -h /www');
    await page.getByTestId('form-instances').fill('1');
    await page.getByTestId('form-cpus').fill('0.1');
    await page.getByTestId('form-mem').fill('32');
    await page.getByTestId('form-port').fill('8080');
    // The JSON editor follows the form.
    await expect
      .poll(async () => (await page.getByTestId('json-editor').textContent()) ?? '')
      .toContain('/e2e/web');
    await page.screenshot({ path: path.join(shots, 'run-service.png'), fullPage: true });
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/\/services\/detail/);
    const running = page.locator('[data-testid="task-row"][data-state="TASK_RUNNING"]');
    await expect.poll(() => running.count(), { timeout: 60_000 }).toBe(1);
    const ports = (await running.first().getByTestId('task-host-ports').textContent()) ?? '';
    const hostPort = /(\d{4,5})/.exec(ports)?.[1];
    expect(hostPort).toBeDefined();
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('hello');
    await page.screenshot({ path: path.join(shots, 'service-detail.png'), fullPage: true });
  });

  it('scales to 2 live, without a reload', async () => {
    // The start deployment holds Marathon's lock until it is done: the status says Running then.
    await expect
      .poll(async () => (await page.getByTestId('service-status').textContent()) ?? '', { timeout: 30_000 })
      .toContain('Running');
    await page.getByTestId('scale-button').click();
    await page.getByTestId('scale-input').fill('2');
    await page.getByTestId('scale-confirm').click();
    const running = page.locator('[data-testid="task-row"][data-state="TASK_RUNNING"]');
    await expect.poll(() => running.count(), { timeout: 60_000 }).toBe(2);
  });

  it('kills one task and watches it replaced', async () => {
    await expect
      .poll(async () => (await page.getByTestId('service-status').textContent()) ?? '', { timeout: 30_000 })
      .toContain('Running');
    const rows = page.locator('[data-testid="task-row"][data-state="TASK_RUNNING"]');
    const ids = () =>
      rows.evaluateAll((els) =>
        els.map((e) => /e2e_web\.[0-9a-f-]{36}/.exec(e.textContent ?? '')?.[0] ?? ''),
      );
    const before = await ids();
    expect(before.every(Boolean)).toBe(true);
    await rows.first().getByTestId('task-select').check();
    await page.getByTestId('kill-button').click();
    await page.getByTestId('kill-confirm').click();
    // Two running again, one of them new.
    await expect
      .poll(
        async () => {
          const now = await ids();
          return now.length === 2 && now.filter((t) => !before.includes(t)).length === 1;
        },
        { timeout: 60_000 },
      )
      .toBe(true);
  });

  it('pasting an app that does not fit into the JSON editor shows why it waits', async () => {
    await page.getByTestId('nav-services').click();
    await page.getByTestId('run-service').click();
    const editor = page.getByTestId('json-editor').locator('.cm-content');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await editor.fill(
      JSON.stringify({ id: '/e2e/huge', cmd: 'sleep 100', cpus: 4096, mem: 16, instances: 1 }),
    );
    // The form follows the JSON.
    await expect.poll(() => page.getByTestId('form-id').inputValue()).toBe('/e2e/huge');
    await expect.poll(() => page.getByTestId('form-cpus').inputValue()).toBe('4096');
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/\/services\/detail/);
    const issue = page.getByTestId('placement-issue');
    await expect
      .poll(async () => (await issue.textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/needs 4096 cpus, largest free is/);
    await page.screenshot({ path: path.join(shots, 'service-waiting.png'), fullPage: true });
    await page.getByTestId('destroy-button').click();
    await page.getByTestId('destroy-confirm').click();
    await page.waitForURL(/\/services(\?|$)/);
  });

  it('lists the service on the Services page', async () => {
    await page.getByTestId('nav-services').click();
    const row = page.locator('[data-testid="service-row"][data-id="/e2e/web"]');
    await row.waitFor();
    await page.screenshot({ path: path.join(shots, 'services.png'), fullPage: true });
  });

  it('destroys the service and leaves no container', async () => {
    await page.goto(`${cluster.url}/services/detail?id=${encodeURIComponent('/e2e/web')}`);
    await page.getByTestId('destroy-button').click();
    await page.getByTestId('destroy-confirm').click();
    await page.waitForURL(/\/services(\?|$)/);
    const docker = new Docker();
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ filters: { label: ['io.atoll.app-id=/e2e/web'] } })).length,
        { timeout: 60_000 },
      )
      .toBe(0);
    await expect
      .poll(() => page.locator('[data-testid="service-row"][data-id="/e2e/web"]').count(), {
        timeout: 30_000,
      })
      .toBe(0);
  });
});
