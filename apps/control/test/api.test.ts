import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';

const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/marathon',
);
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(fixturesDir, name), 'utf8'));

// Control with a real PostgreSQL database and no agent: the API's shapes, auth and errors.
describe('control API without agents', () => {
  let cluster: TestCluster;
  const call = (p: string, init: RequestInit & { json?: unknown; auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth !== null) headers.set('authorization', init.auth ?? `Bearer ${cluster.token}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    return fetch(cluster.url + p, {
      ...init,
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it.each([
    ['GET', '/v2/apps'],
    ['GET', '/v2/info'],
    ['GET', '/api/v1/nodes'],
    ['GET', '/api/v1/openapi.json'],
    ['GET', '/api/trpc/nodes.list'],
    ['POST', '/v2/apps'],
  ])('%s %s answers 401 without credentials', async (method, p) => {
    const res = await call(p, { method, auth: null });
    expect(res.status).toBe(401);
    // Marathon's API challenges for Basic (the DC/OS CLI 0.x answers it); the rest does not, or a
    // browser would prompt on the console's own 401s.
    expect(res.headers.get('www-authenticate')).toBe(p.startsWith('/v2/') ? 'Basic realm="Atoll"' : null);
  });

  it('/health answers without credentials', async () => {
    const res = await call('/health', { auth: null });
    expect(res.status).toBe(200);
  });

  it('DC/OS login gives a token that works as token= and as Bearer', async () => {
    const bad = await call('/acs/api/v1/auth/login', {
      method: 'POST',
      auth: null,
      json: { uid: 'admin', password: 'wrong' },
    });
    expect(bad.status).toBe(401);
    const res = await call('/acs/api/v1/auth/login', {
      method: 'POST',
      auth: null,
      json: { uid: 'admin', password: cluster.adminPassword },
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect((await call('/v2/apps', { auth: `token=${token}` })).status).toBe(200);
    expect((await call('/v2/apps', { auth: `Bearer ${token}` })).status).toBe(200);
  });

  it("HTTP Basic (Marathon clients' username and password) accepts the password or an API token", async () => {
    const basic = (user: string, secret: string) =>
      `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
    expect((await call('/v2/apps', { auth: basic('admin', cluster.adminPassword) })).status).toBe(200);
    expect((await call('/v2/apps', { auth: basic('admin', cluster.token) })).status).toBe(200);
    for (const auth of [
      basic('admin', 'wrong'),
      basic('nobody', cluster.adminPassword),
      basic('nobody', cluster.token),
    ])
      expect((await call('/v2/apps', { auth })).status, auth).toBe(401);
  });

  it('DC/OS login with a missing field says which', async () => {
    const res = await call('/acs/api/v1/auth/login', { method: 'POST', auth: null, json: { uid: 'admin' } });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toContain('password');
  });

  it('GET /v2/info answers in Marathon shape', async () => {
    const info = (await (await call('/v2/info')).json()) as Record<string, unknown>;
    // version: the Marathon API Atoll follows (clients gate features on it); leader: the replica
    // holding the leader lock, here this one.
    const host = new URL(cluster.url).host;
    expect(info).toMatchObject({ name: 'atoll', version: '1.11.0', elected: true, leader: host });
    expect(await (await call('/v2/leader')).json()).toEqual({ leader: host });
  });

  it('POST /v2/apps stores the app and answers in Marathon shape', async () => {
    const res = await call('/v2/apps', { method: 'POST', json: fixture('01-simple-cmd-app.json') });
    expect(res.status).toBe(201);
    const app = (await res.json()) as Record<string, unknown>;
    expect(app).toMatchObject({
      id: '/simple',
      instances: 2,
      tasksRunning: 0,
      tasksStaged: 0,
      cmd: 'sleep 1000',
    });
    expect(typeof app.version).toBe('string');
    expect(app.deployments).toHaveLength(1);
    const list = (await (await call('/v2/apps')).json()) as { apps: Array<{ id: string }> };
    expect(list.apps.map((a) => a.id)).toContain('/simple');
    const dup = await call('/v2/apps', { method: 'POST', json: fixture('01-simple-cmd-app.json') });
    expect(dup.status).toBe(409);
  });

  it('PUT /v2/apps/{id} answers 409 while a deployment runs, unless forced', async () => {
    const locked = await call('/v2/apps/simple', { method: 'PUT', json: { instances: 0 } });
    expect(locked.status).toBe(409);
    const body = (await locked.json()) as { message: string; deployments: Array<{ id: string }> };
    expect(body.message).toMatch(/^App is locked by one or more deployments/);
    expect(body.deployments).toHaveLength(1);
  });

  it('PUT /v2/apps/{id}?force=true scales and records a version', async () => {
    const res = await call('/v2/apps/simple?force=true', { method: 'PUT', json: { instances: 0 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: string; deploymentId: string };
    expect(body.deploymentId).toMatch(/[0-9a-f-]{36}/);
    const { app } = (await (await call('/v2/apps/simple')).json()) as {
      app: { instances: number; version: string };
    };
    expect(app.instances).toBe(0);
    expect(app.version).toBe(body.version);
    const { versions } = (await (await call('/v2/apps/simple/versions')).json()) as { versions: string[] };
    expect(versions).toHaveLength(2);
  });

  it('an empty body sent as application/json is no body (marathon-python POSTs restarts so)', async () => {
    const restart = await call('/v2/apps/simple/restart?force=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(restart.status).toBe(200);
    expect(await restart.json()).toHaveProperty('deploymentId');
    // A route that needs a body still says so.
    const create = await call('/v2/apps', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(create.status).toBe(400);
    expect(((await create.json()) as { message: string }).message).toMatch(/JSON object/);
  });

  it('PUT /v2/apps changes several apps; a bad one is named by its place in the list', async () => {
    const res = await call('/v2/apps?force=true', { method: 'PUT', json: [{ id: '/simple', instances: 1 }] });
    expect(res.status).toBe(200);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(['deploymentId', 'version']);
    const bad = await call('/v2/apps?force=true', { method: 'PUT', json: [{ id: '/simple', cpus: -1 }] });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { details: Array<{ path: string }> }).details.map((d) => d.path)).toEqual([
      '/0/cpus',
    ]);
    const notAList = await call('/v2/apps', { method: 'PUT', json: { id: '/simple' } });
    expect(notAList.status).toBe(422);
  });

  it.each([
    ['fixture 07 (cmd and args)', fixture('07-raml-kitchen-sink-parse-only.json'), '/args'],
    ['fixture 08 (uppercase id, $OPERATOR)', fixture('08-dcos-marathon-parameters-kitchen-sink.json'), '/id'],
    ['negative instances', { id: '/neg', cmd: 'sleep 1', instances: -2 }, '/instances'],
  ])('POST /v2/apps rejects %s with 422 naming the field', async (_name, body, field) => {
    const res = await call('/v2/apps', { method: 'POST', json: body });
    expect(res.status).toBe(422);
    const err = (await res.json()) as { message: string; details: Array<{ path: string; errors: string[] }> };
    expect(err.message).toBe('Object is not valid');
    expect(err.details.map((d) => d.path)).toContain(field);
  });

  it('groups: fixture 09 posts, shows as a tree, scales by a factor and is removed', async () => {
    const created = await call('/v2/groups', { method: 'POST', json: fixture('09-group-sleep.json') });
    expect(created.status).toBe(201);
    const again = await call('/v2/groups', { method: 'POST', json: fixture('09-group-sleep.json') });
    expect(again.status).toBe(409);
    const group = (await (await call('/v2/groups/sleep-group')).json()) as {
      id: string;
      groups: Array<{ id: string; apps: Array<{ id: string; instances: number }> }>;
    };
    expect(group.id).toBe('/sleep-group');
    expect(group.groups[0]?.id).toBe('/sleep-group/sleep');
    expect(group.groups[0]?.apps.map((a) => a.id)).toEqual([
      '/sleep-group/sleep/goodnight-1',
      '/sleep-group/sleep/goodnight-2',
    ]);
    const scaled = await call('/v2/groups/sleep-group?force=true', { method: 'PUT', json: { scaleBy: 2 } });
    expect(scaled.status).toBe(200);
    const { app } = (await (await call('/v2/apps/sleep-group/sleep/goodnight-1')).json()) as {
      app: { instances: number };
    };
    expect(app.instances).toBe(2);
    // Its versions, newest first; at the first one every app had its first instance count.
    const versions = (await (await call('/v2/groups/sleep-group/versions')).json()) as string[];
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const first = (await (await call(`/v2/groups/sleep-group/versions/${versions.at(-1)}`)).json()) as {
      id: string;
      groups: Array<{ apps: Array<{ instances: number }> }>;
    };
    expect(first.id).toBe('/sleep-group');
    expect(first.groups[0]?.apps.map((a) => a.instances)).toEqual([1, 1]);
    expect((await call('/v2/groups/sleep-group/versions/2000-01-01T00:00:00.000Z')).status).toBe(404);
    const bad = await call('/v2/groups', {
      method: 'POST',
      json: { id: '/bad', apps: [{ id: 'x', cmd: 'y', cpus: -1 }] },
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { details: Array<{ path: string }> }).details.map((d) => d.path)).toContain(
      '/apps/0/cpus',
    );
    const removed = await call('/v2/groups/sleep-group?force=true', { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await call('/v2/groups/nope')).status).toBe(404);
  });

  it('/v2/events streams Marathon events as server-sent events, filtered by event_type', async () => {
    const controller = new AbortController();
    const res = await fetch(`${cluster.url}/v2/events?event_type=api_post_event`, {
      headers: { authorization: `Bearer ${cluster.token}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const read = async (until: RegExp) => {
      while (!until.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    };
    // The response headers arrive once the stream is subscribed.
    await call('/v2/apps', { method: 'POST', json: { id: '/events/probe', cmd: 'sleep 1', instances: 0 } });
    await read(/event: api_post_event\ndata: .*\n\n/);
    controller.abort();
    const data = JSON.parse(/event: api_post_event\ndata: (.*)\n\n/.exec(text)![1]!) as {
      eventType: string;
      appDefinition: { id: string };
    };
    expect(data.eventType).toBe('api_post_event');
    expect(data.appDefinition.id).toBe('/events/probe');
    expect(text).not.toMatch(/event: deployment_info/);
  });

  it.each([
    '02-docker-bridge-webapp-healthcheck.json',
    '03-readiness-and-health-app.json',
    '04-postgres-persistent-volume-vip.json',
    '05-legacy-docker-network-portmappings.json',
    '06-named-vip-mesos-http-mount-volume.json',
  ])('fixture %s posts as it is (201) and reads back normalised', async (name) => {
    const res = await call('/v2/apps', { method: 'POST', json: fixture(name) });
    expect(res.status).toBe(201);
    const app = (await res.json()) as {
      id: string;
      networks: unknown[];
      container?: { docker?: Record<string, unknown> };
    };
    expect(app.networks.length).toBeGreaterThan(0);
    expect(app.container?.docker ?? {}).not.toHaveProperty('network');
    await call(`/v2/apps${app.id}?force=true`, { method: 'DELETE' });
  });

  it('pods: fixture 10 posts, lists, reports its status, and is removed', async () => {
    const res = await call('/v2/pods', { method: 'POST', json: fixture('10-pod-simple.json') });
    expect(res.status).toBe(201);
    const pod = (await res.json()) as { id: string; containers: Array<{ name: string }>; version: string };
    expect(pod.id).toBe('/simple-pod');
    expect(pod.containers.map((c) => c.name)).toEqual(['ct1', 'ct2']);
    const list = (await (await call('/v2/pods')).json()) as Array<{ id: string }>;
    expect(list.map((p) => p.id)).toContain('/simple-pod');
    const apps = (await (await call('/v2/apps')).json()) as { apps: Array<{ id: string }> };
    expect(apps.apps.map((a) => a.id)).not.toContain('/simple-pod');
    const status = (await (await call('/v2/pods/simple-pod::status')).json()) as {
      id: string;
      status: string;
      spec: { id: string };
    };
    expect(status).toMatchObject({ id: '/simple-pod', spec: { id: '/simple-pod' } });
    const bad = await call('/v2/pods', {
      method: 'POST',
      json: { id: '/bad-pod', containers: [{ name: 'a', resources: { cpus: 0.1, mem: 16 } }] },
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { details: Array<{ path: string }> }).details.map((d) => d.path)).toContain(
      '/containers/0/image',
    );
    const removed = await call('/v2/pods/simple-pod?force=true', { method: 'DELETE' });
    expect(removed.status).toBe(202);
  });

  it('a malformed JSON body is a 400, not a 500', async () => {
    const res = await fetch(cluster.url + '/v2/apps', {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: '{"id": ',
    });
    expect(res.status).toBe(400);
  });

  it('unknown apps are 404 with Marathon message', async () => {
    const res = await call('/v2/apps/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe("App '/nope' does not exist");
  });

  it('the OpenAPI document lists the REST forms of the procedures', async () => {
    const doc = (await (await call('/api/v1/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/nodes', '/apps', '/apps/scale', '/tasks', '/auth/login']),
    );
  });

  it('REST /api/v1 serves the same procedures, with field errors as 4xx', async () => {
    const nodes = await call('/api/v1/nodes');
    expect(nodes.status).toBe(200);
    expect(await nodes.json()).toEqual([]);
    const bad = await call('/api/v1/apps/scale', { method: 'POST', json: { id: '/simple', instances: -1 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('instances');
  });

  it('tRPC login sets an httpOnly session cookie that authenticates', async () => {
    const res = await call('/api/trpc/auth.login', {
      method: 'POST',
      auth: null,
      json: { username: 'admin', password: cluster.adminPassword },
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/atoll_session=ses_/);
    expect(cookie).toMatch(/HttpOnly/i);
    const me = await call('/api/trpc/auth.me', { auth: null, headers: { cookie: cookie.split(';')[0]! } });
    expect(me.status).toBe(200);
  });

  it('a join token that is revoked or expired is refused by hello (service level)', async () => {
    const { nodesService, agentsService } = await import('@atoll/api');
    const s = cluster.control.services;
    const t = await nodesService.createJoinToken(s, {
      singleUse: true,
      expiresInSeconds: 60,
      attributes: {},
    });
    await nodesService.revokeJoinToken(s, t.id);
    const hello = {
      type: 'hello' as const,
      protocolVersion: 1,
      agentVersion: 'x',
      joinToken: t.token,
      hostname: 'h',
      address: '127.0.0.1',
      runtime: 'exec' as const,
      resources: { cpus: 1, memMb: 100, diskMb: 100, portRange: [20000, 20010] as [number, number] },
      attributes: {},
      tasks: [],
    };
    await expect(agentsService.handleHello(s, hello)).rejects.toThrow(/revoked/);
    const single = await nodesService.createJoinToken(s, {
      singleUse: true,
      expiresInSeconds: 60,
      attributes: { rack: 'r1' },
    });
    const joined = await agentsService.handleHello(s, { ...hello, joinToken: single.token });
    expect(joined.credential).toMatch(/^node_/);
    await expect(agentsService.handleHello(s, { ...hello, joinToken: single.token })).rejects.toThrow(
      /already used/,
    );
    const again = await agentsService.handleHello(s, {
      ...hello,
      joinToken: undefined,
      nodeId: joined.nodeId,
      credential: joined.credential,
    });
    expect(again.nodeId).toBe(joined.nodeId);
    await expect(
      agentsService.handleHello(s, {
        ...hello,
        joinToken: undefined,
        nodeId: joined.nodeId,
        credential: 'node_wrong',
      }),
    ).rejects.toThrow(/credential/);
  });
});
