import path from 'node:path';
import Docker from 'dockerode';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partlyReadableIndex, redisCommand, serveJson, type TestCluster } from '@atoll/control/testing';
import { apiOf, consoleSession, e2eMissing, shots } from './support';

const missing = await e2eMissing();
/** Debian's redis-server in a FROM scratch image (scripts/test-image.sh). */
const REDIS_IMAGE = 'atoll-test-redis:latest';

describe.skipIf(missing !== null)('the catalog in the console, end to end', () => {
  let session: Awaited<ReturnType<typeof consoleSession>>;
  let cluster: TestCluster;
  let page: Page;
  const api = apiOf(() => cluster);

  beforeAll(async () => {
    session = await consoleSession();
    ({ cluster, page } = session);
  });
  afterAll(() => session?.close());

  it('installs Redis from the catalog with its image pointed at a local build, gets PONG, and uninstalls it without a trace', async () => {
    await page.getByTestId('nav-catalog').click();
    await page.waitForURL(/\/catalog$/);
    await expect.poll(() => page.locator('[data-testid^="package-"]').count()).toBeGreaterThanOrEqual(24);
    await page.screenshot({ path: path.join(shots, 'catalog-grid.png'), fullPage: true });
    await page.getByTestId('catalog-search').fill('key-value');
    await expect.poll(() => page.getByTestId('package-redis').count()).toBe(1);
    await expect.poll(() => page.getByTestId('package-nginx').count()).toBe(0);
    await page.getByTestId('package-redis').getByRole('link').click();
    await page.waitForURL(/\/catalog\/package\?name=redis/);
    await expect
      .poll(async () => (await page.locator('main').textContent()) ?? '')
      .toContain('Before installing');
    await page.screenshot({ path: path.join(shots, 'catalog-package.png'), fullPage: true });

    await page.getByTestId('review-run').click();
    const form = page.getByTestId('options-form');
    await form.locator('#root_service_image').fill(REDIS_IMAGE);
    await form.locator('#root_resources_mem').fill('128');
    await form.locator('#root_resources_disk').fill('64');
    // A CPU share below the package's minimum is refused by the API and shown on the field.
    await form.locator('#root_resources_cpus').fill('0.01');
    await expect
      .poll(async () => (await page.getByTestId('options-json').textContent()) ?? '')
      .toContain(REDIS_IMAGE);
    await page.getByTestId('install-button').click();
    await expect
      .poll(async () => (await form.locator('.error-detail').allTextContents()).join(' '))
      .toMatch(/>= 0\.1/);
    await form.locator('#root_resources_cpus').fill('0.2');
    await page.screenshot({ path: path.join(shots, 'catalog-options.png'), fullPage: true });
    await page.getByTestId('install-button').click();

    await expect.poll(() => page.getByTestId('install-result').count()).toBe(1);
    await expect
      .poll(async () => (await page.getByTestId('post-install-notes').textContent()) ?? '')
      .toContain('redis.marathon.mesos');
    await expect
      .poll(() => page.getByTestId('install-progress').getAttribute('data-done'), { timeout: 120_000 })
      .toBe('true');
    await page.screenshot({ path: path.join(shots, 'catalog-installed.png'), fullPage: true });

    const { tasks } = await api<{ tasks: Array<{ ports: number[] }> }>('GET', '/v2/apps/redis/tasks');
    expect(await redisCommand(tasks[0]!.ports[0]!)).toBe('+PONG');
    const app = await api<{ app: { cpus: number; mem: number; container: { docker: { image: string } } } }>(
      'GET',
      '/v2/apps/redis',
    );
    expect(app.app).toMatchObject({ cpus: 0.2, mem: 128, container: { docker: { image: REDIS_IMAGE } } });

    // The service carries its package badge, linking back to the package.
    await page.getByTestId('service-link').click();
    await page.waitForURL(/\/services\/detail/);
    await expect
      .poll(async () => (await page.getByTestId('package-badge').textContent()) ?? '')
      .toContain('redis');

    await page.goto(`${cluster.url}/catalog?tab=installed`);
    await page.getByTestId('installed-/redis').getByTestId('uninstall-button').click();
    await page.getByTestId('confirm-uninstall').click();
    await expect.poll(() => page.getByTestId('installed-/redis').count(), { timeout: 60_000 }).toBe(0);
    const docker = new Docker();
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ all: true, filters: { label: ['io.atoll.app-id=/redis'] } })).length,
        { timeout: 90_000 },
      )
      .toBe(0);
  });

  it('lists the repositories on the Settings page and names a bad repository uri', async () => {
    await page.getByTestId('nav-settings').click();
    await page.waitForURL(/\/settings$/);
    await expect
      .poll(async () =>
        Number(await page.getByTestId('repo-Atoll').getByTestId('repo-packages').textContent()),
      )
      .toBeGreaterThanOrEqual(24);
    await page.getByTestId('repo-name').fill('nowhere');
    await page.getByTestId('repo-uri').fill('http://127.0.0.1:9/repo.json');
    await page.getByTestId('add-repo').click();
    await expect
      .poll(async () => (await page.getByTestId('field-error').textContent()) ?? '')
      .toContain('could not fetch');
    await page.screenshot({ path: path.join(shots, 'settings-repositories.png'), fullPage: true });
  });

  it('shows on the Settings page how many entries of a repository were skipped, and why', async () => {
    const index = await serveJson({ '/partial.json': partlyReadableIndex('partial-hello') });
    try {
      await api('POST', '/api/v1/packages/repositories', {
        name: 'partial',
        uri: index.url('/partial.json'),
      });
      await page.goto(`${cluster.url}/settings`);
      const row = page.getByTestId('repo-partial');
      await expect.poll(async () => (await row.getByTestId('repo-packages').textContent()) ?? '').toBe('1');
      const badge = row.getByTestId('repo-skipped');
      expect(await badge.textContent()).toContain('2 skipped');
      expect(await badge.getAttribute('aria-expanded')).toBe('false');
      await badge.click();
      await expect.poll(() => page.url()).toMatch(/[?&]skipped=partial$/);
      const list = page.getByTestId('repo-skipped-partial');
      await expect.poll(() => list.getByTestId('skipped-entry').count()).toBe(2);
      expect(await badge.getAttribute('aria-expanded')).toBe('true');
      const entries = (await list.getByTestId('skipped-entry').allInnerTexts()).map((t) => t.split('\t'));
      expect(entries[0]).toEqual([
        'packages[1]',
        'partial-hello-next',
        '2.0.0',
        expect.stringMatching(/^packagingVersion: .*"6\.0"/),
      ]);
      expect(entries[1]).toEqual(['packages[2]', '—', '0.0.1', expect.stringMatching(/^name: /)]);
      // The built-in repository has nothing skipped and no badge.
      expect(await page.getByTestId('repo-Atoll').getByTestId('repo-skipped').count()).toBe(0);
      await page.screenshot({ path: path.join(shots, 'settings-skipped.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: path.join(shots, 'settings-skipped-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: null });

      // The link opens the same list; the badge closes it.
      await page.reload();
      await expect.poll(() => list.getByTestId('skipped-entry').count()).toBe(2);
      await badge.click();
      await expect.poll(() => list.count()).toBe(0);
    } finally {
      await api('DELETE', '/api/v1/packages/repositories?name=partial').catch(() => undefined);
      await index.close();
    }
  });
});
