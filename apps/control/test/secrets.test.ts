import { randomBytes, randomUUID } from 'node:crypto';
import { authService, SecretKeyring } from '@atoll/api';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('secret tests');

interface SecretView {
  path: string;
  description: string | null;
  keyId: string;
  usedBy: { apps: string[]; jobs: string[] };
}

/** Runs a command in a container and answers its stdout (Docker's multiplexed stream, demuxed). */
async function execIn(container: Docker.Container, cmd: string[]): Promise<string> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const raw = Buffer.concat(chunks);
  let out = '';
  for (let i = 0; i + 8 <= raw.length;) {
    const len = raw.readUInt32BE(i + 4);
    if (raw[i] === 1) out += raw.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return out;
}

/**
 * The "done when": a secret given to an app reaches the container's environment (and its
 * file), and appears nowhere else — not in any row of any table, not in the events, not in any API
 * answer. Real control, real agent, real Docker, real PostgreSQL.
 */
describe.skipIf(skip)('secrets', () => {
  let cluster: TestCluster;
  const docker = new Docker();
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const raw = (method: string, p: string, body?: unknown, token = cluster.token) =>
    fetch(cluster.url + p, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const enc = (p: string) => encodeURIComponent(p);
  // /v2/events as a client sees it, from before the first secret exists.
  let eventText = '';
  const events = new AbortController();

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true });
    const res = await fetch(`${cluster.url}/v2/events`, {
      headers: { authorization: `Bearer ${cluster.token}` },
      signal: events.signal,
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        eventText += decoder.decode(value, { stream: true });
      }
    })();
  });

  afterAll(async () => {
    events.abort();
    await cluster?.stop();
  });

  /** Every row of every table of control's database, as text, that contains `needle`. */
  async function rowsContaining(needle: string): Promise<string[]> {
    const { rows: tables } = await cluster.control.db.pool.query<{ name: string }>(
      `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
       FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
         AND table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(10);
    const hits: string[] = [];
    for (const { name } of tables) {
      const { rows } = await cluster.control.db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${name} x WHERE position($1 in x::text) > 0`,
        [needle],
      );
      if (Number(rows[0]!.n) > 0) hits.push(`${name}: ${rows[0]!.n} row(s)`);
    }
    return hits;
  }

  async function containerOf(appId: string): Promise<Docker.Container> {
    const list = await docker.listContainers({ filters: { label: [`io.atoll.app-id=${appId}`] } });
    expect(list).toHaveLength(1);
    return docker.getContainer(list[0]!.Id);
  }

  it('gives an app its secret as env and as a read-only file, and the value appears nowhere else', async () => {
    const value = `sv-${randomUUID()}-${randomBytes(6).toString('hex')}`;
    const created = await api<SecretView>('POST', '/api/v1/secrets', {
      path: '/team-a/db-password',
      value,
      description: 'the database password',
    });
    expect(created).toMatchObject({ path: '/team-a/db-password', description: 'the database password' });
    expect(JSON.stringify(created)).not.toContain(value);

    const app = {
      id: '/team-a/web',
      cmd: 'sleep 600',
      cpus: 0.05,
      mem: 32,
      instances: 1,
      container: {
        type: 'DOCKER',
        docker: { image: TEST_IMAGE },
        volumes: [{ containerPath: '/run/secrets/db', secret: 's1' }],
      },
      secrets: { s1: { source: '/team-a/db-password' } },
      env: { DB_PASSWORD: { secret: 's1' }, PLAIN: 'visible' },
    };
    const post = await raw('POST', '/v2/apps', app);
    expect(post.status).toBe(201);
    const posted = await post.text();
    await until(
      'the app to run',
      () => api<{ app: { tasksRunning: number } }>('GET', '/v2/apps/team-a/web'),
      (r) => r.app.tasksRunning === 1,
    );

    // It reached the container: its environment (docker inspect and the process's env) and file.
    const container = await containerOf('/team-a/web');
    const info = await container.inspect();
    expect(info.Config.Env).toContain(`DB_PASSWORD=${value}`);
    expect(await execIn(container, ['sh', '-c', 'echo "$DB_PASSWORD"'])).toBe(`${value}\n`);
    expect(await execIn(container, ['cat', '/run/secrets/db'])).toBe(value);
    const mount = info.Mounts.find((m) => m.Destination === '/run/secrets/db');
    expect(mount).toMatchObject({ Type: 'bind', RW: false });
    expect(await execIn(container, ['sh', '-c', 'echo x > /run/secrets/db 2>&1 || echo refused'])).toContain(
      'refused',
    );

    // Nowhere else: the database (every row of every table, as text), ...
    const b64 = Buffer.from(value).toString('base64');
    expect(await rowsContaining(value)).toEqual([]);
    expect(await rowsContaining(b64)).toEqual([]);
    expect(await rowsContaining('the database password')).toEqual(['public.secrets: 1 row(s)']);

    // ... the events, stored and streamed, ...
    const stored = await raw('GET', '/api/v1/events?limit=500');
    expect(stored.status).toBe(200);
    const storedText = await stored.text();
    expect(storedText).toContain('/team-a/web');
    expect(storedText).not.toContain(value);
    await until(
      'the task to be reported in /v2/events',
      async () => eventText,
      (t) => t.includes('TASK_RUNNING'),
    );
    expect(eventText).toContain('/team-a/db-password');
    expect(eventText).not.toContain(value);
    expect(eventText).not.toContain(b64);

    // ... and every API answer about the app, its versions, tasks, groups and the secret.
    const versions = await api<{ versions: string[] }>('GET', '/v2/apps/team-a/web/versions');
    const answers: Array<[string, string]> = [['POST /v2/apps', posted]];
    for (const p of [
      '/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure&embed=apps.taskStats',
      '/v2/apps/team-a/web?embed=app.tasks&embed=app.lastTaskFailure',
      '/v2/apps/team-a/web/versions',
      `/v2/apps/team-a/web/versions/${encodeURIComponent(versions.versions[0]!)}`,
      '/v2/apps/team-a/web/tasks',
      '/v2/tasks',
      '/v2/groups?embed=group.apps&embed=group.groups',
      '/v2/groups/team-a',
      '/v2/deployments',
      '/v2/queue',
      '/api/v1/apps',
      `/api/v1/apps/detail?id=${enc('/team-a/web')}`,
      `/api/v1/apps/versions?id=${enc('/team-a/web')}`,
      `/api/v1/apps/version?id=${enc('/team-a/web')}&version=${enc(versions.versions[0]!)}`,
      '/api/v1/tasks',
      '/api/v1/groups',
      '/api/v1/deployments',
      '/api/v1/secrets',
      `/api/v1/secrets/${enc('/team-a/db-password')}`,
      '/api/v1/secret-keys',
      '/api/v1/events?limit=500',
    ]) {
      const res = await raw('GET', p);
      expect(res.status, `${p} ${res.status < 300 ? '' : await res.clone().text()}`).toBeLessThan(300);
      answers.push([p, await res.text()]);
    }
    for (const [p, body] of answers) {
      expect(body, p).not.toContain(value);
      expect(body, p).not.toContain(b64);
    }
    // The definition keeps the reference.
    const back = JSON.parse(answers.find((a) => a[0].startsWith('/v2/apps/team-a/web?'))![1]) as {
      app: { env: Record<string, unknown>; secrets: unknown };
    };
    expect(back.app.env.DB_PASSWORD).toEqual({ secret: 's1' });
    expect(back.app.secrets).toEqual({ s1: { source: '/team-a/db-password' } });

    // The list says who uses it.
    const list = await api<SecretView[]>('GET', '/api/v1/secrets');
    expect(list.find((s) => s.path === '/team-a/db-password')?.usedBy).toEqual({
      apps: ['/team-a/web'],
      jobs: [],
    });
  });

  it('gives a Metronome job its secret (env and file), and keeps it out of the run', async () => {
    const value = `job-${randomUUID()}`;
    await api('POST', '/api/v1/secrets', { path: '/team-a/job-token', value });
    const job = {
      id: 'team-a.report',
      run: {
        // Compares the env value with the file, and checks it is there, without naming it.
        cmd: `test -n "$TOKEN" && test "$TOKEN" = "$(cat /run/secrets/token)" && test \${#TOKEN} -eq ${value.length}`,
        cpus: 0.05,
        mem: 32,
        disk: 0,
        docker: { image: TEST_IMAGE },
        secrets: { t: { source: '/team-a/job-token' } },
        env: { TOKEN: { secret: 't' } },
        volumes: [{ containerPath: '/run/secrets/token', secret: 't' }],
      },
    };
    expect((await raw('POST', '/v1/jobs', job)).status).toBe(201);
    const run = await api<{ id: string }>('POST', '/v1/jobs/team-a.report/runs');
    const done = await until(
      'the run to end',
      () => api<{ status: string }>('GET', `/v1/jobs/team-a.report/runs/${run.id}`).catch(() => null),
      (r) => r === null || r.status === 'SUCCESS' || r.status === 'FAILED',
    );
    // An ended run leaves the active list; its history says how it went.
    const history = await api<{ successCount: number; failureCount: number }>(
      'GET',
      '/v1/jobs/team-a.report?embed=history',
    ).then((j) => (j as unknown as { history: { successCount: number; failureCount: number } }).history);
    expect(done === null || done.status === 'SUCCESS').toBe(true);
    expect(history).toMatchObject({ successCount: 1, failureCount: 0 });
    expect(await rowsContaining(value)).toEqual([]);
    const answer = await (await raw('GET', '/v1/jobs/team-a.report?embed=activeRuns&embed=history')).text();
    expect(answer).not.toContain(value);
    expect(eventText).not.toContain(value);
    const list = await api<SecretView[]>('GET', '/api/v1/secrets');
    expect(list.find((s) => s.path === '/team-a/job-token')?.usedBy.jobs).toEqual(['team-a.report']);
  });

  it('gives a pod its secret; a task whose secret was deleted fails naming the path', async () => {
    const value = `pod-${randomUUID()}`;
    await api('POST', '/api/v1/secrets', { path: '/team-a/pod-key', value });
    const pod = await raw('POST', '/v2/pods', {
      id: '/team-a/pod',
      secrets: { k: { source: '/team-a/pod-key' } },
      environment: { POD_KEY: { secret: 'k' } },
      containers: [
        {
          name: 'main',
          resources: { cpus: 0.05, mem: 32 },
          image: { kind: 'DOCKER', id: TEST_IMAGE },
          exec: { command: { shell: 'sleep 600' } },
        },
      ],
      scaling: { kind: 'fixed', instances: 1 },
    });
    expect(pod.status, await pod.clone().text()).toBe(201);
    await until(
      'the pod to run',
      async () =>
        (await docker.listContainers({ filters: { label: ['io.atoll.app-id=/team-a/pod'] } })).length,
      (n) => n === 1,
    );
    const container = await containerOf('/team-a/pod');
    expect((await container.inspect()).Config.Env).toContain(`POD_KEY=${value}`);
    expect(await rowsContaining(value)).toEqual([]);
    expect(await (await raw('GET', '/v2/pods/team-a/pod')).text()).not.toContain(value);

    // Deleted: the running task keeps its value, a new one cannot start and says why.
    const del = await api<{ usedBy: { apps: string[] } }>(
      'DELETE',
      `/api/v1/secrets/${enc('/team-a/pod-key')}`,
    );
    expect(del.usedBy.apps).toEqual(['/team-a/pod']);
    await raw('DELETE', '/v2/pods/team-a/pod?force=true');
    await api('POST', '/api/v1/secrets', { path: '/team-a/gone', value: 'soon gone' });
    await api('POST', '/v2/apps', {
      id: '/team-a/orphan',
      cmd: 'sleep 600',
      cpus: 0.01,
      mem: 16,
      instances: 0,
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
      secrets: { g: { source: '/team-a/gone' } },
      env: { G: { secret: 'g' } },
    });
    await api('DELETE', `/api/v1/secrets/${enc('/team-a/gone')}`);
    // force: the deployment of the app's creation (0 instances) may still be open.
    await api('PUT', '/v2/apps/team-a/orphan?force=true', { instances: 1 });
    const failed = await until(
      'the launch to fail',
      () =>
        api<{ app: { lastTaskFailure?: { message: string } } }>(
          'GET',
          '/v2/apps/team-a/orphan?embed=app.lastTaskFailure',
        ),
      (r) => r.app.lastTaskFailure !== undefined,
    );
    expect(failed.app.lastTaskFailure!.message).toBe('secret /team-a/gone does not exist');
    await raw('DELETE', '/v2/apps/team-a/orphan?force=true');
  });

  it('refuses deploys whose secrets are missing, undeclared or invalid (422 naming the field)', async () => {
    const base = { cmd: 'sleep 60', cpus: 0.01, mem: 16, instances: 0 };
    const missing = await raw('POST', '/v2/apps', {
      ...base,
      id: '/team-a/missing',
      secrets: { s1: { source: '/team-a/nope' } },
      env: { X: { secret: 's1' } },
    });
    expect(missing.status).toBe(422);
    // Marathon's shape names it /secrets/s1/source; /api/v1's secrets.s1.source.
    expect(await missing.text()).toMatch(/secrets[./]s1[./]source/);
    const undeclared = await raw('POST', '/v2/apps', {
      ...base,
      id: '/team-a/undeclared',
      env: { X: { secret: 'zz' } },
    });
    expect(undeclared.status).toBe(422);
    expect(await undeclared.text()).toMatch(/env[./]X[./]secret/);
    const noImage = await raw('POST', '/v2/apps', {
      ...base,
      id: '/team-a/noimage',
      container: { type: 'MESOS', volumes: [{ containerPath: '/run/s', secret: 's1' }] },
      secrets: { s1: { source: '/team-a/db-password' } },
    });
    expect(noImage.status).toBe(422);
    expect(await noImage.text()).toContain('file secrets need a Docker task');
    const badPath = await raw('POST', '/v2/apps', {
      ...base,
      id: '/team-a/badpath',
      secrets: { s1: { source: 'no slash' } },
    });
    expect(badPath.status).toBe(422);
    expect(await badPath.text()).toMatch(/secrets[./]s1[./]source/);
    // Through tRPC's REST face too, and for jobs.
    const v1 = await raw('POST', '/api/v1/apps', {
      definition: { ...base, id: '/team-a/v1', secrets: { s1: { source: '/nope' } } },
    });
    expect(v1.status).toBe(422);
    expect(await v1.text()).toContain('secrets.s1.source');
    const job = await raw('POST', '/v1/jobs', {
      id: 'team-a.missing',
      run: {
        cmd: 'true',
        cpus: 0.01,
        mem: 32,
        disk: 0,
        secrets: { t: { source: '/nope' } },
        env: { T: { secret: 't' } },
      },
    });
    expect(job.status).toBe(422);
    expect(await job.text()).toMatch(/run[./]secrets[./]t[./]source/);
    // None of the refused ones was stored.
    const refused = ['/team-a/missing', '/team-a/undeclared', '/team-a/badpath', '/team-a/v1'];
    expect(await cluster.control.db.prisma.app.count({ where: { id: { in: refused } } })).toBe(0);

    // The store's own checks.
    const cases: Array<[unknown, number, string]> = [
      [{ path: '/a b', value: 'x' }, 422, 'path'],
      [{ path: '/a/../b', value: 'x' }, 422, 'path'],
      // Lengths are in the request schema (so in the OpenAPI document): 400 naming the field.
      [{ path: `/${'a'.repeat(300)}`, value: 'x' }, 400, 'path'],
      [{ path: '/big', value: 'x'.repeat(64 * 1024 + 1) }, 400, 'value'],
      // 64 KiB is counted in UTF-8 bytes: fewer characters can be too many bytes.
      [{ path: '/big', value: 'é'.repeat(40 * 1024) }, 422, 'value'],
      [{ path: '/team-a/db-password', value: 'again' }, 409, 'already exists'],
    ];
    for (const [body, status, says] of cases) {
      const res = await raw('POST', '/api/v1/secrets', body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(await res.text()).toContain(says);
    }
    expect((await raw('GET', `/api/v1/secrets/${enc('/team-a/none')}`)).status).toBe(404);
  });

  it('keeps viewers out and scoped operators in their scope', async () => {
    const mkUser = async (username: string, role: string, scope: string | null) => {
      const u = await cluster.control.db.prisma.user.create({
        data: { username, passwordHash: '!', role, scope, kind: 'service' },
      });
      return (await authService.createApiToken(cluster.control.services, u.id, 'test')).token;
    };
    const viewer = await mkUser('viewer-1', 'viewer', null);
    const teamA = await mkUser('ops-a', 'operator', '/team-a');
    await api('POST', '/api/v1/secrets', { path: '/team-b/key', value: 'b-value' });

    expect((await raw('GET', '/api/v1/secrets', undefined, viewer)).status).toBe(403);
    expect((await raw('POST', '/api/v1/secrets', { path: '/v', value: 'x' }, viewer)).status).toBe(403);

    const seen = (await (await raw('GET', '/api/v1/secrets', undefined, teamA)).json()) as SecretView[];
    expect(seen.map((s) => s.path).sort()).toEqual(['/team-a/db-password', '/team-a/job-token']);
    const r403 = await raw('GET', `/api/v1/secrets/${enc('/team-b/key')}`, undefined, teamA);
    expect(r403.status, await r403.clone().text()).toBe(403);
    expect((await raw('POST', '/api/v1/secrets', { path: '/team-b/x', value: 'x' }, teamA)).status).toBe(403);
    expect((await raw('DELETE', `/api/v1/secrets/${enc('/team-b/key')}`, undefined, teamA)).status).toBe(403);
    expect((await raw('POST', '/api/v1/secrets', { path: '/team-a/mine', value: 'x' }, teamA)).status).toBe(
      200,
    );
    const patched = await raw(
      'PATCH',
      `/api/v1/secrets/${enc('/team-a/mine')}`,
      { description: 'mine' },
      teamA,
    );
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as SecretView).description).toBe('mine');
    expect((await raw('POST', '/api/v1/secret-keys/rotate', {}, teamA)).status).toBe(403);

    // Deploying in its scope with a secret outside it: refused, naming the field.
    const res = await raw(
      'POST',
      '/v2/apps',
      {
        id: '/team-a/thief',
        cmd: 'sleep 60',
        instances: 0,
        secrets: { s1: { source: '/team-b/key' } },
        env: { K: { secret: 's1' } },
      },
      teamA,
    );
    expect(res.status).toBe(422);
    expect(await res.text()).toMatch(/secrets[./]s1[./]source.*outside/);
    const del = await raw('DELETE', `/api/v1/secrets/${enc('/team-a/mine')}`, undefined, teamA);
    expect(del.status).toBe(200);
  });

  it('stores a catalog option marked secret as a secret; the app and the install keep the reference', async () => {
    const password = `es-${randomUUID()}`;
    const body = { packageName: 'elasticsearch', options: { elasticsearch: { password } } };
    const rendered = await raw('POST', '/api/v1/packages/render', body);
    expect(rendered.status).toBe(200);
    const renderedText = await rendered.text();
    expect(renderedText).not.toContain(password);
    const install = await raw('POST', '/api/v1/packages/install', body);
    expect(install.status, await install.clone().text()).toBe(200);
    const app = await api<{ app: { env: Record<string, unknown>; secrets: Record<string, unknown> } }>(
      'GET',
      '/v2/apps/elasticsearch',
    );
    expect(app.app.env.ELASTIC_PASSWORD).toEqual({ secret: 'elasticsearch.password' });
    expect(app.app.secrets).toEqual({
      'elasticsearch.password': { source: '/elasticsearch/elasticsearch.password' },
    });
    const list = await api<SecretView[]>('GET', '/api/v1/secrets');
    expect(list.find((x) => x.path === '/elasticsearch/elasticsearch.password')?.usedBy.apps).toEqual([
      '/elasticsearch',
    ]);
    const installed = await (await raw('GET', '/api/v1/packages/installed')).text();
    expect(installed).toContain('/elasticsearch/elasticsearch.password');
    expect(installed).not.toContain(password);
    expect(await rowsContaining(password)).toEqual([]);
    // Uninstalled, its secrets go with it.
    const un = await raw('POST', '/api/v1/packages/uninstall', { packageName: 'elasticsearch' });
    expect(un.status, await un.clone().text()).toBe(200);
    expect((await api<SecretView[]>('GET', '/api/v1/secrets')).map((x) => x.path)).not.toContain(
      '/elasticsearch/elasticsearch.password',
    );
  });

  it('rotates every secret to the current key, and reports rows under an unknown key', async () => {
    const k1 = `k1:${randomBytes(32).toString('base64')}`;
    const k2 = `k2:${randomBytes(32).toString('base64')}`;
    const services = cluster.control.services;
    // Secrets so far were written under the cluster's random key: re-key the store from here on.
    await cluster.control.db.pool.query('DELETE FROM secrets');
    services.secrets = SecretKeyring.fromText(k1);
    await api('POST', '/api/v1/secrets', { path: '/r/one', value: 'one-value' });
    await api('POST', '/api/v1/secrets', { path: '/r/two', value: 'two-value' });
    services.secrets = SecretKeyring.fromText(`${k2},${k1}`);
    const keys = await api<{ currentKeyId: string; keys: Array<{ id: string; secrets: number }> }>(
      'GET',
      '/api/v1/secret-keys',
    );
    expect(keys.currentKeyId).toBe('k2');
    expect(keys.keys.find((k) => k.id === 'k1')?.secrets).toBe(2);
    const rotated = await api<{ rotated: number; failed: unknown[] }>(
      'POST',
      '/api/v1/secret-keys/rotate',
      {},
    );
    expect(rotated).toMatchObject({ rotated: 2, total: 2, failed: [] });
    const list = await api<SecretView[]>('GET', '/api/v1/secrets');
    expect(list.map((s) => s.keyId)).toEqual(['k2', 'k2']);

    // k1 is gone: the rows still read with k2 alone. A row under a key nobody has is reported.
    services.secrets = SecretKeyring.fromText(k2);
    await cluster.control.db.pool.query(`UPDATE secrets SET key_id = 'lost' WHERE path = '/r/two'`);
    const again = await api<{ rotated: number; failed: Array<{ path: string; keyId: string }> }>(
      'POST',
      '/api/v1/secret-keys/rotate',
      {},
    );
    expect(again.rotated).toBe(0);
    expect(again.failed).toEqual([expect.objectContaining({ path: '/r/two', keyId: 'lost' })]);
    const status = await api<{ keys: Array<{ id: string; configured: boolean }> }>(
      'GET',
      '/api/v1/secret-keys',
    );
    expect(status.keys).toContainEqual({ id: 'lost', configured: false, secrets: 1 });
  });
});
