import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitForNodes, type TestCluster } from '../src/testing';
import { restClient, runPython, skipWithoutDocker, skipWithoutPython, TEST_IMAGE } from './support';

const skip =
  (await skipWithoutDocker('marathon-python tests')) ||
  (await skipWithoutPython(['marathon'], 'marathon-python tests (apt-get install python3-marathon)'));

/** What clients/marathon_python.py prints: each call's result, and the log records it saw. */
interface Report {
  results: Record<string, unknown> & {
    ping: string;
    get_info: { name: string; version: string; elected: boolean; leader: string; http_port: number };
    get_leader: { leader: string };
    get_metrics: { keys: string[]; apps: { value: number } };
    create_app: { id: string; instances: number; deployments: number; container_image: string };
    get_app: {
      id: string;
      tasks_running: number;
      tasks_healthy: number;
      task_stats_running: number;
      labels: Record<string, string>;
      task: {
        state: string;
        host: string;
        ports: number[];
        service_ports: number[];
        slave_id: string;
        alive: boolean[];
      };
    };
    list_apps_filtered: Record<'app_id' | 'cmd' | 'label' | 'label_none', string[]>;
    list_endpoints: Array<{ app_id: string; host: string; task_port: number; service_port: number }>;
    get_version: { env: Record<string, string> };
    list_queue: { app: string; count: number; reasons: string[] };
    list_deployments: { affected_apps: string[]; actions: string[]; current_actions: string[] };
    get_group: { id: string; apps: string[]; groups: string[]; nested_apps: string[] };
    event_stream: {
      types: string[];
      attached: boolean;
      api_post_apps: string[];
      deployment_info_target_apps: string[];
      status_updates: string[];
    };
  };
  records: Array<{ logger: string; level: string; message: string }>;
}

const deploymentResult = ['deploymentId', 'version'];

/**
 * thefactory/marathon-python 0.13 (Debian's python3-marathon), a real third-party Marathon client,
 * against a real control, agent and Docker: every call it offers that Marathon 1.x served, each
 * response read into the client's own models, with no warning logged.
 */
describe.skipIf(skip)('marathon-python drives Atoll', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true });
    await waitForNodes(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers every call in the shapes of the client’s models, with no warning', async () => {
    const script = await readFile(new URL('./clients/marathon_python.py', import.meta.url), 'utf8');
    const run = await runPython(
      script,
      {
        ATOLL_URL: cluster.url,
        ATOLL_TOKEN: cluster.token,
        ATOLL_PASSWORD: cluster.adminPassword,
        TEST_IMAGE,
      },
      540_000,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { results: r, records } = JSON.parse(run.stdout) as Report;
    // No warning or error from the client or Python beyond those of the calls meant to fail.
    expect(records).toEqual([]);

    const [node] = await api<Array<{ id: string; address: string }>>('GET', '/api/v1/nodes');
    const port = new URL(cluster.url).port;

    expect(r.ping).toBe('pong');
    expect(r.get_info).toMatchObject({
      name: 'atoll',
      version: '1.11.0',
      elected: true,
      http_port: Number(port),
    });
    expect(r.get_info.leader).toBe(`127.0.0.1:${port}`);
    expect(r.get_leader).toEqual({ leader: `127.0.0.1:${port}` });
    expect(r.get_metrics.keys).toEqual(['counters', 'gauges', 'histograms', 'meters', 'timers', 'version']);
    expect(r.get_metrics.apps).toEqual({ value: 0 });

    expect(r.create_app).toEqual({
      id: '/mp/web',
      instances: 1,
      deployments: 1,
      container_image: TEST_IMAGE,
    });
    expect(r.get_app).toMatchObject({
      id: '/mp/web',
      tasks_running: 1,
      tasks_healthy: 1,
      task_stats_running: 1,
      labels: { team: 'atoll', tier: 'web' },
    });
    expect(r.get_app.task).toMatchObject({ state: 'TASK_RUNNING', slave_id: node!.id, alive: [true] });
    expect(r.get_app.task.ports).toHaveLength(1);
    // Ports and service ports pair by index (list_endpoints relies on it); Atoll assigns none.
    expect(r.get_app.task.service_ports).toEqual([0]);
    expect(r.list_apps).toEqual(['/mp/web']);
    expect(r.list_apps_embed_tasks).toEqual({ '/mp/web': 1 });
    expect(r.list_apps_filtered).toEqual({
      app_id: ['/mp/web'],
      cmd: ['/mp/web'],
      label: ['/mp/web'],
      label_none: [],
    });
    expect(r.list_tasks).toEqual([expect.objectContaining({ app_id: '/mp/web', state: 'TASK_RUNNING' })]);
    expect(r.list_tasks_app).toHaveLength(1);
    expect(r.list_endpoints).toEqual([
      { app_id: '/mp/web', host: r.get_app.task.host, task_port: r.get_app.task.ports[0], service_port: 0 },
    ]);

    for (const call of [
      'update_app',
      'scale_app',
      'scale_app_delta',
      'restart_app',
      'rollback_app',
      'update_apps',
    ])
      expect(r[call], call).toEqual(deploymentResult);
    expect(r.list_versions).toBeGreaterThanOrEqual(2);
    expect(r.get_version.env).toEqual({ GREETING: 'hello' });

    expect(r.kill_task).toMatchObject({ same: true });
    expect(r.kill_given_tasks).toBe(true);
    expect(r.kill_tasks).toEqual(['/mp/web']);
    expect(r.kill_tasks_other_host).toEqual([]);

    expect(r.list_queue).toMatchObject({ app: '/mp/huge', count: 1, reasons: ['InsufficientCpus'] });
    expect(r.list_queue_offers).toEqual([[]]);
    expect(r.reset_delay).toBe(true);
    expect(r.list_deployments).toMatchObject({
      affected_apps: ['/mp/huge'],
      actions: ['StartApplication'],
      current_actions: ['StartApplication'],
    });
    expect(r.delete_deployment).toEqual(deploymentResult);
    expect(r.delete_deployment_force).toEqual({});
    expect(r.delete_app_forced).toEqual(deploymentResult);

    for (const call of ['create_group', 'scale_group', 'update_group', 'delete_group'])
      expect(r[call], call).toEqual(deploymentResult);
    expect(r.list_groups).toContain('/mp-group');
    expect(r.get_group).toEqual({
      id: '/mp-group',
      apps: ['/mp-group/db'],
      groups: ['/mp-group/web'],
      nested_apps: ['/mp-group/web/api'],
    });
    expect(r.get_group_gone).toMatchObject({ status: 404 });

    // Marathon 1.5 removed HTTP callback subscriptions: a 404 that says where events are.
    for (const call of ['list_event_subscriptions', 'create_event_subscription', 'delete_event_subscription'])
      expect(r[call], call).toMatchObject({ status: 404, message: expect.stringContaining('/v2/events') });
    expect(r.get_app_missing).toMatchObject({ status: 404 });
    expect(r.create_app_invalid).toEqual({ status: 422, message: 'Object is not valid' });
    expect(r.create_app_invalid_details).toEqual([{ path: '/cpus', errors: [expect.any(String)] }]);

    expect(r.event_stream.attached).toBe(true);
    expect(r.event_stream.types).toEqual(
      expect.arrayContaining([
        'api_post_event',
        'deployment_info',
        'status_update_event',
        'deployment_success',
      ]),
    );
    expect(r.event_stream.api_post_apps).toContain('/mp/web');
    expect(r.event_stream.deployment_info_target_apps).toContain('/mp/web');
    expect(r.event_stream.status_updates).toContain('TASK_RUNNING');
    expect(r.event_stream_filtered).toEqual(['deployment_success']);
    expect(r.event_stream_raw).toEqual(['event_stream_attached', expect.any(String)]);

    expect(r.delete_leader).toEqual({ message: 'Leadership abdicated' });
    expect(r.get_leader_after).toEqual({ leader: `127.0.0.1:${port}` });
    expect(r.delete_app).toEqual(deploymentResult);
    expect((await api<{ apps: unknown[] }>('GET', '/v2/apps')).apps).toEqual([]);
  }, 600_000);
});
