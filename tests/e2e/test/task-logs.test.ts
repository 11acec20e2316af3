import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('task logs and terminal in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => cluster);

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ agent: true, console: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page.setDefaultTimeout(60_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('follows, pauses, searches and downloads a task log, from the task page', async () => {
    await api('POST', '/v2/apps', {
      id: '/e2e-logs',
      instances: 1,
      cpus: 0.01,
      mem: 8,
      cmd: 'i=0; while true; do echo tick-$i; echo warn-$i >&2; i=$((i+1)); sleep 0.3; done',
      container: { type: 'DOCKER', docker: { image: IMAGE } },
    });
    await expect
      .poll(
        async () =>
          (await api<{ tasks: Array<{ state: string }> }>('GET', '/v2/apps/e2e-logs/tasks')).tasks[0]?.state,
        { timeout: 60_000 },
      )
      .toBe('TASK_RUNNING');

    await login(page, cluster);

    await page.goto(`${cluster.url}/services/detail?id=/e2e-logs`);
    await page.getByTestId('task-link').first().click();
    await page.waitForURL(/\/services\/task/);

    // Follow: a line written after the page opened shows up.
    const lastTick = async () => {
      const texts = await page.locator('[data-testid="log-line"][data-stream="stdout"]').allTextContents();
      const ns = texts.map((t) => Number(/tick-(\d+)/.exec(t)?.[1] ?? -1));
      return Math.max(-1, ...ns);
    };
    await expect.poll(lastTick, { timeout: 30_000 }).toBeGreaterThan(-1);
    const first = await lastTick();
    await expect.poll(lastTick, { timeout: 30_000 }).toBeGreaterThan(first + 2);
    expect(await page.locator('[data-testid="log-line"][data-stream="stderr"]').count()).toBeGreaterThan(0);

    // Pause: the view stops moving while the task keeps writing; resume catches up.
    await page.getByTestId('logs-pause').click();
    const frozen = await lastTick();
    await page.waitForTimeout(1500);
    expect(await lastTick()).toBe(frozen);
    await page.getByTestId('logs-pause').click();
    await expect.poll(lastTick).toBeGreaterThan(frozen);

    // Search: highlights and filters.
    await page.getByTestId('logs-search').fill('warn-1');
    await expect.poll(() => page.locator('[data-testid="logs-lines"] mark').count()).toBeGreaterThan(0);
    await page.getByTestId('logs-only-matches').check();
    await expect
      .poll(async () =>
        (await page.locator('[data-testid="log-line"]').allTextContents()).every((t) => t.includes('warn-1')),
      )
      .toBe(true);
    await page.screenshot({ path: path.join(shots, 'task-logs.png'), fullPage: true });

    // Download: the whole log as a file.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('logs-download').click(),
    ]);
    const file = await download.path();
    expect(await readFile(file, 'utf8')).toContain('tick-0\n');
  }, 240_000);

  it('runs a command in the task from the Terminal tab (xterm.js over the exec WebSocket)', async () => {
    // Same task as above: the page of its first task, Terminal tab.
    await page.goto(`${cluster.url}/services/detail?id=/e2e-logs`);
    await page.getByTestId('task-link').first().click();
    await page.waitForURL(/\/services\/task/);
    await page.getByTestId('tab-terminal').click();
    await page.getByTestId('terminal-connect').click();
    await expect
      .poll(() => page.getByTestId('terminal-state').textContent(), { timeout: 30_000 })
      .toBe('open');

    const screen = page.locator('[data-testid="terminal-screen"] .xterm-rows');
    // The shell's prompt first, so the keys go to it (busybox: "/ # ").
    await expect.poll(async () => (await screen.textContent()) ?? '', { timeout: 30_000 }).toContain('#');
    await page.locator('[data-testid="terminal-screen"] .xterm-helper-textarea').focus();
    // The shell computes the number: "term-42" can only be its output, not the echoed keys.
    await page.keyboard.type('echo term-$((6*7))');
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await screen.textContent()) ?? '', { timeout: 30_000 })
      .toContain('term-42');
    await page.screenshot({ path: path.join(shots, 'task-terminal.png'), fullPage: true });

    await page.keyboard.type('exit 4');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('terminal-message').textContent(), { timeout: 30_000 })
      .toContain('Exited with code 4');
    expect(await page.getByTestId('terminal-state').textContent()).toBe('closed');
  }, 120_000);
});
