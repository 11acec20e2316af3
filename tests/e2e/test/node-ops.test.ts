import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('node operations in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => cluster);

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ agents: 2, console: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('drains a node from its page, follows the progress to DRAINED, and edits its attributes', async () => {
    await expect
      .poll(
        async () =>
          (await api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes')).filter((n) => n.connected)
            .length,
        { timeout: 60_000 },
      )
      .toBe(2);
    await api('POST', '/v2/apps', {
      id: '/e2e-drain',
      instances: 3,
      cpus: 0.01,
      mem: 8,
      cmd: 'exec sleep 3600',
      container: { type: 'DOCKER', docker: { image: IMAGE } },
      taskKillGracePeriodSeconds: 1,
    });
    type T = { state: string; slaveId: string };
    await expect
      .poll(
        async () =>
          (await api<{ tasks: T[] }>('GET', '/v2/apps/e2e-drain/tasks')).tasks.filter(
            (t) => t.state === 'TASK_RUNNING',
          ).length,
        { timeout: 60_000 },
      )
      .toBe(3);
    const tasks = (await api<{ tasks: T[] }>('GET', '/v2/apps/e2e-drain/tasks')).tasks;
    const target = tasks[0]!.slaveId;

    await login(page, cluster);

    await page.goto(`${cluster.url}/nodes/${target}`);
    await expect.poll(() => page.getByTestId('node-mode').getAttribute('data-mode')).toBe('ACTIVE');
    await page.getByTestId('node-drain').click();
    await expect
      .poll(async () => (await page.getByTestId('node-op-dialog').textContent()) ?? '')
      .toContain('one at a time');
    await page.getByTestId('node-op-confirm').click();
    await expect.poll(() => page.getByTestId('drain-progress').count()).toBe(1);
    await expect
      .poll(() => page.getByTestId('node-mode').getAttribute('data-mode'), { timeout: 90_000 })
      .toBe('DRAINED');
    await expect
      .poll(async () => (await page.getByTestId('drain-progress').textContent()) ?? '')
      .toMatch(/0 left/);
    await expect.poll(() => page.locator('[data-testid="task-row"]').count()).toBe(0);
    await page.screenshot({ path: path.join(shots, 'node-drained.png'), fullPage: true });

    await page.getByTestId('edit-attributes').click();
    await page.getByTestId('attributes-input').fill('rack=r9\nbad key!=x');
    await page.getByTestId('attributes-save').click();
    await expect
      .poll(() => page.getByTestId('attributes-dialog').getByTestId('field-error').count())
      .toBeGreaterThan(0);
    await page.getByTestId('attributes-input').fill('rack=r9');
    await page.getByTestId('attributes-save').click();
    await expect
      .poll(async () => (await page.locator('[data-testid="node-attribute"]').allTextContents()).join(' '))
      .toContain('r9');

    // The list shows the mode too.
    await page.goto(`${cluster.url}/nodes`);
    await expect.poll(() => page.locator('[data-testid="node-mode"][data-mode="DRAINED"]').count()).toBe(1);
    await page.screenshot({ path: path.join(shots, 'nodes-list-modes.png'), fullPage: true });
  }, 240_000);
});
