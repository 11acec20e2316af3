import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '@atoll/control/testing';
import { apiOf, consoleSession, e2eMissing, IMAGE, shots } from './support';

const missing = await e2eMissing();

describe.skipIf(missing !== null)('networking in the console, end to end', () => {
  let session: Awaited<ReturnType<typeof consoleSession>>;
  let cluster: TestCluster;
  let page: Page;
  const api = apiOf(() => cluster);

  beforeAll(async () => {
    session = await consoleSession();
    ({ cluster, page } = session);
  });
  afterAll(() => session?.close());

  it('shows the VIP and resolves a service name on the Networking page, and opens the service through /service/<name>/', async () => {
    await api('POST', '/v2/apps', {
      id: '/net/web',
      cpus: 0.05,
      mem: 32,
      cmd: 'mkdir -p /www && echo hello-through-control > /www/index.html && exec httpd -f -p 8080 -h /www',
      container: {
        type: 'DOCKER',
        docker: { image: IMAGE },
        portMappings: [{ containerPort: 8080, hostPort: 0, labels: { VIP_0: '/net-web:80' } }],
      },
      networks: [{ mode: 'container/bridge' }],
      labels: { DCOS_SERVICE_NAME: 'web' },
      healthChecks: [
        { protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 10 },
      ],
    });
    await page.getByTestId('nav-networking').click();
    await page.waitForURL(/\/networking/);
    await page.getByTestId('resolve-name').fill('web-net.marathon.mesos');
    await page.getByTestId('resolve-submit').click();
    await expect
      .poll(() => page.getByTestId('resolve-answer').locator('[data-kind]').getAttribute('data-kind'), {
        timeout: 60_000,
      })
      .toBe('a');
    // The records list follows the view through live updates: give it the same time under load.
    await expect
      .poll(async () => (await page.getByTestId('dns-records').textContent()) ?? '', { timeout: 60_000 })
      .toContain('_web-net._tcp.marathon.mesos');
    // The VIP, its mode and its healthy backend.
    await expect
      .poll(async () => (await page.getByTestId('vip-table').textContent()) ?? '', { timeout: 60_000 })
      .toMatch(/net-web[\s\S]*11\.\d+\.\d+\.\d+:80/);
    expect(await page.getByTestId('vip-mode').textContent()).toContain('userspace');
    await page.screenshot({ path: path.join(shots, 'networking.png'), fullPage: true });

    await page.getByTestId('resolve-name').fill('nothing-here.marathon.mesos');
    await page.getByTestId('resolve-submit').click();
    await expect
      .poll(() => page.getByTestId('resolve-answer').locator('[data-kind]').getAttribute('data-kind'))
      .toBe('nxdomain');

    await page.goto(`${cluster.url}/services/detail?id=/net/web`);
    const link = page.getByTestId('open-service');
    await expect.poll(() => link.getAttribute('href')).toBe('/service/web/');
    // The browser's session reaches the task through control.
    const body = await page.evaluate(async () => (await fetch('/service/web/')).text());
    expect(body).toContain('hello-through-control');
    await api('DELETE', '/v2/apps/net/web?force=true');
  });
});
