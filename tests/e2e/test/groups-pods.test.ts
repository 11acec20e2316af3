import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { e2eMissing, fillEditor, IMAGE, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('groups and pods in the console, end to end', () => {
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

  const groupRow = () => page.locator('[data-testid="group-row"][data-id="/e2e-group"]');
  const appRow = (id: string) => page.locator(`[data-testid="service-row"][data-id="${id}"]`);

  it('logs in', async () => {
    await login(page, cluster);
  });

  it('creates a group of two apps from the dialog and sees them running', async () => {
    await page.getByTestId('nav-services').click();
    await page.waitForURL(/\/services/);
    await page.getByTestId('create-group').click();
    // The editor starts from an example group.
    await expect
      .poll(async () => (await page.getByTestId('group-json').textContent()) ?? '', { timeout: 30_000 })
      .toContain('"apps"');
    // An invalid definition is refused with its field errors in the dialog.
    await fillEditor(page, 'group-json', {
      id: '/e2e-group',
      apps: [{ id: 'a', cmd: 'sleep 600', cpus: -1, mem: 8 }],
    });
    await page.getByTestId('group-submit').click();
    await expect
      .poll(() => page.getByTestId('group-dialog').getByTestId('field-error').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);

    const app = (id: string) => ({ id, cmd: 'sleep 600', cpus: 0.01, mem: 8, instances: 1 });
    await fillEditor(page, 'group-json', {
      id: '/e2e-group',
      apps: [app('a'), app('b')],
      groups: [],
      dependencies: [],
    });
    await page.getByTestId('group-submit').click();
    await groupRow().waitFor({ timeout: 30_000 });
    for (const id of ['/e2e-group/a', '/e2e-group/b']) {
      await expect
        .poll(async () => (await appRow(id).getByTestId('service-instances').textContent()) ?? '', {
          timeout: 60_000,
        })
        .toBe('1/1');
      await expect
        .poll(async () => (await appRow(id).getByTestId('service-status').textContent()) ?? '', {
          timeout: 60_000,
        })
        .toContain('Running');
    }
    await page.screenshot({ path: path.join(shots, 'group-tree.png'), fullPage: true });
  });

  it('scales the group by 2', async () => {
    await groupRow().getByTestId('group-scale').click();
    await page.getByTestId('group-scale-input').fill('2');
    await page.getByTestId('group-confirm').click();
    const dialog = page.getByTestId('group-scale-dialog');
    await expect
      .poll(async () => (await page.getByTestId('lock-error').count()) > 0 || !(await dialog.isVisible()), {
        timeout: 30_000,
      })
      .toBe(true);
    if ((await page.getByTestId('lock-error').count()) > 0) await page.getByTestId('force-button').click();
    for (const id of ['/e2e-group/a', '/e2e-group/b']) {
      await expect
        .poll(async () => (await appRow(id).getByTestId('service-instances').textContent()) ?? '', {
          timeout: 60_000,
        })
        .toBe('2/2');
    }
    await expect
      .poll(async () => (await groupRow().textContent()) ?? '', { timeout: 30_000 })
      .toContain('4/4');
    await page.screenshot({ path: path.join(shots, 'group-scaled.png'), fullPage: true });
  });

  it('deletes the group with its apps', async () => {
    await groupRow().getByTestId('group-delete').click();
    await expect
      .poll(async () => (await page.getByTestId('group-delete-dialog').textContent()) ?? '')
      .toContain('2 apps');
    await page.getByTestId('group-confirm').click();
    await expect.poll(() => groupRow().count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => appRow('/e2e-group/a').count(), { timeout: 30_000 }).toBe(0);
    const docker = new Docker();
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ filters: { label: ['io.atoll.app-id=/e2e-group/a'] } })).length,
        { timeout: 60_000 },
      )
      .toBe(0);
  });

  it('runs a pod of two containers sharing a volume and answering on its endpoint', async () => {
    await page.getByTestId('run-service').click();
    await page.waitForURL(/\/services\/new/);
    await page.getByTestId('mode-pod').click();
    await expect
      .poll(async () => (await page.getByTestId('json-editor').textContent()) ?? '', { timeout: 30_000 })
      .toContain('containers');
    const mount = [{ name: 'shared', mountPath: 'data' }];
    await fillEditor(page, 'json-editor', {
      id: '/e2e-pod',
      containers: [
        {
          name: 'ct1',
          resources: { cpus: 0.05, mem: 16 },
          image: { kind: 'DOCKER', id: IMAGE },
          exec: { command: { shell: 'while true; do echo hi > data/index.html; sleep 1; done' } },
          volumeMounts: mount,
        },
        {
          name: 'ct2',
          resources: { cpus: 0.05, mem: 16 },
          image: { kind: 'DOCKER', id: IMAGE },
          exec: { command: { shell: 'exec httpd -f -p 8080 -h data' } },
          endpoints: [{ name: 'http', containerPort: 8080, hostPort: 0 }],
          volumeMounts: mount,
        },
      ],
      volumes: [{ name: 'shared' }],
      networks: [{ mode: 'container/bridge' }],
      scaling: { instances: 1 },
    });
    await page.getByTestId('deploy-button').click();
    await page.waitForURL(/\/services\/detail/);
    const running = page.locator('[data-testid="task-row"][data-state="TASK_RUNNING"]');
    await expect.poll(() => running.count(), { timeout: 60_000 }).toBe(1);
    const ports = (await running.first().getByTestId('task-host-ports').textContent()) ?? '';
    const hostPort = /(\d{4,5})/.exec(ports)?.[1];
    expect(hostPort).toBeDefined();
    await expect
      .poll(
        async () => {
          const res = await fetch(`http://127.0.0.1:${hostPort}/`, {
            signal: AbortSignal.timeout(2000),
          }).catch(() => null);
          return res?.ok ? (await res.text()).trim() : '';
        },
        { timeout: 30_000 },
      )
      .toBe('hi');

    await page.getByTestId('tab-configuration').click();
    const containers = page.getByTestId('pod-containers');
    await containers.waitFor();
    await expect.poll(() => containers.getByTestId('pod-container').count()).toBe(2);
    const text = (await containers.textContent()) ?? '';
    expect(text).toContain('ct1');
    expect(text).toContain('httpd -f -p 8080');
    expect(text).toContain(IMAGE);
    await page.screenshot({ path: path.join(shots, 'pod-detail.png'), fullPage: true });

    await page.getByTestId('nav-services').click();
    const row = page.locator('[data-testid="service-row"][data-id="/e2e-pod"]');
    await row.waitFor();
    expect(await row.getByTestId('pod-badge').count()).toBe(1);
  });

  it('destroys the pod and leaves no container', async () => {
    await page.goto(`${cluster.url}/services/detail?id=${encodeURIComponent('/e2e-pod')}`);
    await page.getByTestId('destroy-button').click();
    await page.getByTestId('destroy-confirm').click();
    await page.waitForURL(/\/services(\?|$)/);
    const docker = new Docker();
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ filters: { label: ['io.atoll.app-id=/e2e-pod'] } })).length,
        { timeout: 60_000 },
      )
      .toBe(0);
    await expect
      .poll(() => page.locator('[data-testid="service-row"][data-id="/e2e-pod"]').count(), {
        timeout: 30_000,
      })
      .toBe(0);
  });
});
