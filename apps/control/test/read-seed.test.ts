import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDefinition, seedApps } from '../../../bench/lib/seed-apps';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, until } from './support';

const skip = await skipWithoutDocker('read-seed test');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * What differs by nature between two apps of the same definition: ids, versions, times, nodes and
 * host ports. Replaced by a placeholder of their type; everything else must be equal.
 */
const VARYING = new Set([
  'id',
  'appId',
  'version',
  'lastScalingAt',
  'lastConfigChangeAt',
  'stagedAt',
  'startedAt',
  'slaveId',
  'agentId',
  'host',
  'hostPort',
  'ports',
]);
function normalise(v: Json, key = ''): Json {
  if (VARYING.has(key)) return Array.isArray(v) ? v.map((x) => typeof x) : typeof v;
  if (Array.isArray(v)) return v.map((x) => normalise(x));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x, k)]));
  return v;
}

/**
 * bench:reads seeds apps and RUNNING tasks straight into the database (bench/lib/seed-apps.ts).
 * Its figures mean something only if the API serves those rows exactly as it serves an app
 * deployed through a real agent: same fields, same values, same derived status.
 */
describe.skipIf(skip)('seeded apps read like deployed ones', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const definition = (id: string) => ({ ...defaultDefinition(7, 2), id });

  beforeAll(async () => {
    // A long heartbeat timeout: the seeded node has no agent behind it.
    cluster = await startTestCluster({ agent: true, heartbeatTimeoutMs: 3600_000 });
    await api('POST', '/v2/apps', definition('/deployed/web'));
    await until(
      'the deployed app RUNNING with no deployment',
      () => api<{ app: { tasksRunning: number; deployments: unknown[] } }>('GET', '/v2/apps/deployed/web'),
      ({ app }) => app.tasksRunning === 2 && app.deployments.length === 0,
    );
    await seedApps(cluster.control.db.pool, {
      apps: 1,
      instances: 2,
      nodes: 1,
      definition: () => definition('/seeded/web'),
    });
  });
  afterAll(async () => {
    await cluster?.control.db.pool.query(`DELETE FROM apps WHERE id = '/seeded/web'`);
    await cluster?.stop();
  });

  it('GET /v2/apps/{id}, /v2/apps?embed=apps.tasks and /v2/tasks', async () => {
    const one = (id: string) => api<{ app: Json }>('GET', `/v2/apps${id}`);
    const deployed = (await one('/deployed/web')).app;
    const seeded = (await one('/seeded/web')).app;
    expect(normalise(seeded)).toEqual(normalise(deployed));
    expect(seeded).toMatchObject({ id: '/seeded/web', tasksRunning: 2, tasksHealthy: 0, deployments: [] });

    const { apps } = await api<{ apps: Array<{ id: string } & Record<string, Json>> }>(
      'GET',
      '/v2/apps?embed=apps.tasks',
    );
    const byId = new Map(apps.map((a) => [a.id, a]));
    expect(normalise(byId.get('/seeded/web')!)).toEqual(normalise(byId.get('/deployed/web')!));

    const { tasks } = await api<{ tasks: Array<{ appId: string; id: string } & Record<string, Json>> }>(
      'GET',
      '/v2/tasks',
    );
    const deployedTask = tasks.find((t) => t.appId === '/deployed/web')!;
    const seededTask = tasks.find((t) => t.appId === '/seeded/web')!;
    expect(normalise(seededTask)).toEqual(normalise(deployedTask));
    // Task ids as the reconciler makes them.
    expect(seededTask.id).toMatch(/^seeded_web\.[0-9a-f-]{36}$/);
  });

  it("the console's apps.list and nodes.list", async () => {
    const apps = await api<Array<{ id: string } & Record<string, Json>>>('GET', '/api/v1/apps');
    const byId = new Map(apps.map((a) => [a.id, a]));
    expect(normalise(byId.get('/seeded/web')!)).toEqual(normalise(byId.get('/deployed/web')!));
    const nodes = await api<Array<{ hostname: string; tasks: number; allocated: { cpus: number } }>>(
      'GET',
      '/api/v1/nodes',
    );
    const seededNode = nodes.find((n) => n.hostname.startsWith('seed-'))!;
    expect(seededNode).toMatchObject({ tasks: 2, allocated: { cpus: 0.02 } });
  });
});
