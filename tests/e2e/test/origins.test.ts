import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestCluster } from '@atoll/control/testing';
import { apiOf, consoleSession, e2eMissing, IMAGE, shots } from './support';

const missing = await e2eMissing();

/** What a hostile page's script found out, as it reports it in `window.results`. */
interface Results {
  done?: boolean;
  [attempt: string]: unknown;
}

/**
 * A page on another port of the same host (the same site for SameSite=Lax: a task's host port,
 * say) that tries to act as the operator logged into the console: mint an API token with a
 * form-type body, deploy an app through a form, open an exec WebSocket.
 */
function hostilePage(control: string, taskId: string): string {
  const ws = control.replace(/^http/, 'ws');
  return `<!doctype html><html><body><h1>hostile page on another port</h1>
<iframe name="sink" style="width:600px;height:80px"></iframe>
<form id="deploy" target="sink" method="POST" action="${control}/v2/apps" enctype="text/plain">
  <input name='{"id":"/csrf-form","cmd":"sleep 100","cpus":0.01,"mem":8,"x":"' value='"}'>
</form>
<pre id="out"></pre>
<script>
window.results = {};
const report = (k, v) => { window.results[k] = v; document.getElementById('out').textContent = JSON.stringify(window.results, null, 1); };
(async () => {
  try {
    const r = await fetch(${JSON.stringify(control)} + '/api/v1/auth/tokens', {
      method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'stolen-text' }),
    });
    report('tokenTextPlain', 'sent (opaque ' + r.type + ')');
  } catch (e) { report('tokenTextPlain', 'failed: ' + e); }
  try {
    const r = await fetch(${JSON.stringify(control)} + '/api/v1/auth/tokens', {
      method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=stolen-form',
    });
    report('tokenForm', 'sent (opaque ' + r.type + ')');
  } catch (e) { report('tokenForm', 'failed: ' + e); }
  try {
    const r = await fetch(${JSON.stringify(control)} + '/api/v1/auth/tokens', {
      method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stolen-json' }),
    });
    report('tokenJson', 'status ' + r.status + ' ' + (await r.text()));
  } catch (e) { report('tokenJson', 'failed: ' + e); }
  document.getElementById('deploy').submit();
  await new Promise((resolve) => {
    const sock = new WebSocket(${JSON.stringify(ws)} + '/api/v1/tasks/' + encodeURIComponent(${JSON.stringify(taskId)}) + '/exec?command=id');
    sock.onopen = () => { report('exec', 'opened'); sock.close(); resolve(); };
    sock.onerror = () => { report('exec', 'refused'); resolve(); };
  });
  setTimeout(() => report('done', true), 1500);
})();
</script></body></html>`;
}

/**
 * The page a hostile app serves under /service/<name>/: it tries to read the session cookie and
 * storage, to read the API as the operator and to mint a token.
 */
const HOSTILE_APP_PAGE = `<!doctype html><html><body><h1>hostile app behind /service/</h1><pre id="out"></pre>
<script>
window.results = {};
const report = (k, v) => { window.results[k] = v; document.getElementById('out').textContent = JSON.stringify(window.results, null, 1); };
(async () => {
  try { report('cookie', 'read: [' + document.cookie + ']'); } catch (e) { report('cookie', 'blocked: ' + e.name); }
  try { localStorage.setItem('x', '1'); report('storage', 'usable'); } catch (e) { report('storage', 'blocked: ' + e.name); }
  report('origin', String(self.origin));
  try {
    const r = await fetch('/api/v1/auth/me', { credentials: 'include' });
    report('me', 'status ' + r.status + ' ' + (await r.text()));
  } catch (e) { report('me', 'failed: ' + e); }
  try {
    const r = await fetch('/api/v1/auth/tokens', {
      method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'stolen-by-app' }),
    });
    report('token', 'sent (opaque ' + r.type + ')');
  } catch (e) { report('token', 'failed: ' + e); }
  try {
    const r = await fetch('/api/trpc/auth.createApiToken', {
      method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stolen-by-app-trpc' }),
    });
    report('tokenJson', 'status ' + r.status);
  } catch (e) { report('tokenJson', 'failed: ' + e); }
  report('done', true);
})();
</script></body></html>`;

describe.skipIf(missing !== null)('origins in Chromium: hostile pages get nothing from the session', () => {
  let cluster: TestCluster;
  let page: Page;
  let close: () => Promise<void>;
  let hostile: http.Server;
  let hostileUrl: string;
  let appTaskId = '';
  const api = apiOf(() => cluster);
  const tokenNames = async () =>
    (await cluster.control.db.prisma.apiToken.findMany({ select: { name: true } })).map((t) => t.name);

  const resultsOf = async (p: Page): Promise<Results> => {
    await expect
      .poll(() => p.evaluate(() => (window as unknown as { results?: Results }).results?.done), {
        timeout: 30_000,
      })
      .toBe(true);
    return p.evaluate(() => (window as unknown as { results: Results }).results);
  };

  beforeAll(async () => {
    ({ cluster, page, close } = await consoleSession());
    await api('POST', '/v2/apps', {
      id: '/hostile',
      instances: 1,
      cpus: 0.01,
      mem: 16,
      cmd: 'mkdir -p /www && printf "%s" "$PAGE" > /www/index.html && exec httpd -f -p 8080 -h /www',
      env: { PAGE: HOSTILE_APP_PAGE },
      labels: { DCOS_SERVICE_NAME: 'hostile' },
      networks: [{ mode: 'container/bridge' }],
      container: {
        type: 'DOCKER',
        docker: { image: IMAGE },
        portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
      },
    });
    // (expect.poll is for tests, not hooks)
    for (let i = 0; i < 240 && !appTaskId; i++) {
      const { tasks } = await api<{ tasks: Array<{ id: string; state: string }> }>(
        'GET',
        '/v2/apps/hostile/tasks',
      );
      appTaskId = tasks.find((t) => t.state === 'TASK_RUNNING')?.id ?? '';
      if (!appTaskId) await new Promise((r) => setTimeout(r, 250));
    }
    expect(appTaskId, 'the hostile app running').not.toBe('');
    // RUNNING is not serving (the app has no health check): wait until its page answers through
    // the proxy (a refused connection right after the start was seen here once in four runs).
    let served = 0;
    for (let i = 0; i < 240 && served !== 200; i++) {
      served = (
        await fetch(`${cluster.url}/service/hostile/`, {
          headers: { authorization: `Bearer ${cluster.token}` },
        })
      ).status;
      if (served !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(served, 'the hostile app served through /service/hostile/').toBe(200);
    hostile = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(hostilePage(cluster.url, appTaskId));
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  }, 180_000);

  afterAll(async () => {
    hostile?.closeAllConnections();
    await new Promise((r) => hostile?.close(r));
    await close?.();
  }, 120_000);

  it("the console's own writes and exec still work (same origin, JSON)", async () => {
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/trpc/auth.createApiToken', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'console-own' }),
      });
      return r.status;
    });
    expect(status).toBe(200);
    const exec = await page.evaluate(
      (taskId) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(
            `${location.origin.replace(/^http/, 'ws')}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?command=true`,
          );
          ws.onopen = () => {
            resolve('opened');
            ws.close();
          };
          ws.onerror = () => resolve('refused');
        }),
      appTaskId,
    );
    expect(exec).toBe('opened');
    expect(await tokenNames()).toContain('console-own');
  });

  it('a page on another port of the same host cannot mint a token, deploy or exec', async () => {
    // The same page (browser.newPage() gives it its own context): the console's cookie is there.
    const other = page;
    await other.goto(hostileUrl);
    const results = await resultsOf(other);
    await other.screenshot({ path: path.join(shots, 'origins-hostile-port.png'), fullPage: true });
    expect(results.exec).toBe('refused');
    expect(String(results.tokenJson)).toMatch(/failed/); // the preflight gets no CORS answer
    const names = await tokenNames();
    expect(names.filter((n) => n.startsWith('stolen'))).toEqual([]);
    expect(await cluster.control.db.prisma.app.findUnique({ where: { id: '/csrf-form' } })).toBeNull();
  });

  it('a hostile app behind /service/<name>/ cannot read the cookie or create a token', async () => {
    const app = page;
    const res = await app.goto(`${cluster.url}/service/hostile/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain('sandbox');
    const results = await resultsOf(app);
    await app.screenshot({ path: path.join(shots, 'origins-hostile-service.png'), fullPage: true });
    expect(results.origin).toBe('null');
    expect(String(results.cookie)).not.toContain('atoll_session');
    expect(String(results.storage)).toMatch(/blocked/);
    expect(String(results.me)).toMatch(/failed/);
    expect(String(results.tokenJson)).toMatch(/failed/);
    expect((await tokenNames()).filter((n) => n.startsWith('stolen'))).toEqual([]);
  });
});
