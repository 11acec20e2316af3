import http from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEdgeServer, type EdgeServer } from '../src/routes/edge';
import { ServiceProxy } from '../src/routes/service-proxy';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('service proxy tests');

interface Task {
  id: string;
  state: string;
}

/**
 * A plain-process task (no image: the agent runs it with the exec runtime) serving, on $PORT0:
 * - `/headers`: the request's headers as JSON;
 * - `/stream`: a first chunk at once, the second only after `/release` was called (so a client
 *   that sees the first chunk before calling /release proves nothing buffered the response);
 * - WebSocket: echoes every message.
 */
function echoServerCmd(): string {
  const wsPath = createRequire(import.meta.url).resolve('ws');
  const script = `
const http = require('node:http');
const { WebSocketServer } = require(${JSON.stringify(wsPath)});
let release = null;
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/headers')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  }
  if (req.url.startsWith('/stream')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: first\\n\\n');
    release = () => res.end('data: second\\n\\n');
    return;
  }
  if (req.url.startsWith('/body')) {
    res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/octet-stream' });
    return req.pipe(res);
  }
  if (req.url.startsWith('/release')) {
    if (release) release();
    res.writeHead(release ? 200 : 409);
    release = null;
    return res.end();
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('echo ' + req.url);
});
new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
server.listen(Number(process.env.PORT0));
`;
  return `exec ${process.execPath} -e '${script.replace(/'/g, `'\\''`)}'`;
}

/** A GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe.skipIf(skip)('the /service/<name>/ proxy and the edge port', () => {
  let cluster: TestCluster;
  let edge: EdgeServer;
  let edgeProxy: ServiceProxy;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const bearer = () => ({ authorization: `Bearer ${cluster.token}` });
  const running = (appId: string, n: number) =>
    until(
      `${n} running tasks of ${appId}`,
      async () => (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks,
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === n,
    );
  /** Polls until the service answers 200 (a task is RUNNING a moment before its server listens). */
  const served = (path: string, init: RequestInit = {}) =>
    until(
      `${path} to answer 200`,
      async () => {
        const res = await fetch(`${cluster.url}${path}`, {
          ...init,
          headers: { ...bearer(), ...init.headers },
        });
        return { status: res.status, body: await res.text() };
      },
      (r) => r.status === 200,
    );
  const httpd = (
    id: string,
    cmd: string,
    labels: Record<string, string>,
    extra: Record<string, unknown> = {},
  ) => ({
    id,
    instances: 1,
    cpus: 0.05,
    mem: 16,
    cmd,
    labels,
    networks: [{ mode: 'container/bridge' }],
    container: {
      type: 'DOCKER',
      docker: { image: TEST_IMAGE },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
    },
    ...extra,
  });

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: [{ hostname: 'proxy-node' }] });
    // The edge port as control runs it with ATOLL_EDGE_PORT=0, on the same services.
    edgeProxy = new ServiceProxy(cluster.control.services);
    edge = await startEdgeServer(edgeProxy, { bind: '127.0.0.1', port: 0 });
    await until(
      'a connected node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.some((n) => n.connected),
    );
    await api(
      'POST',
      '/v2/apps',
      httpd(
        '/site/web',
        'mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www',
        { DCOS_SERVICE_NAME: 'web', HAPROXY_0_VHOST: 'web.example.test' },
        { instances: 2 },
      ),
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
    await running('/site/web', 2);
    await running('/echo', 1);
  }, 180_000);

  afterAll(async () => {
    for (const id of ['/site/web', '/echo', '/web2', '/sick', '/idle']) {
      await fetch(`${cluster.url}/v2/apps${id}?force=true`, { method: 'DELETE', headers: bearer() }).catch(
        () => undefined,
      );
    }
    await edge?.close();
    edgeProxy?.close();
    await cluster?.stop();
  }, 120_000);

  it('serves a task page with a bearer token, balanced over both tasks', async () => {
    const first = await served('/service/web/');
    expect(first.body).toMatch(/^hello-\w+/);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${cluster.url}/service/web/`, { headers: bearer() });
      expect(res.status).toBe(200);
      seen.add((await res.text()).trim());
    }
    expect(seen.size).toBe(2);
  });

  it('answers 401 without credentials, for a page and for a WebSocket', async () => {
    const res = await fetch(`${cluster.url}/service/web/`);
    expect(res.status).toBe(401);
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${cluster.url.replace(/^http/, 'ws')}/service/echo/`);
      ws.on('unexpected-response', (_req, r) => {
        resolve(r.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('the WebSocket opened without credentials')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  it('accepts the session cookie of a login, and forwards neither it nor the token', async () => {
    const login = await fetch(`${cluster.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: cluster.adminPassword }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith('atoll_session='));
    expect(cookie).toBeDefined();
    const page = await fetch(`${cluster.url}/service/web/`, { headers: { cookie: cookie! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/^hello-/);

    const echoed = await served('/service/echo/headers?x=1', {
      headers: { cookie: `${cookie!}; theme=dark` },
    });
    const { url, headers } = JSON.parse(echoed.body) as { url: string; headers: Record<string, string> };
    expect(url).toBe('/headers?x=1');
    expect(headers.cookie).toBe('theme=dark');
    expect(headers.authorization).toBeUndefined();
    expect(headers['x-forwarded-prefix']).toBe('/service/echo');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(new URL(cluster.url).host);
    expect(headers['x-forwarded-for']).toBeTruthy();
  });

  it('redirects the bare name to the trailing slash', async () => {
    const res = await fetch(`${cluster.url}/service/web?a=1`, { headers: bearer(), redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('/service/web/?a=1');
  });

  it('keeps the prefix when DCOS_SERVICE_REWRITE_REQUEST_URLS is false', async () => {
    await api(
      'POST',
      '/v2/apps',
      httpd(
        '/web2',
        'mkdir -p /www/service/web2 && echo hello-web2 > /www/service/web2/index.html && exec httpd -f -p 8080 -h /www',
        { DCOS_SERVICE_NAME: 'web2', DCOS_SERVICE_REWRITE_REQUEST_URLS: 'false' },
      ),
    );
    await running('/web2', 1);
    expect((await served('/service/web2/')).body.trim()).toBe('hello-web2');
  });

  it('carries a WebSocket: ping comes back, and the socket stays open', async () => {
    await served('/service/echo/');
    const ws = new WebSocket(`${cluster.url.replace(/^http/, 'ws')}/service/echo/`, { headers: bearer() });
    const received: string[] = [];
    const next = () =>
      new Promise<string>((resolve, reject) => {
        ws.once('message', (data: Buffer) => resolve(data.toString('utf8')));
        ws.once('close', (code) => reject(new Error(`the WebSocket closed (${code})`)));
      });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, r) => reject(new Error(`upgrade answered ${r.statusCode}`)));
    });
    ws.send('ping');
    received.push(await next());
    // A second message later on the same connection: nothing closed it after the first.
    await new Promise((r) => setTimeout(r, 1500));
    ws.send(Buffer.from([1, 2, 3]));
    received.push(await next());
    expect(received).toEqual(['ping', '\u0001\u0002\u0003']);
    ws.close();
  });

  it('streams a request body through to the task', async () => {
    const body = 'x'.repeat(256 * 1024);
    const res = await fetch(`${cluster.url}/service/echo/body`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
  });

  it('streams a response: the first chunk arrives before the second is written', async () => {
    await served('/service/echo/');
    const events: string[] = [];
    const res = await fetch(`${cluster.url}/service/echo/stream`, { headers: bearer() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('first')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    events.push(`received ${text.trim()}`);
    // Only now does the task write its second chunk: a buffering proxy would never get here.
    const release = await fetch(`${cluster.url}/service/echo/release`, { headers: bearer() });
    events.push(`released ${release.status}`);
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
    }
    events.push(`received ${rest.trim()}`);
    expect(events).toEqual(['received data: first', 'released 200', 'received data: second']);
  });

  it('routes by Host on the edge port, without login; an unknown host is 404', async () => {
    const r = await until(
      'the vhost to answer',
      () => getWithHost(`${edge.url}/`, 'web.example.test'),
      (x) => x.status === 200,
    );
    expect(r.body).toMatch(/^hello-/);
    const upper = await getWithHost(`${edge.url}/`, 'WEB.example.test:8080');
    expect(upper.status).toBe(200);
    const unknown = await getWithHost(`${edge.url}/`, 'nobody.example.test');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('nobody.example.test');
  });

  it('answers 503 for a service without a healthy task and 404 for an unknown one', async () => {
    await api('POST', '/v2/apps', {
      ...httpd('/idle', 'exec httpd -f -p 8080', { DCOS_SERVICE_NAME: 'idle' }),
      instances: 0,
    });
    const idle = await fetch(`${cluster.url}/service/idle/`, { headers: bearer() });
    expect(idle.status).toBe(503);
    expect(((await idle.json()) as { message: string }).message).toBe('service idle has no healthy task');

    // Running but never healthy (the check fails; maxConsecutiveFailures 0 never kills it).
    await api(
      'POST',
      '/v2/apps',
      httpd(
        '/sick',
        'mkdir -p /www && echo sick > /www/index.html && exec httpd -f -p 8080 -h /www',
        { DCOS_SERVICE_NAME: 'sick' },
        {
          healthChecks: [
            {
              protocol: 'MESOS_HTTP',
              path: '/nope',
              portIndex: 0,
              intervalSeconds: 1,
              gracePeriodSeconds: 0,
              maxConsecutiveFailures: 0,
            },
          ],
        },
      ),
    );
    await running('/sick', 1);
    const sick = await fetch(`${cluster.url}/service/sick/`, { headers: bearer() });
    expect(sick.status).toBe(503);

    const unknown = await fetch(`${cluster.url}/service/nope/`, { headers: bearer() });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toBe('no service named nope');
  });
});
