import { randomUUID } from 'node:crypto';
import { newTaskId, resendStagedLaunches } from '@atoll/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { agentJoined, restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

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

  /**
   * What a leader that died before sending launches leaves: task rows STAGING on the node that no
   * agent was told of. In one transaction with the app's new instance count, so the leader's
   * reconciler sees the instances and their tasks together.
   */
  const stageByHand = async (
    instances: number,
    tasks: Array<{ id: string; staged: Date } & ({ runId: string } | { appId: string })>,
  ) => {
    const db = await cluster.control.db.pool.connect();
    try {
      await db.query('BEGIN');
      await db.query(
        `UPDATE apps SET definition = jsonb_set(definition, '{instances}', $2::jsonb) WHERE id = $1`,
        ['/relaunch/web', String(instances)],
      );
      const { rows } = await db.query<{ id: string; address: string }>('SELECT id, address FROM nodes');
      for (const t of tasks)
        await db.query(
          `INSERT INTO tasks (id, app_id, run_id, app_version, node_id, state, host, ports, cpus, mem_mb, disk_mb, staged_at, updated_at)
           VALUES ($1, $2, $3, COALESCE($3, (SELECT config_version FROM apps WHERE id = $2)), $4, 'TASK_STAGING', $5, '[]',
                   0.05, 32, 0, $6, $6)`,
          [
            t.id,
            'appId' in t ? t.appId : null,
            'runId' in t ? t.runId : null,
            rows[0]!.id,
            rows[0]!.address,
            t.staged,
          ],
        );
      await db.query('COMMIT');
    } finally {
      db.release();
    }
  };
  const taskState = async (id: string) =>
    (await cluster.control.db.pool.query<{ state: string }>('SELECT state FROM tasks WHERE id = $1', [id]))
      .rows[0]?.state;

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true, runtime: 'docker', heartbeatIntervalMs: 500 });
    await agentJoined(cluster);
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
    const staged = new Date(Date.now() - 1000);

    // A run STARTING with a STAGING task, and one more app instance with a STAGING task.
    const runId = `relaunch-${randomUUID().slice(0, 8)}`;
    await pool.query(
      `INSERT INTO job_runs (id, job_id, status, run, attempts)
       SELECT $1, job_id, 'STARTING', run, 1 FROM job_runs WHERE id = $2`,
      [runId, first.id],
    );
    const runTask = `relaunch_${runId}.${randomUUID()}`;
    const appTask = newTaskId('/relaunch/web');
    await stageByHand(2, [
      { id: runTask, runId, staged },
      { id: appTask, appId: '/relaunch/web', staged },
    ]);

    expect(await resendStagedLaunches(cluster.control.services, new Date())).toBe(2);

    await until(
      'the re-sent run to succeed',
      () => api<{ status: string }>('GET', `/v1/jobs/relaunch/runs/${runId}`),
      (r) => r.status === 'SUCCESS',
    );
    expect(
      await until(
        'the re-sent app task RUNNING',
        () => taskState(appTask),
        (s) => s === 'TASK_RUNNING',
      ),
    ).toBe('TASK_RUNNING');
    const app = await api<{ app: { tasksRunning: number } }>('GET', '/v2/apps/relaunch/web');
    expect(app.app.tasksRunning).toBe(2);
  });

  it('sends a launch again on its own when its task stays STAGING', async () => {
    // Staged 20 s ago and never heard of: past LAUNCH_RESEND_MS, the leader's timer sends it.
    const lost = newTaskId('/relaunch/web');
    await stageByHand(3, [{ id: lost, appId: '/relaunch/web', staged: new Date(Date.now() - 20_000) }]);
    expect(
      await until(
        'the lost launch sent again and RUNNING',
        () => taskState(lost),
        (s) => s === 'TASK_RUNNING',
        60_000,
      ),
    ).toBe('TASK_RUNNING');
  });
});
