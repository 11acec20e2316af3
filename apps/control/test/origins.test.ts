import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, until } from './support';

const skip = await skipWithoutDocker('origin tests');

/**
 * A plain-process task on $PORT0 (exec runtime): `/headers` answers the request's headers as
 * JSON; `/csp` sends its own Content-Security-Policy and tries to set the console's cookie; a
 * WebSocket echoes.
 */
function echoServerCmd(): string {
  const wsPath = createRequire(import.meta.url).resolve('ws');
  const script = `
const http = require('node:http');
const { WebSocketServer } = require(${JSON.stringify(wsPath)});
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/csp')) {
    res.writeHead(200, {
      'content-type': 'text/html',
      'content-security-policy': "default-src 'self'",
      'set-cookie': ['atoll_session=ses_from_the_service; Path=/', 'theme=dark; Path=/'],
    });
    return res.end('<p>page</p>');
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ url: req.url, headers: req.headers }));
});
new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
server.listen(Number(process.env.PORT0));
`;
  return `exec ${process.execPath} -e '${script.replace(/'/g, `'\\''`)}'`;
}

const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

/** Opens a WebSocket and says how the handshake ended: the HTTP status, or 101 when it opened. */
function handshake(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => resolve(-1));
  });
}

describe.skipIf(skip)('origins: the service sandbox, CSRF and WebSocket origins', () => {
  let cluster: TestCluster;
  let cookie: string;
  let origin: string;
  let taskId: string;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const bearer = () => ({ authorization: `Bearer ${cluster.token}` });
  const tokenCount = () => cluster.control.db.prisma.apiToken.count();

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: [{ hostname: 'origins-node' }] });
    origin = new URL(cluster.url).origin;
    await until(
      'a connected node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.some((n) => n.connected),
    );
    await api('POST', '/v2/apps', {
      id: '/echo',
      instances: 1,
      cpus: 0.05,
      mem: 64,
      cmd: echoServerCmd(),
      portDefinitions: [{ port: 0, name: 'http' }],
      labels: { DCOS_SERVICE_NAME: 'echo' },
    });
    const tasks = await until(
      'the echo task running',
      async () =>
        (await api<{ tasks: Array<{ id: string; state: string }> }>('GET', '/v2/apps/echo/tasks')).tasks,
      (ts) => ts.some((t) => t.state === 'TASK_RUNNING'),
    );
    taskId = tasks[0]!.id;
    await until(
      'the echo service to answer',
      async () => (await fetch(`${cluster.url}/service/echo/headers`, { headers: bearer() })).status,
      (s) => s === 200,
    );
    const login = await fetch(`${cluster.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: cluster.adminPassword }),
    });
    expect(login.status).toBe(200);
    cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith('atoll_session='))!;
    expect(cookie).toBeDefined();
  }, 180_000);

  afterAll(async () => {
    await fetch(`${cluster.url}/v2/apps/echo?force=true`, { method: 'DELETE', headers: bearer() }).catch(
      () => undefined,
    );
    await cluster?.stop();
  }, 120_000);

  describe('/service/<name>/', () => {
    it('sends every proxied page with a CSP sandbox without allow-same-origin', async () => {
      const res = await fetch(`${cluster.url}/service/echo/headers`, { headers: { cookie } });
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain(SANDBOX);
      expect(csp).not.toContain('allow-same-origin');
    });

    it("keeps the service's own CSP and adds the sandbox; drops its atoll_session cookie", async () => {
      const res = await fetch(`${cluster.url}/service/echo/csp`, { headers: { cookie } });
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain(SANDBOX);
      const setCookies = res.headers.getSetCookie();
      expect(setCookies.some((c) => c.startsWith('theme=dark'))).toBe(true);
      expect(setCookies.some((c) => c.startsWith('atoll_session='))).toBe(false);
    });

    it('forwards neither the session cookie nor the Authorization that logged in', async () => {
      const viaCookie = (await (
        await fetch(`${cluster.url}/service/echo/headers`, { headers: { cookie: `${cookie}; theme=dark` } })
      ).json()) as { headers: Record<string, string> };
      expect(viaCookie.headers.cookie).toBe('theme=dark');
      expect(JSON.stringify(viaCookie.headers)).not.toContain(cookie.split('=')[1]!);
      const viaBearer = (await (
        await fetch(`${cluster.url}/service/echo/headers`, { headers: bearer() })
      ).json()) as { headers: Record<string, string> };
      expect(viaBearer.headers.authorization).toBeUndefined();
      const basic = Buffer.from(`admin:${cluster.adminPassword}`).toString('base64');
      const viaBasic = (await (
        await fetch(`${cluster.url}/service/echo/headers`, { headers: { authorization: `Basic ${basic}` } })
      ).json()) as { headers: Record<string, string> };
      expect(viaBasic.headers.authorization).toBeUndefined();
    });
  });

  describe('CSRF: cookie-authenticated writes', () => {
    const createToken = (headers: Record<string, string>, body: string) =>
      fetch(`${cluster.url}/api/v1/auth/tokens`, { method: 'POST', headers, body });
    const tokenBody = JSON.stringify({ name: 'csrf' });

    it('refuses a form-encoded or text/plain body with the cookie, even from its own origin', async () => {
      const before = await tokenCount();
      for (const type of [
        'application/x-www-form-urlencoded',
        'text/plain',
        'multipart/form-data; boundary=x',
      ]) {
        const res = await createToken({ cookie, origin, 'content-type': type }, tokenBody);
        expect(res.status, type).toBe(403);
        expect(await res.json()).toEqual({ message: 'cross-origin request refused' });
      }
      expect(await tokenCount()).toBe(before);
    });

    it('refuses JSON with the cookie from another origin, a null origin or no origin at all', async () => {
      const before = await tokenCount();
      const other = 'http://127.0.0.1:1';
      for (const headers of [
        { origin: other },
        { origin: 'null' },
        { referer: `${other}/page` },
        {},
      ] as Array<Record<string, string>>) {
        const res = await createToken({ cookie, 'content-type': 'application/json', ...headers }, tokenBody);
        expect(res.status, JSON.stringify(headers)).toBe(403);
        expect(await res.json()).toEqual({ message: 'cross-origin request refused' });
      }
      expect(await tokenCount()).toBe(before);
    });

    it('refuses a Marathon write (/v2/apps) sent as a form with the cookie; nothing is stored', async () => {
      const res = await fetch(`${cluster.url}/v2/apps`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'text/plain', origin: 'http://127.0.0.1:1' },
        body: JSON.stringify({ id: '/csrf', cmd: 'sleep 100', cpus: 0.01, mem: 8 }),
      });
      expect(res.status).toBe(403);
      expect(await cluster.control.db.prisma.app.findUnique({ where: { id: '/csrf' } })).toBeNull();
    });

    it('accepts JSON with the cookie from its own origin (Origin or Referer), REST and tRPC', async () => {
      const rest = await createToken({ cookie, 'content-type': 'application/json', origin }, tokenBody);
      expect(rest.status).toBe(200);
      const byReferer = await createToken(
        { cookie, 'content-type': 'application/json; charset=utf-8', referer: `${origin}/organization` },
        tokenBody,
      );
      expect(byReferer.status).toBe(200);
      const trpc = await fetch(`${cluster.url}/api/trpc/auth.createApiToken`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', origin },
        body: JSON.stringify({ name: 'trpc' }),
      });
      expect(trpc.status).toBe(200);
      // Reads are not writes: no Origin needed.
      expect((await fetch(`${cluster.url}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(200);
    });

    it('leaves token and Basic authenticated writes alone', async () => {
      const res = await createToken({ ...bearer(), 'content-type': 'application/json' }, tokenBody);
      expect(res.status).toBe(200);
      const basic = Buffer.from(`admin:${cluster.adminPassword}`).toString('base64');
      const viaBasic = await createToken(
        { authorization: `Basic ${basic}`, 'content-type': 'application/json', origin: 'http://elsewhere' },
        tokenBody,
      );
      expect(viaBasic.status).toBe(200);
    });

    it('refuses a login that is not JSON (login CSRF), on every login route', async () => {
      const body = JSON.stringify({ username: 'admin', password: cluster.adminPassword });
      for (const path of ['/api/v1/auth/login', '/api/trpc/auth.login', '/acs/api/v1/auth/login']) {
        const res = await fetch(`${cluster.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body,
        });
        expect(res.status, path).toBe(403);
        expect(res.headers.getSetCookie().some((c) => c.startsWith('atoll_session='))).toBe(false);
      }
    });
  });

  describe('WebSocket origins', () => {
    const ws = () => cluster.url.replace(/^http/, 'ws');

    it('refuses a cookie-authenticated exec from another origin or without one', async () => {
      const url = `${ws()}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?command=true`;
      expect(await handshake(url, { cookie, origin: 'http://127.0.0.1:1' })).toBe(403);
      expect(await handshake(url, { cookie })).toBe(403);
      expect(await handshake(url, { cookie, origin })).toBe(101);
      expect(await handshake(url, bearer())).toBe(101);
    });

    it('refuses a cookie-authenticated WebSocket to a service from another origin', async () => {
      const url = `${ws()}/service/echo/`;
      expect(await handshake(url, { cookie, origin: 'http://127.0.0.1:1' })).toBe(403);
      expect(await handshake(url, { cookie, origin })).toBe(101);
    });
  });
});
