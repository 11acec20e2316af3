import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

const ID = '/e2e/deploy';
const httpCheck = {
  protocol: 'HTTP',
  path: '/',
  portIndex: 0,
  gracePeriodSeconds: 5,
  intervalSeconds: 1,
  maxConsecutiveFailures: 3,
};
const webApp = (body: string, extra: Record<string, unknown> = {}) => ({
  id: ID,
  instances: 2,
  cpus: 0.1,
  mem: 32,
  cmd: `mkdir -p /www && echo ${body} > /www/index.html && httpd -f -p 8080 -h /www`,
  container: {
    type: 'DOCKER',
    docker: { image: IMAGE },
    portMappings: [{ containerPort: 8080, hostPort: 0 }],
  },
  networks: [{ mode: 'container/bridge' }],
  healthChecks: [httpCheck],
  ...extra,
});

/** expect.poll gives up after 1 s by default; page loads and live updates may take longer. */
const eventually = { timeout: 30_000 };

interface Task {
  id: string;
  state: string;
  ports: number[];
}

describe.skipIf(missing !== null)('deployments in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;

  const api = apiOf(() => cluster);
  const versionsOf = async () =>
    (await api<{ versions: string[] }>('GET', `/v2/apps${ID}/versions`)).versions;
  const deployments = () => api<Array<{ id: string }>>('GET', '/v2/deployments');
  const appDef = async () =>
    (await api<{ app: { cmd: string; healthChecks: Array<{ path?: string }> } }>('GET', `/v2/apps${ID}`)).app;
  /** What each running task serves on its host port (the page body, or the error). */
  const bodies = async (): Promise<string[]> => {
    const { tasks } = await api<{ tasks: Task[] }>('GET', `/v2/apps${ID}/tasks`);
    return Promise.all(
      tasks
        .filter((t) => t.state === 'TASK_RUNNING')
        .map(async (t) => {
          try {
            const res = await fetch(`http://127.0.0.1:${t.ports[0]}/`, { signal: AbortSignal.timeout(3000) });
            return (await res.text()).trim();
          } catch (err) {
            return `error: ${String(err)}`;
          }
        }),
    );
  };
  /** Both instances answer `body`, and nothing is deploying any more. */
  const servesOnly = async (body: string) => {
    await expect
      .poll(async () => ({ deployments: (await deployments()).length, bodies: await bodies() }), {
        timeout: 150_000,
        interval: 500,
      })
      .toEqual({ deployments: 0, bodies: [body, body] });
  };
  const detail = (tab?: string) => `${cluster.url}/services/detail?id=${ID}${tab ? `&tab=${tab}` : ''}`;

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
    await login(page, cluster);
  });

  it('shows an app created through the API running, with healthy tasks', async () => {
    await api('POST', '/v2/apps', webApp('v1'));
    await page.goto(detail());
    await expect
      .poll(async () => (await page.getByTestId('service-status').textContent()) ?? '', { timeout: 150_000 })
      .toContain('Running');
    const healthy = page.locator(
      '[data-testid="task-row"][data-state="TASK_RUNNING"] [data-testid="task-health"][data-health="healthy"]',
    );
    await expect.poll(() => healthy.count(), { timeout: 60_000 }).toBe(2);
    await servesOnly('v1');
    await page.screenshot({ path: path.join(shots, 'deploy-tasks-health.png'), fullPage: true });
  });

  it('edits the image and command in the console and follows the rolling deployment to the end', async () => {
    await page.getByTestId('edit-button').click();
    await page.waitForURL(/\/services\/edit/);
    // The form starts from the current definition.
    await expect.poll(() => page.getByTestId('form-cmd').inputValue(), eventually).toContain('echo v1');
    await expect.poll(() => page.getByTestId('form-port').inputValue(), eventually).toBe('8080');
    // A new image (scripts/test-image.sh tags the test image as :v2 too) and a new command.
    await page.getByTestId('form-image').fill('atoll-test-busybox:v2');
    await page
      .getByTestId('form-cmd')
      .fill('mkdir -p /www && echo v2 > /www/index.html && httpd -f -p 8080 -h /www');
    // The review shows exactly the image and command lines changed.
    const review = page.getByTestId('edit-diff');
    await expect
      .poll(async () => (await review.getByTestId('diff-added').allTextContents()).join('\n'), eventually)
      .toContain('echo v2');
    await expect.poll(() => review.getByTestId('diff-removed').count(), eventually).toBe(2);
    await page.screenshot({ path: path.join(shots, 'edit-service.png'), fullPage: true });
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/tab=deployments/);

    // Follow the progress bar until the deployment is gone; keep what it showed.
    const progress = page.getByTestId('deployment-progress');
    const seen: Array<{ updated: number; instances: number }> = [];
    let shot = false;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const rows = await page.getByTestId('deployment-row').count();
      const noneLeft = await page.getByTestId('no-deployments').count();
      if (rows === 0 && noneLeft > 0) break;
      if (Date.now() > deadline)
        throw new Error(`the deployment did not finish; progress seen: ${JSON.stringify(seen)}`);
      if ((await progress.count()) > 0) {
        const [updated, instances] = await Promise.all([
          progress.first().getAttribute('data-updated'),
          progress.first().getAttribute('data-instances'),
        ]).catch(() => [null, null]);
        if (updated !== null && instances !== null) {
          seen.push({ updated: Number(updated), instances: Number(instances) });
          if (!shot) {
            await page.screenshot({ path: path.join(shots, 'deployment-progress.png'), fullPage: true });
            shot = true;
          }
        }
      }
      await page.waitForTimeout(250);
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.instances === 2 && s.updated >= 0 && s.updated <= 2)).toBe(true);
    await servesOnly('v2');
    expect((await appDef()).cmd).toContain('echo v2');
    expect(
      ((await appDef()) as unknown as { container: { docker: { image: string } } }).container.docker.image,
    ).toBe('atoll-test-busybox:v2');
  });

  it('compares the two versions in Configuration', async () => {
    await page.getByTestId('tab-configuration').click();
    const rows = page.getByTestId('version-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const versions = await versionsOf();
    const oldest = versions[versions.length - 1]!;
    const newest = versions[0]!;
    await page.getByTestId('version-compare-a').selectOption(oldest);
    await page.getByTestId('version-compare-b').selectOption(newest);
    const diff = page.getByTestId('version-diff');
    await expect
      .poll(async () => (await diff.getByTestId('diff-removed').allTextContents()).join('\n'), eventually)
      .toContain('echo v1');
    await expect
      .poll(async () => (await diff.getByTestId('diff-added').allTextContents()).join('\n'), eventually)
      .toContain('echo v2');
    // Only the image and the command changed between the two versions.
    expect(await diff.getByTestId('diff-removed').count()).toBe(2);
    expect(await diff.getByTestId('diff-added').count()).toBe(2);
    expect((await diff.getByTestId('diff-added').allTextContents()).join('\n')).toContain(
      'atoll-test-busybox:v2',
    );
    await page.screenshot({ path: path.join(shots, 'version-diff.png'), fullPage: true });
  });

  it('rolls back to the first version from the version list', async () => {
    const versions = await versionsOf();
    const first = versions[versions.length - 1]!;
    await page
      .locator(`[data-testid="version-row"][data-version="${first}"]`)
      .getByTestId('version-rollback')
      .click();
    await expect
      .poll(async () => (await page.getByTestId('rollback-message').textContent()) ?? '', eventually)
      .toContain(first);
    await page.getByTestId('rollback-confirm').click();
    await expect.poll(() => page.getByTestId('rollback-dialog').isVisible(), eventually).toBe(false);
    await servesOnly('v1');
    expect((await appDef()).cmd).toContain('echo v1');
    // The rollback is a new version on top.
    await expect.poll(async () => (await versionsOf()).length, eventually).toBe(versions.length + 1);
  });

  it('refuses a scale while a deployment is stuck, then cancels the deployment with a rollback', async () => {
    // New tasks answer 404 on /nope and never become healthy; a full health floor keeps the old
    // tasks, and no failure limit means the new ones are never killed: the deployment waits.
    await api(
      'PUT',
      `/v2/apps${ID}`,
      webApp('v3', {
        healthChecks: [{ ...httpCheck, path: '/nope', maxConsecutiveFailures: 0 }],
        upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
      }),
    );
    await expect.poll(async () => (await deployments()).length, { timeout: 30_000 }).toBe(1);

    // The Deployments page lists it too.
    await page.getByTestId('nav-deployments').click();
    await page.waitForURL(/\/deployments/);
    const row = page.getByTestId('deployment-row');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => (await row.first().textContent()) ?? '', eventually).toContain(ID);
    // Let the new tasks start (and fail their check) so the picture shows both generations.
    await expect
      .poll(async () => (await bodies()).filter((b) => b === 'v3').length, { timeout: 60_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'deployments-page.png'), fullPage: true });

    await page.goto(detail('deployments'));
    const progress = page.getByTestId('deployment-progress');
    await progress.first().waitFor();
    expect(await progress.first().getAttribute('data-updated')).toBe('0');
    expect(await progress.first().getAttribute('data-instances')).toBe('2');

    // A scale now meets the deployment lock: the message and Force show, nothing is forced.
    await page.getByTestId('scale-button').click();
    await page.getByTestId('scale-input').fill('3');
    await page.getByTestId('scale-confirm').click();
    const scaleDialog = page.getByTestId('scale-dialog');
    await expect
      .poll(async () => (await scaleDialog.getByTestId('lock-error').textContent()) ?? '', {
        timeout: 30_000,
      })
      .toMatch(/locked by one or more deployments/i);
    expect(await scaleDialog.getByTestId('force-button').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(shots, 'deployment-locked.png'), fullPage: true });
    await page.keyboard.press('Escape');
    await expect.poll(() => scaleDialog.isVisible(), eventually).toBe(false);

    await page.getByTestId('deployment-rollback').click();
    const message = page.getByTestId('deployment-confirm-message');
    await expect
      .poll(async () => (await message.textContent()) ?? '', eventually)
      .toMatch(/Roll back deployment .* deploy \/e2e\/deploy again/);
    await page.getByTestId('deployment-confirm').click();

    // Back on the previous definition, with no deployment left (the rollback's own one included).
    await expect.poll(() => page.getByTestId('no-deployments').count(), { timeout: 150_000 }).toBe(1);
    await servesOnly('v1');
    const app = await appDef();
    expect(app.cmd).toContain('echo v1');
    expect(app.healthChecks[0]?.path).toBe('/');
    await page.getByTestId('tab-tasks').click();
    const healthy = page.locator(
      '[data-testid="task-row"][data-state="TASK_RUNNING"] [data-testid="task-health"][data-health="healthy"]',
    );
    await expect.poll(() => healthy.count(), { timeout: 60_000 }).toBe(2);
    await page.screenshot({ path: path.join(shots, 'deployment-rolled-back.png'), fullPage: true });
  });

  it('explains in Debug why an app waits, from the launch queue', async () => {
    const huge = '/e2e/huge';
    await api('POST', '/v2/apps', { id: huge, cmd: 'sleep 100', cpus: 4096, mem: 16, instances: 1 });
    await page.goto(`${cluster.url}/services/detail?id=${huge}&tab=debug`);
    const queue = page.getByTestId('debug-queue');
    await expect.poll(() => queue.getAttribute('data-waiting'), { timeout: 30_000 }).toBe('1');
    await expect
      .poll(async () => (await queue.textContent()) ?? '', eventually)
      .toMatch(/1 instance to launch/);
    await expect
      .poll(() => queue.getByTestId('queue-reason').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    expect((await queue.getByTestId('queue-reason').allTextContents()).join('\n')).toMatch(/cpus/);
    expect(await queue.getByTestId('queue-reject').first().getAttribute('data-reason')).toBe(
      'InsufficientCpus',
    );
    await page.screenshot({ path: path.join(shots, 'debug-queue.png'), fullPage: true });
    await api('DELETE', `/v2/apps${huge}?force=true`);
  });
});
