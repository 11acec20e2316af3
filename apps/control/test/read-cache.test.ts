import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDefinition, seedApps } from '../../../bench/lib/seed-apps';
import { ReadCache } from '../src/routes/read-cache';
import { startTestCluster, type TestCluster } from '../src/testing';
import { until } from './support';

interface Read {
  status: number;
  hit: boolean;
  body: string;
}

/**
 * The rendered cache of `GET /v2/apps` and `GET /v2/tasks` (routes/read-cache.ts) on a real
 * control and PostgreSQL: a repeated read is served from it, and any committed write, by any
 * writer, is seen by the next read.
 */
describe('rendered list reads', () => {
  let cluster: TestCluster;
  let scopedToken: string;
  const get = async (path: string, token = cluster.token): Promise<Read> => {
    const res = await fetch(cluster.url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, hit: res.headers.get('x-atoll-cache') === 'hit', body: await res.text() };
  };
  /** Reads until one is a hit, and checks that the hit is what the read before it rendered. */
  const hitAfterMiss = async (path: string, token?: string): Promise<Read> => {
    let previous = await get(path, token);
    return until(
      `a cached read of ${path}`,
      async () => {
        const r = await get(path, token);
        const before = previous;
        previous = r;
        return { r, before };
      },
      ({ r, before }) => r.hit && r.body === before.body,
      20_000,
    ).then(({ r }) => r);
  };
  const apps = (r: Read) =>
    (JSON.parse(r.body) as { apps: Array<{ id: string; instances: number; tasksUnhealthy: number }> }).apps;

  beforeAll(async () => {
    // No agent: seeded nodes with a day's heartbeat timeout keep their RUNNING tasks as seeded.
    cluster = await startTestCluster({ agent: false, heartbeatTimeoutMs: 24 * 3600_000 });
    await seedApps(cluster.control.db.pool, {
      apps: 4,
      instances: 2,
      nodes: 1,
      definition: (i) => ({ ...defaultDefinition(i, 2), id: `/team-${i < 2 ? 'a' : 'b'}/web-${i}` }),
    });
    const prisma = cluster.control.db.prisma;
    const user = await prisma.user.create({
      data: {
        username: 'cache-scoped',
        role: 'operator',
        scope: '/team-a',
        kind: 'user',
        passwordHash: 'unused',
      },
    });
    scopedToken = `tok_cache_${randomUUID()}`;
    await prisma.apiToken.create({
      data: {
        name: 'cache',
        tokenHash: createHash('sha256').update(scopedToken).digest('hex'),
        userId: user.id,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves a repeated read from the cache and sees a write made straight in the database', async () => {
    const cached = await hitAfterMiss('/v2/apps');
    expect(apps(cached).map((a) => a.tasksUnhealthy)).toEqual([0, 0, 0, 0]);

    // What an agent's health batch (or another replica) writes, behind this control's back.
    await cluster.control.db.pool.query(
      `UPDATE tasks SET healthy = false WHERE id = (SELECT id FROM tasks WHERE app_id = '/team-b/web-3' LIMIT 1)`,
    );
    const after = await get('/v2/apps');
    expect(after.hit).toBe(false);
    expect(apps(after).find((a) => a.id === '/team-b/web-3')!.tasksUnhealthy).toBe(1);
    expect((await hitAfterMiss('/v2/apps')).body).toBe(after.body);
  });

  it('sees a change made through the API at once', async () => {
    await hitAfterMiss('/v2/apps');
    const res = await fetch(`${cluster.url}/v2/apps/team-a/web-0`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 0 }),
    });
    expect(res.status).toBe(200);
    const after = await get('/v2/apps');
    expect(after.hit).toBe(false);
    expect(apps(after).find((a) => a.id === '/team-a/web-0')!.instances).toBe(0);
  });

  it('keeps each scope its own answer', async () => {
    const scoped = await hitAfterMiss('/v2/apps', scopedToken);
    expect(apps(scoped).map((a) => a.id)).toEqual(['/team-a/web-0', '/team-a/web-1']);
    const all = await hitAfterMiss('/v2/apps');
    expect(apps(all).map((a) => a.id)).toEqual([
      '/team-a/web-0',
      '/team-a/web-1',
      '/team-b/web-2',
      '/team-b/web-3',
    ]);
    // Different queries are different answers.
    const filtered = await get('/v2/apps?id=web-2');
    expect(apps(filtered).map((a) => a.id)).toEqual(['/team-b/web-2']);
  });

  it('serves /v2/tasks the same way', async () => {
    const cached = await hitAfterMiss('/v2/tasks');
    const tasks = (JSON.parse(cached.body) as { tasks: Array<{ id: string; state: string }> }).tasks;
    expect(tasks.length).toBeGreaterThan(0);
    const victim = tasks.find((t) => t.state === 'TASK_RUNNING')!;
    await cluster.control.db.pool.query(
      `UPDATE tasks SET started_at = '2020-01-01T00:00:00Z' WHERE id = $1`,
      [victim.id],
    );
    const after = await get('/v2/tasks');
    expect(after.hit).toBe(false);
    const changed = (JSON.parse(after.body) as { tasks: Array<{ id: string; startedAt: string | null }> })
      .tasks;
    expect(changed.find((t) => t.id === victim.id)!.startedAt).toBe('2020-01-01T00:00:00.000Z');
  });

  it('drops an answer when its time runs out, and renders concurrent misses once', async () => {
    const cache = new ReadCache(cluster.control.db.pool, ['apps']);
    let clock = 1_000;
    let renders = 0;
    const render = async () => {
      renders++;
      await new Promise((r) => setTimeout(r, 50));
      return { body: `rendered ${renders}`, validUntil: 2_000 };
    };
    const first = await Promise.all(Array.from({ length: 5 }, () => cache.read('k', () => clock, render)));
    expect(first.map((r) => r.body)).toEqual(Array(5).fill('rendered 1'));
    expect(renders).toBe(1);
    clock = 1_999;
    expect(await cache.read('k', () => clock, render)).toEqual({ body: 'rendered 1', hit: true });
    clock = 2_000;
    expect(await cache.read('k', () => clock, render)).toEqual({ body: 'rendered 2', hit: false });
    // Over its budget, the least recently rendered answer goes first.
    const small = new ReadCache(cluster.control.db.pool, ['apps'], 20);
    const body = (text: string) => async () => ({ body: text });
    await small.read('a', () => clock, body('a'.repeat(15)));
    expect((await small.read('a', () => clock, body('unused'))).hit).toBe(true);
    await small.read('b', () => clock, body('b'.repeat(15)));
    expect((await small.read('b', () => clock, body('unused'))).hit).toBe(true);
    expect(await small.read('a', () => clock, body('a again'))).toEqual({ body: 'a again', hit: false });
    // A failed rendering is not kept: the next read renders again.
    const failing = async (): Promise<{ body: string }> => {
      throw new Error('boom');
    };
    await expect(cache.read('other', () => clock, failing)).rejects.toThrow('boom');
    expect(
      await cache.read(
        'other',
        () => clock,
        async () => ({ body: 'ok' }),
      ),
    ).toEqual({ body: 'ok', hit: false });
  });
});
