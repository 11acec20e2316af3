import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import { apiOf, e2eMissing, launchBrowser, login, shots } from './support';

const missing = await e2eMissing();

/** The console disables what the role or scope does not allow (docs/access.md). */
describe.skipIf(missing !== null)('roles in the console, end to end', () => {
  let cluster: TestCluster;
  let browser: Browser;
  const api = apiOf(() => cluster);

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    cluster = await startTestCluster({ console: true, agent: false });
    browser = await launchBrowser();
    for (const id of ['/team-a/web', '/team-b/web'])
      await api('POST', '/v2/apps', { id, cmd: 'sleep 1000', cpus: 0.01, mem: 16, instances: 0 });
    await api('POST', '/api/v1/users', { username: 'vic', password: 'vic-reads-everything', role: 'viewer' });
    await api('POST', '/api/v1/users', {
      username: 'ola',
      password: 'ola-runs-team-a',
      role: 'operator',
      scope: '/team-a',
    });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  async function pageAs(username: string | null, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const p = await context.newPage();
    p.setDefaultTimeout(60_000);
    if (username === null) {
      await login(p, cluster);
      return p;
    }
    await p.goto(`${cluster.url}/`);
    await p.waitForURL(/\/login/);
    await p.getByTestId('login-username').fill(username);
    await p.getByTestId('login-password').fill(password);
    await p.getByTestId('login-submit').click();
    await p.waitForURL((u) => !u.pathname.startsWith('/login'));
    return p;
  }

  const detail = (p: Page, id: string) => p.goto(`${cluster.url}/services/detail?id=${id}`);

  it("a viewer sees the services with every action disabled; the API refuses the viewer's write", async () => {
    const p = await pageAs('vic', 'vic-reads-everything');
    await p.goto(`${cluster.url}/services`);
    await expect.poll(() => p.getByTestId('run-service').isDisabled()).toBe(true);
    expect(await p.getByTestId('create-group').isDisabled()).toBe(true);
    await detail(p, '/team-b/web');
    await expect.poll(() => p.getByTestId('scale-button').isDisabled()).toBe(true);
    for (const id of ['edit-button', 'destroy-button'])
      expect(await p.getByTestId(id).isDisabled(), id).toBe(true);
    await p.screenshot({ path: path.join(shots, 'access-viewer-service.png') });
    // The same session's write, as the console would send it: 403 from the API.
    const status = await p.evaluate(async () => {
      const res = await fetch('/api/trpc/apps.scale', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: '/team-b/web', instances: 1 }),
      });
      return res.status;
    });
    expect(status).toBe(403);
  });

  it('an operator scoped to /team-a acts on /team-a only, and sees no /team-b service', async () => {
    const p = await pageAs('ola', 'ola-runs-team-a');
    await p.goto(`${cluster.url}/services`);
    await expect.poll(() => p.getByTestId('run-service').isDisabled()).toBe(false);
    await detail(p, '/team-a/web');
    await expect.poll(() => p.getByTestId('scale-button').isDisabled()).toBe(false);
    await p.screenshot({ path: path.join(shots, 'access-scoped-operator.png') });
    const list = await p.evaluate(async () => (await fetch('/api/v1/apps')).json());
    expect((list as Array<{ id: string }>).map((a) => a.id)).toEqual(['/team-a/web']);
  });

  it('an admin has every action', async () => {
    const p = await pageAs(null, '');
    await detail(p, '/team-b/web');
    await expect.poll(() => p.getByTestId('scale-button').isDisabled()).toBe(false);
    expect(await p.getByTestId('destroy-button').isDisabled()).toBe(false);
  });
});
