import net from 'node:net';
import { authService, AuditLog } from '@atoll/api';
import { createTestDatabase } from '@atoll/db/testing';
import { hash } from '@node-rs/argon2';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startControl, type Control } from '../src/control';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, until } from './support';

interface AuditRecord {
  id: string;
  at: string;
  actorId: string | null;
  actor: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  ip: string | null;
  status: number;
  requestId: string;
}

/**
 * The audit trail with a real control and PostgreSQL (no agent: every write here is accepted or
 * refused by control itself). Each response's x-request-id finds its record.
 */
describe('audit records of write requests', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let control: Control;
  let adminId: string;
  let adminToken: string;
  let viewerToken: string;
  const adminPassword = 'audit-test-admin-password';
  const log = pino({ level: process.env.ATOLL_TEST_LOG ?? 'silent' });

  const start = async (opts: { trustProxy?: string[] } = {}) => {
    control = await startControl({
      databaseUrl: database.url,
      bind: '127.0.0.1',
      port: 0,
      clusterName: 'audit',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 5000,
      console: false,
      log,
      adminPassword,
      dnsPort: null,
      ...opts,
    });
  };

  const call = async (
    method: string,
    p: string,
    opts: { json?: unknown; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; requestId: string; body: unknown }> => {
    const token = opts.token === undefined ? adminToken : opts.token;
    const res = await fetch(control.url + p, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
    });
    const text = await res.text();
    const requestId = res.headers.get('x-request-id');
    if (!requestId) throw new Error(`${method} ${p}: no x-request-id`);
    return { status: res.status, requestId, body: text ? (JSON.parse(text) as unknown) : null };
  };

  /** Every record of a request (waits for the batch that carries it). */
  const recordsOf = async (requestId: string): Promise<AuditRecord[]> => {
    await until(
      `the audit record of ${requestId}`,
      async () =>
        (await control.db.pool.query('SELECT 1 FROM audit_records WHERE request_id = $1', [requestId]))
          .rowCount,
      (n) => (n ?? 0) > 0,
      10_000,
    );
    const page = await call('GET', `/api/v1/audit?limit=500`);
    expect(page.status).toBe(200);
    return (page.body as { records: AuditRecord[] }).records.filter((r) => r.requestId === requestId);
  };
  const recordOf = async (requestId: string): Promise<AuditRecord> => {
    const records = await recordsOf(requestId);
    expect(records).toHaveLength(1);
    return records[0]!;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await start();
    const admin = await control.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    adminId = admin.id;
    adminToken = (await authService.createApiToken(control.services, admin.id, 'audit-test')).token;
    // A viewer made straight in the database (the users API is not what this test is about).
    const viewer = await control.db.prisma.user.create({
      data: { username: 'audit-viewer', role: 'viewer', passwordHash: await hash('viewer-password-1') },
    });
    viewerToken = (await authService.createApiToken(control.services, viewer.id, 'viewer')).token;
  });
  afterAll(async () => {
    await control?.stop();
    await database?.drop();
  });

  it('a tRPC mutation (single and batched) leaves one record naming the procedure and the app', async () => {
    const created = await call('POST', '/api/trpc/apps.create', {
      json: { definition: { id: '/audit/trpc', cmd: 'sleep 1000', instances: 0, cpus: 0.1, mem: 32 } },
    });
    expect(created.status).toBe(200);
    expect(await recordOf(created.requestId)).toMatchObject({
      actorId: adminId,
      actor: 'admin',
      method: 'POST',
      path: '/api/trpc/apps.create',
      action: 'apps.create',
      target: '/audit/trpc',
      ip: '127.0.0.1',
      status: 200,
    });

    // The console batches: `/api/trpc/a,b?batch=1` with `{"0": …, "1": …}` is one request, one record.
    const batch = await call('POST', '/api/trpc/apps.scale,apps.restart?batch=1', {
      json: { 0: { id: '/audit/trpc', instances: 0 }, 1: { id: '/audit/trpc' } },
    });
    const r = await recordOf(batch.requestId);
    expect(r).toMatchObject({
      action: 'apps.scale,apps.restart',
      target: '/audit/trpc',
      path: '/api/trpc/apps.scale,apps.restart',
      status: batch.status,
    });
  });

  it('/api/v1 writes name the operation and the target (from the body or the query)', async () => {
    const created = await call('POST', '/api/v1/apps', {
      json: { definition: { id: '/audit/rest', cmd: 'sleep 1000', instances: 0, cpus: 0.1, mem: 32 } },
    });
    expect(created.status).toBe(200);
    expect(await recordOf(created.requestId)).toMatchObject({
      actor: 'admin',
      method: 'POST',
      path: '/api/v1/apps',
      action: 'POST /api/v1/apps',
      target: '/audit/rest',
      status: 200,
    });
    const deleted = await call('DELETE', `/api/v1/apps?id=${encodeURIComponent('/audit/rest')}&force=true`);
    expect(deleted.status).toBe(200);
    // The query string is not part of the path.
    expect(await recordOf(deleted.requestId)).toMatchObject({
      path: '/api/v1/apps',
      action: 'DELETE /api/v1/apps',
      target: '/audit/rest',
      status: 200,
    });
  });

  it("Marathon's /v2 writes name the route pattern and the app id", async () => {
    const created = await call('POST', '/v2/apps', {
      json: { id: '/audit/v2', cmd: 'sleep 1000', instances: 0, cpus: 0.1, mem: 32 },
    });
    expect(created.status).toBe(201);
    expect(await recordOf(created.requestId)).toMatchObject({
      actor: 'admin',
      actorId: adminId,
      path: '/v2/apps',
      action: 'POST /v2/apps',
      target: '/audit/v2',
      status: 201,
    });
    const restarted = await call('POST', '/v2/apps/audit/v2/restart');
    expect(await recordOf(restarted.requestId)).toMatchObject({
      action: 'POST /v2/apps/:id/restart',
      target: '/audit/v2',
      status: restarted.status,
    });
    const deleted = await call('DELETE', '/v2/apps/audit/v2?force=true');
    expect(deleted.status).toBe(200);
    expect(await recordOf(deleted.requestId)).toMatchObject({
      method: 'DELETE',
      path: '/v2/apps/audit/v2',
      action: 'DELETE /v2/apps/:id',
      target: '/audit/v2',
      status: 200,
    });
  });

  it("Metronome's /v1/jobs writes name the route and the job", async () => {
    const created = await call('POST', '/v1/jobs', {
      json: { id: 'audit-job', run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 } },
    });
    expect(created.status).toBe(201);
    expect(await recordOf(created.requestId)).toMatchObject({
      actor: 'admin',
      path: '/v1/jobs',
      action: 'POST /v1/jobs',
      target: 'audit-job',
      status: 201,
    });
    const deleted = await call('DELETE', '/v1/jobs/audit-job');
    expect(deleted.status).toBe(200);
    expect(await recordOf(deleted.requestId)).toMatchObject({
      action: 'DELETE /v1/jobs/:jobId',
      target: 'audit-job',
      status: 200,
    });
  });

  it('refused writes are recorded with their status: 422, 401 and 403', async () => {
    const invalid = await call('POST', '/v2/apps', { json: { id: '/audit/bad', instances: -1 } });
    expect(invalid.status).toBe(422);
    expect(await recordOf(invalid.requestId)).toMatchObject({
      action: 'POST /v2/apps',
      actor: 'admin',
      status: 422,
    });

    const anonymous = await call('POST', '/v2/apps', { token: null, json: { id: '/audit/anon', cmd: 'x' } });
    expect(anonymous.status).toBe(401);
    expect(await recordOf(anonymous.requestId)).toMatchObject({
      actor: null,
      actorId: null,
      action: 'POST /v2/apps',
      status: 401,
    });

    const badToken = await call('DELETE', '/v1/jobs/nope', { token: 'atl_not-a-real-token' });
    expect(badToken.status).toBe(401);
    expect(await recordOf(badToken.requestId)).toMatchObject({ actor: null, status: 401 });

    const viewer = await call('POST', '/api/trpc/apps.create', {
      token: viewerToken,
      json: { definition: { id: '/audit/viewer', cmd: 'sleep 1', instances: 0 } },
    });
    expect(viewer.status).toBe(403);
    expect(await recordOf(viewer.requestId)).toMatchObject({
      actor: 'audit-viewer',
      action: 'apps.create',
      target: '/audit/viewer',
      status: 403,
    });
  });

  it('logins are recorded with the username tried, never the password', async () => {
    const wrongPassword = 'Wrong-Password-That-Must-Not-Be-Stored-42';
    const failed = await call('POST', '/api/trpc/auth.login', {
      token: null,
      json: { username: 'admin', password: wrongPassword },
    });
    expect(failed.status).toBe(401);
    expect(await recordOf(failed.requestId)).toMatchObject({
      actor: 'admin',
      actorId: null,
      action: 'auth.login',
      status: 401,
    });
    const dcos = await call('POST', '/acs/api/v1/auth/login', {
      token: null,
      json: { uid: 'admin', password: adminPassword },
    });
    expect(dcos.status).toBe(200);
    expect(await recordOf(dcos.requestId)).toMatchObject({
      actor: 'admin',
      actorId: adminId,
      action: 'POST /acs/api/v1/auth/login',
      status: 200,
    });
    const unknown = await call('POST', '/api/v1/auth/login', {
      token: null,
      json: { username: 'nobody-here', password: wrongPassword },
    });
    expect(await recordOf(unknown.requestId)).toMatchObject({
      actor: 'nobody-here',
      actorId: null,
      status: 401,
    });

    // Neither password is anywhere in the table.
    const { rows } = await control.db.pool.query<{ row: string }>(
      'SELECT a::text AS row FROM audit_records a',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { row } of rows) {
      expect(row).not.toContain(wrongPassword);
      expect(row).not.toContain(adminPassword);
      expect(row).not.toContain(adminToken);
    }
  });

  it('a write whose client went away before the answer is recorded as 499', async () => {
    // Half a body, then the connection ends: the request never gets its answer.
    const { port } = new URL(control.url);
    const before = (
      await control.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM audit_records WHERE status = 499',
      )
    ).rows[0]!.n;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          [
            'POST /v2/apps HTTP/1.1',
            `Host: 127.0.0.1:${port}`,
            `Authorization: Bearer ${adminToken}`,
            'Content-Type: application/json',
            'Content-Length: 1000',
            '',
            '{"id": "/audit/abor',
          ].join('\r\n'),
          () => setTimeout(() => socket.destroy(), 200),
        );
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const rows = await until(
      'the aborted request recorded',
      async () =>
        (
          await control.db.pool.query<{ actor: string; action: string; status: number }>(
            'SELECT actor, action, status FROM audit_records WHERE status = 499',
          )
        ).rows,
      (r) => r.length > before,
      10_000,
    );
    expect(rows.at(-1)).toEqual({ actor: 'admin', action: 'POST /v2/apps', status: 499 });
  });

  it('reads are not recorded', async () => {
    const reads = [
      await call('GET', '/v2/apps'),
      await call('GET', '/api/v1/apps'),
      await call('GET', '/api/trpc/apps.list'),
      await call('GET', '/v1/jobs'),
      await call('HEAD', '/health'),
    ];
    for (const r of reads) expect(r.status).toBeLessThan(400);
    // A write after them: once its record is written, theirs would have been too.
    const write = await call('POST', '/v2/apps', {
      json: { id: '/audit/after-reads', cmd: 'x', instances: 0 },
    });
    await recordOf(write.requestId);
    const { rows } = await control.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_records WHERE request_id = ANY($1)',
      [reads.map((r) => r.requestId)],
    );
    expect(rows[0]!.n).toBe(0);
    await call('DELETE', '/v2/apps/audit/after-reads?force=true');
  });

  it('the audit list is for admins only, and filters by actor, action, status and time', async () => {
    expect((await call('GET', '/api/v1/audit', { token: viewerToken })).status).toBe(403);
    expect((await call('GET', '/api/trpc/audit.list', { token: viewerToken })).status).toBe(403);

    const page = async (q: string) =>
      (await call('GET', `/api/v1/audit?${q}`)).body as { records: AuditRecord[]; nextCursor: string | null };
    const byViewer = await page('actor=audit-viewer');
    expect(byViewer.records.length).toBeGreaterThan(0);
    expect(byViewer.records.every((r) => r.actor === 'audit-viewer')).toBe(true);
    const v2 = await page(`action=${encodeURIComponent('DELETE /v2/')}`);
    expect(v2.records.length).toBeGreaterThan(0);
    expect(v2.records.every((r) => r.action.startsWith('DELETE /v2/'))).toBe(true);
    const refused = await page('status=4xx');
    expect(refused.records.map((r) => r.status)).toEqual(expect.arrayContaining([401, 403, 422]));
    expect(refused.records.every((r) => r.status >= 400 && r.status < 500)).toBe(true);
    expect((await page('since=2999-01-01T00:00:00Z')).records).toEqual([]);
    expect((await page('until=2000-01-01T00:00:00Z')).records).toEqual([]);

    // Pages of 2, newest first, through every record exactly once.
    const all = await page('limit=500');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p = await page(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.records.map((r) => r.id));
      cursor = p.nextCursor;
    } while (cursor);
    // Reading the list is not recorded, so the pages see the same set.
    expect(seen).toEqual(all.records.map((r) => r.id));
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => b - a));

    const bad = await call('GET', '/api/v1/audit?limit=501&status=9xx');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/limit/);
  });

  it('records of requests answered just before a stop are written (flush on close)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('POST', '/v1/jobs', {
        json: { id: `audit-restart-${i}`, run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 } },
      });
      expect(r.status).toBe(201);
      ids.push(r.requestId);
    }
    // Stop at once: the records are still in the buffer (or on their way) when stop begins.
    await control.stop();
    await start();
    const { rows } = await control.db.pool.query<{ request_id: string; target: string }>(
      'SELECT request_id, target FROM audit_records WHERE request_id = ANY($1) ORDER BY id',
      [ids],
    );
    expect(rows.map((r) => r.request_id)).toEqual(ids);
    expect(rows.map((r) => r.target)).toEqual(ids.map((_, i) => `audit-restart-${i}`));
  });

  it('the address is the peer unless proxies are trusted (ATOLL_TRUST_PROXY)', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    const untrusted = await call('POST', '/v2/apps', {
      json: { id: '/audit/proxy-a', cmd: 'x', instances: 0 },
      headers: forwarded,
    });
    expect(await recordOf(untrusted.requestId)).toMatchObject({ ip: '127.0.0.1', status: 201 });
    await control.stop();
    await start({ trustProxy: ['127.0.0.1'] });
    const trusted = await call('POST', '/v2/apps', {
      json: { id: '/audit/proxy-b', cmd: 'x', instances: 0 },
      headers: forwarded,
    });
    expect(await recordOf(trusted.requestId)).toMatchObject({ ip: '203.0.113.7', status: 201 });
  });

  it('a retention in days deletes older records; without one nothing is deleted', async () => {
    await control.db.pool.query(
      `INSERT INTO audit_records (at, actor, method, path, action, status, request_id)
       VALUES (now() - interval '40 days', 'old', 'POST', '/v2/apps', 'POST /v2/apps', 201, 'old-record')`,
    );
    const keepForever = new AuditLog(control.db, log);
    expect(await keepForever.prune()).toBe(0);
    const thirtyDays = new AuditLog(control.db, log, { retentionDays: 30 });
    expect(await thirtyDays.prune()).toBe(1);
    const { rows } = await control.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_records',
    );
    expect(rows[0]!.n).toBeGreaterThan(10);
  });
});

/** Exec sessions are WebSocket GETs: opened and refused ones are recorded all the same. */
describe('audit records of exec sessions', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true, runtime: 'exec' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  /** Opens an exec session running `echo`; resolves with the upgrade's request id and the status. */
  const exec = (taskId: string, token: string) =>
    new Promise<{ status: number; requestId: string | null }>((resolve, reject) => {
      const ws = new WebSocket(
        `${cluster.url.replace('http', 'ws')}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?command=true`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      let requestId: string | null = null;
      ws.on('upgrade', (res) => (requestId = (res.headers['x-request-id'] as string | undefined) ?? null));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && (JSON.parse(data.toString()) as { type: string }).type === 'exit')
          resolve({ status: 101, requestId });
      });
      ws.on('unexpected-response', (_req, res) =>
        resolve({ status: res.statusCode ?? 0, requestId: (res.headers['x-request-id'] as string) ?? null }),
      );
      ws.on('error', reject);
    });

  it('an opened session and a refused one each leave a record', async () => {
    await api('POST', '/v2/apps', { id: '/audit/exec', cmd: 'sleep 1000', instances: 1, cpus: 0.1, mem: 32 });
    const [task] = await until(
      'a running task',
      async () =>
        (await api<{ tasks: Array<{ id: string; state: string }> }>('GET', '/v2/apps/audit/exec/tasks'))
          .tasks,
      (ts) => ts.some((t) => t.state === 'TASK_RUNNING'),
    );
    const opened = await exec(task!.id, cluster.token);
    expect(opened.status).toBe(101);
    const refused = await exec('no-such-task', cluster.token);
    expect(refused.status).toBe(404);
    const db = cluster.control.db.pool;
    const rows = await until(
      'both exec records',
      async () =>
        (
          await db.query<{ actor: string; method: string; action: string; target: string; status: number }>(
            `SELECT actor, method, action, target, status FROM audit_records WHERE action LIKE '%/exec' ORDER BY id`,
          )
        ).rows,
      (r) => r.length >= 2,
      10_000,
    );
    expect(rows).toEqual([
      {
        actor: 'admin',
        method: 'GET',
        action: 'GET /api/v1/tasks/:taskId/exec',
        target: task!.id,
        status: 101,
      },
      {
        actor: 'admin',
        method: 'GET',
        action: 'GET /api/v1/tasks/:taskId/exec',
        target: 'no-such-task',
        status: 404,
      },
    ]);
    if (refused.requestId) {
      const { rowCount } = await db.query('SELECT 1 FROM audit_records WHERE request_id = $1', [
        refused.requestId,
      ]);
      expect(rowCount).toBe(1);
    }
  }, 120_000);
});
