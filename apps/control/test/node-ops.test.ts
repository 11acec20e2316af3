import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('node operations tests');

interface Task {
  id: string;
  state: string;
  slaveId: string;
}
interface Node {
  id: string;
  hostname: string;
  connected: boolean;
  mode: string;
  drain: { total: number; remaining: number; blocked: string | null } | null;
  attributes: Record<string, string>;
  resources: { cpus: number; memMb: number };
  reserved: { cpus: number; memMb: number };
  tasks: number;
}

/** Drain, maintenance, decommission, attributes and reservation with three real agents. */
describe.skipIf(skip)('node operations', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const raw = (method: string, p: string, body?: unknown) =>
    fetch(cluster.url + p, {
      method,
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
  const tasksOf = async (appId: string) =>
    (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks;
  const nodes = () => api<Node[]>('GET', '/api/v1/nodes');
  const node = (id: string) => api<Node>('GET', `/api/v1/nodes/${id}`);
  const app = (id: string, instances: number, extra: Record<string, unknown> = {}) => ({
    id,
    instances,
    cpus: 0.05,
    mem: 16,
    cmd: 'exec sleep 3600',
    container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    taskKillGracePeriodSeconds: 1,
    ...extra,
  });
  const running = (appId: string, n: number) =>
    until(
      `${n} running tasks of ${appId}`,
      () => tasksOf(appId),
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === n,
    );

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: 3 });
    await until('3 connected nodes', nodes, (ns) => ns.filter((n) => n.connected).length === 3);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('a drain moves every task off the node, one at a time, and none comes back', async () => {
    await api('POST', '/v2/apps', app('/drain/web', 6));
    const before = await running('/drain/web', 6);
    const counts = new Map<string, number>();
    for (const t of before) counts.set(t.slaveId, (counts.get(t.slaveId) ?? 0) + 1);
    const [target] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
    expect(counts.get(target)).toBeGreaterThan(1);

    const drained = await api<Node>('POST', `/api/v1/nodes/${target}/drain`, {});
    expect(drained.mode).toBe('DRAINING');
    expect(drained.drain?.total).toBe(counts.get(target));

    // Sample while it drains: never two of the node's tasks are being killed at once.
    let maxKilling = 0;
    let seen: Node;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ts = await tasksOf('/drain/web');
      const killing = ts.filter((t) => t.slaveId === target && t.state === 'TASK_KILLING').length;
      maxKilling = Math.max(maxKilling, killing);
      seen = await node(target);
      if (seen.mode === 'DRAINED') break;
      if (Date.now() > deadline) throw new Error(`drain did not finish: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(maxKilling).toBeLessThanOrEqual(1);
    expect(seen.drain).toMatchObject({ remaining: 0 });
    const after = await running('/drain/web', 6);
    expect(after.filter((t) => t.slaveId === target)).toEqual([]);

    // Several reconcile passes later (and after a scale-up), still nothing on the drained node.
    await api('PUT', '/v2/apps/drain/web?force=true', { instances: 8 });
    await running('/drain/web', 8);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await tasksOf('/drain/web')).filter((t) => t.slaveId === target)).toEqual([]);

    // Undrain: the node takes tasks again.
    expect((await api<Node>('POST', `/api/v1/nodes/${target}/undrain`, {})).mode).toBe('ACTIVE');
    await api('DELETE', '/v2/apps/drain/web?force=true');
  }, 240_000);

  it('maintenance keeps the tasks and places nothing new there', async () => {
    await api('POST', '/v2/apps', app('/maint/web', 3, { constraints: [['hostname', 'UNIQUE']] }));
    const tasks = await running('/maint/web', 3);
    const target = tasks[0]!.slaveId;
    expect((await api<Node>('POST', `/api/v1/nodes/${target}/maintenance`, { on: true })).mode).toBe(
      'MAINTENANCE',
    );
    // Kill the task elsewhere: its replacement may not land on the maintenance node (UNIQUE leaves
    // only the node it came from), and the maintenance node's own task keeps running.
    const other = tasks.find((t) => t.slaveId !== target)!;
    await api('DELETE', `/v2/apps/maint/web/tasks/${encodeURIComponent(other.id)}`);
    const now = await running('/maint/web', 3);
    expect(now.find((t) => t.id === tasks[0]!.id)?.state).toBe('TASK_RUNNING');
    await api('PUT', '/v2/apps/maint/web?force=true', { instances: 4 });
    await new Promise((r) => setTimeout(r, 3_000));
    const queued = await api<{ queue: Array<{ app: { id: string }; count: number }> }>('GET', '/v2/queue');
    expect(queued.queue.find((q) => q.app.id === '/maint/web')?.count).toBe(1);
    expect((await api<Node>('POST', `/api/v1/nodes/${target}/maintenance`, { on: false })).mode).toBe(
      'ACTIVE',
    );
    await api('DELETE', '/v2/apps/maint/web?force=true');
  }, 180_000);

  it('attributes set later are used by constraints; bad keys are refused with the field', async () => {
    const [, , third] = (await nodes()).sort((a, b) => a.hostname.localeCompare(b.hostname));
    const labelled = await api<Node>('POST', `/api/v1/nodes/${third!.id}/attributes`, {
      set: { rack: 'r2' },
    });
    expect(labelled.attributes).toMatchObject({ rack: 'r2' });
    await api('POST', '/v2/apps', app('/attrs/web', 2, { constraints: [['rack', 'CLUSTER', 'r2']] }));
    const ts = await running('/attrs/web', 2);
    expect(new Set(ts.map((t) => t.slaveId))).toEqual(new Set([third!.id]));
    await api('DELETE', '/v2/apps/attrs/web?force=true');

    // The key's rule is in the document's schema: a 400 naming the key, before the service.
    const bad = await raw('POST', `/api/v1/nodes/${third!.id}/attributes`, { set: { 'bad key!': 'x' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('set.bad key!');
  }, 120_000);

  it('a reservation is never offered; a reservation above the node is refused', async () => {
    const [, , third] = (await nodes()).sort((a, b) => a.hostname.localeCompare(b.hostname));
    const res = await raw('POST', `/api/v1/nodes/${third!.id}/reservation`, {
      cpus: third!.resources.cpus + 1,
      memMb: 0,
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('cpus');
    const reserved = await api<Node>('POST', `/api/v1/nodes/${third!.id}/reservation`, {
      cpus: third!.resources.cpus - 0.1,
      memMb: 0,
    });
    expect(reserved.reserved.cpus).toBeCloseTo(third!.resources.cpus - 0.1);
    // 0.5 CPU would fit the node, but not what is left after the reservation.
    await api(
      'POST',
      '/v2/apps',
      app('/reserve/web', 1, { cpus: 0.5, constraints: [['rack', 'CLUSTER', 'r2']] }),
    );
    const waiting = await until(
      'placement issue',
      async () =>
        (
          await api<Array<{ app: { id: string }; atoll: { placementIssue: string | null } }>>(
            'GET',
            '/api/v1/queue',
          )
        ).find((q) => q.app.id === '/reserve/web'),
      (q) => Boolean(q?.atoll.placementIssue),
      30_000,
    );
    expect(waiting?.atoll.placementIssue).toMatch(/cpu/i);
    await api('POST', `/api/v1/nodes/${third!.id}/reservation`, { cpus: 0, memMb: 0 });
    await running('/reserve/web', 1);
    await api('DELETE', '/v2/apps/reserve/web?force=true');
  }, 120_000);

  it('decommission replaces the tasks elsewhere and refuses the agent afterwards', async () => {
    // The earlier tests' apps are deleted first: their tasks, while being killed, would count as replaced.
    await until(
      'earlier apps gone',
      () => api<{ apps: unknown[] }>('GET', '/v2/apps'),
      (x) => x.apps.length === 0,
    );
    await api('POST', '/v2/apps', app('/decom/web', 3, { constraints: [['hostname', 'UNIQUE']] }));
    const before = await running('/decom/web', 3);
    const target = before[0]!.slaveId;
    const index = await (async () => {
      for (let i = 0; i < 3; i++) if ((await cluster.nodeIdOf(i)) === target) return i;
      throw new Error('no agent for the node');
    })();
    // Two nodes left for three UNIQUE tasks: one stays queued, two run elsewhere.
    await api('PUT', '/v2/apps/decom/web?force=true', { instances: 2 });
    await running('/decom/web', 2);
    const r = await api<{ tasksReplaced: number }>('POST', `/api/v1/nodes/${target}/decommission`, {});
    expect(r.tasksReplaced).toBeLessThanOrEqual(1);
    const after = await running('/decom/web', 2);
    expect(after.filter((t) => t.slaveId === target)).toEqual([]);
    expect((await nodes()).map((n) => n.id)).not.toContain(target);

    // The agent (restarted with its stored credential) is refused.
    await cluster.startAgent(index);
    await new Promise((r) => setTimeout(r, 3_000));
    const gone = await node(target);
    expect(gone.mode).toBe('DECOMMISSIONED');
    expect(gone.connected).toBe(false);
    await api('DELETE', '/v2/apps/decom/web?force=true');
  }, 180_000);
});
