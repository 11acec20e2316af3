import { randomUUID } from 'node:crypto';
import { newTaskId, resendStagedLaunches } from '@atoll/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('relaunch test');

/**
 * A new leader sends again the launches of tasks staged before it led (services/relaunch.ts): a
 * leader that died between writing a task row and sending its launch leaves a task no agent heard
 * of. Here such tasks are written by hand, one of an app and one of a job run, on a node whose
 * real agent never got their launch; after the resend the agent runs both.
 */
describe.skipIf(skip)('staged launches sent again', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true, runtime: 'docker', heartbeatIntervalMs: 500 });
    await until(
      'the agent',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (n) => n.length === 1 && n[0]!.connected,
    );
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("runs a job run's and an app's task that no agent was told of", async () => {
    const pool = cluster.control.db.pool;
    // A job and one run through the API, for a run spec as control stores it.
    await api('POST', '/v1/jobs', {
      id: 'relaunch',
      run: { cmd: 'sleep 1', cpus: 0.05, mem: 32, disk: 0, docker: { image: TEST_IMAGE } },
    });
    const first = await api<{ id: string }>('POST', '/v1/jobs/relaunch/runs');
    await until(
      'the first run to succeed',
      () => api<{ status: string }>('GET', `/v1/jobs/relaunch/runs/${first.id}`),
      (r) => r.status === 'SUCCESS',
    );
    // An app at full strength, for a definition and version as control stores them.
    await api('POST', '/v2/apps', {
      id: '/relaunch/web',
      cmd: 'sleep 600',
      cpus: 0.05,
      mem: 32,
      instances: 1,
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    });
    await until(
      'the app running',
      () => api<{ app: { tasksRunning: number; deployments: unknown[] } }>('GET', '/v2/apps/relaunch/web'),
      ({ app }) => app.tasksRunning === 1 && app.deployments.length === 0,
    );
    const { rows: nodes } = await pool.query<{ id: string; address: string }>('SELECT id, address FROM nodes');
    const node = nodes[0]!;
    const staged = new Date(Date.now() - 1000);

    // What a leader that died before sending the launches leaves: a run STARTING with a STAGING
    // task, and one more app instance with a STAGING task.
    const runId = `relaunch-${randomUUID().slice(0, 8)}`;
    await pool.query(
      `INSERT INTO job_runs (id, job_id, status, run, attempts)
       SELECT $1, job_id, 'STARTING', run, 1 FROM job_runs WHERE id = $2`,
      [runId, first.id],
    );
    const runTask = `relaunch_${runId}.${randomUUID()}`;
    const appTask = newTaskId('/relaunch/web');
    // One transaction: the leader's reconciler sees the second instance and its task together.
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      await db.query(`UPDATE apps SET definition = jsonb_set(definition, '{instances}', '2') WHERE id = $1`, [
        '/relaunch/web',
      ]);
      await db.query(
        `INSERT INTO tasks (id, app_id, run_id, app_version, node_id, state, host, ports, cpus, mem_mb, disk_mb, staged_at, updated_at)
         VALUES ($1, NULL, $2, $2, $3, 'TASK_STAGING', $4, '[]', 0.05, 32, 0, $5, $5),
                ($6, '/relaunch/web', NULL, (SELECT config_version FROM apps WHERE id = '/relaunch/web'), $3,
                 'TASK_STAGING', $4, '[]', 0.05, 32, 0, $5, $5)`,
        [runTask, runId, node.id, node.address, staged, appTask],
      );
      await db.query('COMMIT');
    } finally {
      db.release();
    }

    expect(await resendStagedLaunches(cluster.control.services, new Date())).toBe(2);

    await until(
      'the re-sent run to succeed',
      () => api<{ status: string }>('GET', `/v1/jobs/relaunch/runs/${runId}`),
      (r) => r.status === 'SUCCESS',
    );
    const task = await until(
      "the re-sent app task RUNNING",
      async () => (await pool.query<{ state: string }>('SELECT state FROM tasks WHERE id = $1', [appTask])).rows[0],
      (t) => t?.state === 'TASK_RUNNING',
    );
    expect(task?.state).toBe('TASK_RUNNING');
    const app = await api<{ app: { tasksRunning: number } }>('GET', '/v2/apps/relaunch/web');
    expect(app.app.tasksRunning).toBe(2);
  });
});
