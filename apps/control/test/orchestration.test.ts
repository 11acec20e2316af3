import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const IMAGE = TEST_IMAGE;
const skip = await skipWithoutDocker('orchestration tests');

interface Task {
  id: string;
  state: string;
  host: string;
  ports: number[];
  slaveId: string;
  version: string;
  healthCheckResults: Array<{ alive: boolean }>;
}

/** Marathon semantics with three real agents (separate processes, hostnames and port ranges). */
describe.skipIf(skip)('orchestration across three agents', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const tasksOf = async (appId: string) =>
    (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks;
  const nodes = () =>
    api<Array<{ id: string; hostname: string; connected: boolean; status: string }>>('GET', '/api/v1/nodes');
  const noDeployments = () =>
    until(
      'no deployment',
      () => api<unknown[]>('GET', '/v2/deployments'),
      (d) => d.length === 0,
    );
  const webApp = (id: string, instances: number, body: string, extra: Record<string, unknown> = {}) => ({
    id,
    instances,
    cpus: 0.05,
    mem: 16,
    cmd: `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 8080 -h /www`,
    container: {
      type: 'DOCKER',
      docker: { image: IMAGE },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
    },
    networks: [{ mode: 'container/bridge' }],
    ...extra,
  });
  const httpCheck = {
    protocol: 'HTTP',
    path: '/',
    portIndex: 0,
    gracePeriodSeconds: 10,
    intervalSeconds: 1,
    timeoutSeconds: 1,
    maxConsecutiveFailures: 3,
    delaySeconds: 0,
  };

  beforeAll(async () => {
    cluster = await startTestCluster({
      agents: [
        { hostname: 'node-a', attributes: { rack: 'r1' } },
        { hostname: 'node-b', attributes: { rack: 'r1' } },
        { hostname: 'node-c', attributes: { rack: 'r2' } },
      ],
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 3000,
    });
    await until('three agents', nodes, (n) => n.length === 3 && n.every((x) => x.connected));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('hostname:UNIQUE puts one task per node and explains the fourth', async () => {
    await api('POST', '/v2/apps', {
      id: '/orch/unique',
      cmd: 'sleep 600',
      cpus: 0.01,
      mem: 8,
      instances: 3,
      constraints: [['hostname', 'UNIQUE']],
    });
    const tasks = await until(
      '3 running',
      () => tasksOf('/orch/unique'),
      (t) => t.filter((x) => x.state === 'TASK_RUNNING').length === 3,
    );
    expect(new Set(tasks.map((t) => t.slaveId)).size).toBe(3);
    await noDeployments();
    await api('PUT', '/v2/apps/orch/unique', { instances: 4 });
    const queue = await until(
      'a queue entry',
      // Atoll's reasons are in /api/v1/queue (/v2/queue keeps to Marathon's fields).
      () =>
        api<
          Array<{
            app: { id: string };
            count: number;
            atoll: { placementIssue: string | null; excluded: Array<{ hostname: string; reason: string }> };
          }>
        >('GET', '/api/v1/queue'),
      (q) => !!q.find((e) => e.app.id === '/orch/unique')?.atoll.placementIssue,
    );
    const entry = queue.find((e) => e.app.id === '/orch/unique')!;
    expect(entry.count).toBe(1);
    expect(entry.atoll.placementIssue).toMatch(/hostname:UNIQUE/);
    // Each node is named with the constraint that excluded it.
    expect(entry.atoll.excluded.map((e) => e.hostname).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    expect(new Set(entry.atoll.excluded.map((e) => e.reason))).toEqual(
      new Set(['constraint hostname:UNIQUE']),
    );
    await api('DELETE', '/v2/apps/orch/unique?force=true');
  });

  it('a rolling upgrade of 4 instances never drops below minimumHealthCapacity healthy', async () => {
    const id = '/orch/rolling';
    const strategy = {
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
      healthChecks: [httpCheck],
    };
    await api('POST', '/v2/apps', webApp(id, 4, 'v1', strategy));
    await noDeployments();
    const before = await tasksOf(id);
    expect(before.every((t) => t.healthCheckResults[0]?.alive === true)).toBe(true);
    await api('PUT', `/v2/apps${id}`, webApp(id, 4, 'v2', strategy));
    // Sample while the deployment runs: never fewer than 2 healthy, never more than 4 tasks.
    let samples = 0;
    for (;;) {
      const [tasks, deployments] = await Promise.all([tasksOf(id), api<unknown[]>('GET', '/v2/deployments')]);
      const healthy = tasks.filter(
        (t) => t.state === 'TASK_RUNNING' && t.healthCheckResults[0]?.alive === true,
      ).length;
      expect(healthy).toBeGreaterThanOrEqual(2);
      samples++;
      if (deployments.length === 0) break;
      if (samples > 2000) throw new Error('the deployment did not finish');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(samples).toBeGreaterThan(1);
    const after = await tasksOf(id);
    expect(after).toHaveLength(4);
    expect(after.every((t) => !before.some((b) => b.id === t.id))).toBe(true);
    const body = await (
      await fetch(`http://127.0.0.1:${after[0]!.ports[0]}/`, { signal: AbortSignal.timeout(5000) })
    ).text();
    expect(body.trim()).toBe('v2');
  });

  it('cancelling a deployment rolls the app back', async () => {
    const id = '/orch/rolling';
    const { versions } = await api<{ versions: string[] }>('GET', `/v2/apps${id}/versions`);
    // New tasks never become healthy (404), and a full health floor keeps the old ones.
    await api(
      'PUT',
      `/v2/apps${id}`,
      webApp(id, 4, 'v3', {
        upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
        healthChecks: [{ ...httpCheck, path: '/nope', maxConsecutiveFailures: 0 }],
      }),
    );
    const [deployment] = await until(
      'a deployment',
      () => api<Array<{ id: string }>>('GET', '/v2/deployments'),
      (d) => d.length === 1,
    );
    const locked = await fetch(`${cluster.url}/v2/apps${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 5 }),
    });
    expect(locked.status).toBe(409);
    const rollback = await api<{ deploymentId: string; version: string }>(
      'DELETE',
      `/v2/deployments/${deployment!.id}`,
    );
    expect(rollback.deploymentId).not.toBe(deployment!.id);
    await noDeployments();
    const { app } = await api<{ app: { cmd: string; healthChecks: Array<{ path: string }> } }>(
      'GET',
      `/v2/apps${id}`,
    );
    expect(app.cmd).toContain('v2');
    expect(app.healthChecks[0]?.path).toBe('/');
    const tasks = await tasksOf(id);
    expect(tasks).toHaveLength(4);
    const { versions: now } = await api<{ versions: string[] }>('GET', `/v2/apps${id}/versions`);
    expect(now.length).toBe(versions.length + 2);
    await api('DELETE', `/v2/apps${id}?force=true`);
  });

  it('an unhealthy task is killed and replaced', async () => {
    const id = '/orch/sick';
    // Healthy while /www/ok exists; the test removes it from one container.
    await api('POST', '/v2/apps', {
      ...webApp(id, 1, 'ok'),
      cmd: 'mkdir -p /www && echo ok > /www/ok && exec httpd -f -p 8080 -h /www',
      healthChecks: [{ ...httpCheck, path: '/ok', gracePeriodSeconds: 1, maxConsecutiveFailures: 2 }],
    });
    const [task] = await until(
      'a healthy task',
      () => tasksOf(id),
      (t) => t.length === 1 && t[0]!.healthCheckResults[0]?.alive === true,
    );
    const docker = new Docker();
    const [container] = await docker.listContainers({ filters: { label: [`io.atoll.task-id=${task!.id}`] } });
    const exec = await docker.getContainer(container!.Id).exec({ Cmd: ['rm', '/www/ok'] });
    await exec.start({});
    const replaced = await until(
      'a healthy replacement',
      () => tasksOf(id),
      (t) => t.length === 1 && t[0]!.id !== task!.id && t[0]!.healthCheckResults[0]?.alive === true,
    );
    expect(replaced[0]!.id).not.toBe(task!.id);
    const events = await api<Array<{ type: string }>>(
      'GET',
      `/api/v1/events?subject=${encodeURIComponent(id)}&limit=200`,
    );
    expect(events.map((e) => e.type)).toContain('unhealthy_task_kill_event');
    await api('DELETE', `/v2/apps${id}?force=true`);
  });

  it('a SIGKILLed agent’s tasks are replaced elsewhere; when it returns the surplus is killed', async () => {
    const id = '/orch/failover';
    await api('POST', '/v2/apps', {
      id,
      cmd: 'sleep 600',
      cpus: 0.01,
      mem: 8,
      instances: 3,
      constraints: [['hostname', 'MAX_PER', '2']],
      container: { docker: { image: IMAGE } },
    });
    await noDeployments();
    const all = await nodes();
    const victimNode = all.find((n) => n.hostname === 'node-a')!;
    const before = await tasksOf(id);
    const onVictim = before.filter((t) => t.slaveId === victimNode.id);
    await cluster.stopAgent(0, 'SIGKILL');
    await until(
      'node-a unreachable',
      nodes,
      (n) => n.find((x) => x.id === victimNode.id)?.status === 'UNREACHABLE',
    );
    const after = await until(
      '3 running tasks without node-a',
      () => tasksOf(id),
      (t) => t.filter((x) => x.state === 'TASK_RUNNING' && x.slaveId !== victimNode.id).length === 3,
    );
    expect(
      after.filter((t) => t.state === 'TASK_RUNNING' && onVictim.some((v) => v.id === t.id)),
    ).toHaveLength(0);
    await cluster.startAgent(0);
    await until('node-a back', nodes, (n) => n.find((x) => x.id === victimNode.id)?.connected === true);
    // Its old containers are killed (expunged tasks), and the count stays right.
    const docker = new Docker();
    await until(
      'no container of the expunged tasks',
      async () => {
        const running = await docker.listContainers({
          filters: { label: [`io.atoll.node-id=${victimNode.id}`, `io.atoll.app-id=${id}`] },
        });
        return running.filter((c) => onVictim.some((v) => v.id === c.Labels['io.atoll.task-id'])).length;
      },
      (n) => n === 0,
    );
    const final = await until(
      '3 tasks',
      () => tasksOf(id),
      (t) => t.filter((x) => x.state === 'TASK_RUNNING').length === 3,
    );
    expect(final).toHaveLength(3);
    await api('DELETE', `/v2/apps${id}?force=true`);
  });
});
