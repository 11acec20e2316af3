import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { agentJoined, restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const IMAGE = TEST_IMAGE;
const skip = await skipWithoutDocker('cluster tests');

interface Task {
  id: string;
  state: string;
  host: string;
  ports: number[];
  startedAt: string | null;
}

/** Control + real PostgreSQL + a real agent process + the real Docker Engine. */
describe.skipIf(skip)('a cluster with one docker agent', () => {
  let cluster: TestCluster;
  const docker = new Docker();
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const tasksOf = async (appId: string) =>
    (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks;
  const containersOf = async (appId: string) =>
    docker.listContainers({ all: false, filters: { label: [`io.atoll.app-id=${appId}`] } });

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true });
    await agentJoined(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const app = {
    id: '/it/web',
    instances: 3,
    cpus: 0.1,
    mem: 32,
    cmd: 'httpd -f -p 8080 -h /',
    container: {
      type: 'DOCKER',
      docker: { image: IMAGE },
      portMappings: [{ containerPort: 8080, hostPort: 0 }],
    },
    networks: [{ mode: 'container/bridge' }],
  };

  it('deploys 3 instances that answer on their published ports', async () => {
    await api('POST', '/v2/apps', app);
    const tasks = await until(
      '3 running tasks',
      () => tasksOf(app.id),
      (t) => t.length === 3 && t.every((x) => x.state === 'TASK_RUNNING'),
    );
    expect(new Set(tasks.map((t) => t.ports[0])).size).toBe(3);
    expect(await containersOf(app.id)).toHaveLength(3);
    const res = await fetch(`http://127.0.0.1:${tasks[0]!.ports[0]}/`);
    expect(res.status).toBeLessThan(500);
    const { app: view } = await api<{ app: { tasksRunning: number; deployments: unknown[] } }>(
      'GET',
      `/v2/apps${app.id}`,
    );
    expect(view.tasksRunning).toBe(3);
    await until(
      'the deployment to finish',
      () => api<unknown[]>('GET', '/v2/deployments'),
      (d) => d.length === 0,
    );
  });

  it('gives each task Marathon environment variables', async () => {
    const [c] = await containersOf(app.id);
    const env = (await docker.getContainer(c!.Id).inspect()).Config.Env;
    expect(env).toEqual(
      expect.arrayContaining([
        `MARATHON_APP_ID=${app.id}`,
        expect.stringMatching(/^PORT0=\d+$/),
        expect.stringMatching(/^HOST=/),
      ]),
    );
  });

  it('scales down to 2', async () => {
    await api('PUT', `/v2/apps${app.id}`, { instances: 2 });
    await until(
      '2 tasks',
      () => tasksOf(app.id),
      (t) => t.length === 2 && t.every((x) => x.state === 'TASK_RUNNING'),
    );
    await until(
      '2 containers',
      () => containersOf(app.id),
      (c) => c.length === 2,
    );
  });

  it('replaces a container killed behind the agent’s back', async () => {
    const before = await tasksOf(app.id);
    const [victim] = await containersOf(app.id);
    const victimTask = victim!.Labels['io.atoll.task-id'];
    await docker.getContainer(victim!.Id).kill();
    const after = await until(
      'a replacement task',
      () => tasksOf(app.id),
      (t) =>
        t.length === 2 && t.every((x) => x.state === 'TASK_RUNNING') && !t.some((x) => x.id === victimTask),
    );
    expect(after.filter((t) => before.some((b) => b.id === t.id))).toHaveLength(1);
  });

  it('re-adopts running tasks after the agent restarts, without restarting them', async () => {
    const before = await tasksOf(app.id);
    const containersBefore = await containersOf(app.id);
    await cluster.agent!.stop();
    await cluster.startAgent();
    await until(
      'the agent to reconnect',
      () => api<Array<{ connected: boolean; lastHeartbeatAt: string }>>('GET', '/api/v1/nodes'),
      (n) => n[0]!.connected,
    );
    // Give control a moment to process the hello; then nothing may have changed.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await tasksOf(app.id);
    expect(after.map((t) => t.id).sort()).toEqual(before.map((t) => t.id).sort());
    expect(after.every((t) => t.state === 'TASK_RUNNING')).toBe(true);
    const containersAfter = await containersOf(app.id);
    expect(containersAfter.map((c) => c.Id).sort()).toEqual(containersBefore.map((c) => c.Id).sort());
  });

  it('an app that does not fit says why', async () => {
    await api('POST', '/v2/apps', {
      id: '/it/huge',
      cmd: 'sleep 100',
      cpus: 4096,
      mem: 16,
      container: { docker: { image: IMAGE } },
    });
    const view = await until(
      'a placement issue',
      () =>
        api<Array<{ id: string; atoll: { placementIssue: string | null; status: string } }>>(
          'GET',
          '/api/v1/apps',
        ),
      (apps) => !!apps.find((a) => a.id === '/it/huge')?.atoll.placementIssue,
    );
    const huge = view.find((a) => a.id === '/it/huge')!;
    expect(huge.atoll.status).toBe('Waiting');
    expect(huge.atoll.placementIssue).toMatch(/needs 4096 cpus, largest free is/);
    // Its start deployment never finishes, so deleting it needs force (Marathon's lock).
    await api('DELETE', '/v2/apps/it/huge?force=true');
  });

  it('runs a pod: two containers sharing a volume and a network, ports published once', async () => {
    const pod = {
      id: '/it/pod',
      scaling: { kind: 'fixed', instances: 1 },
      networks: [{ mode: 'container/bridge' }],
      volumes: [{ name: 'shared' }],
      containers: [
        {
          name: 'writer',
          resources: { cpus: 0.05, mem: 16 },
          image: { kind: 'DOCKER', id: IMAGE },
          exec: { command: { shell: 'while true; do echo from-writer > data/index.html; sleep 1; done' } },
          volumeMounts: [{ name: 'shared', mountPath: 'data' }],
        },
        {
          name: 'web',
          resources: { cpus: 0.05, mem: 16 },
          exec: { command: { shell: 'exec httpd -f -p 8080 -h data' } },
          endpoints: [{ name: 'http', containerPort: 8080, hostPort: 0 }],
          volumeMounts: [{ name: 'shared', mountPath: 'data' }],
        },
      ],
    };
    const created = await fetch(`${cluster.url}/v2/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(pod),
    });
    expect(created.status).toBe(201);
    const status = await until(
      'the pod instance to run',
      () => api<{ instances: Array<{ status: string }> }>('GET', '/v2/pods/it/pod::status'),
      (st) => st.instances.length === 1 && st.instances[0]!.status === 'STABLE',
    );
    expect(status.instances).toHaveLength(1);
    const { tasks } = await api<{ tasks: Array<{ ports: number[] }> }>('GET', '/v2/apps/it/pod/tasks');
    const body = await until(
      'the web container to serve what the writer wrote',
      async () => {
        const res = await fetch(`http://127.0.0.1:${tasks[0]!.ports[0]}/`, {
          signal: AbortSignal.timeout(2000),
        }).catch(() => null);
        return res?.ok ? await res.text() : '';
      },
      (t) => t.includes('from-writer'),
    );
    expect(body.trim()).toBe('from-writer');
    expect(await docker.listContainers({ filters: { label: ['io.atoll.app-id=/it/pod'] } })).toHaveLength(2);
    await api('DELETE', '/v2/pods/it/pod?force=true');
    await until(
      'no running pod container',
      () => docker.listContainers({ filters: { label: ['io.atoll.app-id=/it/pod'] } }),
      (c) => c.length === 0,
      60_000,
    );
  });

  it('deleting the app leaves no container', async () => {
    await api('DELETE', `/v2/apps${app.id}`);
    await until(
      'the app to be gone',
      async () =>
        (
          await fetch(`${cluster.url}/v2/apps${app.id}`, {
            headers: { authorization: `Bearer ${cluster.token}` },
          })
        ).status,
      (s) => s === 404,
    );
    await until(
      'no container',
      () => containersOf(app.id),
      (c) => c.length === 0,
    );
  });
});
