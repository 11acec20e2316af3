import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { e2eMissing, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('metrics charts in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({
      agents: [{ hostname: 'chart-node', env: { ATOLL_METRICS_INTERVAL_SECONDS: '1' } }],
      console: true,
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(60_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('the dashboard, node and service pages show live, non-zero charts', async () => {
    const res = await fetch(`${cluster.url}/v2/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: '/e2e-busy',
        instances: 2,
        cpus: 0.1,
        mem: 32,
        cmd: 'while true; do :; done',
        container: { type: 'DOCKER', docker: { image: IMAGE } },
      }),
    });
    expect(res.status).toBe(201);

    await login(page, cluster);

    const latest = async (testId: string) =>
      Number((await page.getByTestId(testId).getAttribute('data-latest')) || 0);
    const points = async (testId: string) =>
      Number((await page.getByTestId(testId).getAttribute('data-points')) || 0);
    // Samples stream in: more points appear without a reload.
    await expect.poll(() => points('chart-mem'), { timeout: 60_000 }).toBeGreaterThan(1);
    const before = await points('chart-mem');
    await expect.poll(() => points('chart-mem'), { timeout: 60_000 }).toBeGreaterThan(before);
    await expect.poll(() => latest('chart-mem')).toBeGreaterThan(0);
    await expect.poll(() => latest('chart-cpu'), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => latest('chart-disk')).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="chart-cpu"] canvas').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'dashboard-metrics.png'), fullPage: true });

    const nodeId = (await cluster.nodeIdOf(0))!;
    await page.goto(`${cluster.url}/nodes/${nodeId}`);
    await expect.poll(() => latest('chart-node-mem'), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('range-6h').click();
    await expect.poll(() => page.getByTestId('range-6h').getAttribute('aria-pressed')).toBe('true');

    await page.goto(`${cluster.url}/services/detail?id=/e2e-busy`);
    await expect.poll(() => latest('chart-app-cpu'), { timeout: 60_000 }).toBeGreaterThan(0.05);
    await page.screenshot({ path: path.join(shots, 'service-metrics.png'), fullPage: true });
  }, 240_000);
});
