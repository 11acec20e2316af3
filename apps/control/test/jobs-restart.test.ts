import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@atoll/db/testing';
import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/embedded-postgres';
import { spawnLocalAgent, type LocalAgent } from '../src/local-agent';
import { restClient, skipWithoutDocker, TEST_IMAGE, until, spawnControl } from './support';

const IMAGE = TEST_IMAGE;
const skip = await skipWithoutDocker('jobs restart test');

interface Run {
  id: string;
  status: string;
  tasks: Array<{ id: string; status: string }>;
  attempts: number;
  scheduledAt: string | null;
}
interface History {
  successCount: number;
  failureCount: number;
  successfulFinishedRuns: Array<{ id: string; tasks: string[] }>;
}

const JOBS = ['restart.sleep', 'restart.tick'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Jobs across SIGKILLs of control (a real process; its state is all in PostgreSQL): a run under way
 * is followed, not relaunched; a scheduled minute passed while no control ran fires once, late; a
 * minute fired just before the kill is not fired again.
 */
describe.skipIf(skip)('jobs: control killed with SIGKILL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let port: number;
  let control: ChildProcess | null = null;
  let agent: LocalAgent | null = null;
  let stateDir: string;
  let token: string;
  const password = 'restart-test-password';
  const url = () => `http://127.0.0.1:${port}`;

  const startControl = async () => {
    control = await spawnControl({
      databaseUrl: database.url,
      port,
      adminPassword: password,
      env: { ATOLL_DNS_PORT: 'off' },
    });
  };
  const killControl = async () => {
    const c = control!;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };
  const api = restClient(url, () => token);
  const containersOf = async (jobId: string) =>
    new Docker().listContainers({ all: true, filters: { label: [`io.atoll.app-id=${jobId}`] } });

  beforeAll(async () => {
    database = await createTestDatabase();
    port = await freePort();
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-'));
    await startControl();
    const login = await fetch(`${url()}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    token = ((await login.json()) as { token: string }).token;
    const join = await api<{ token: string }>('POST', '/api/v1/nodes/join-tokens', { singleUse: false });
    agent = spawnLocalAgent({
      controlUrl: url(),
      joinToken: join.token,
      stateDir,
      log: pino({ level: 'silent' }),
      env: {
        ATOLL_RUNTIME: 'docker',
        ATOLL_PORT_RANGE: '24000-24999',
        ATOLL_DNS: 'off',
        ATOLL_LOG_LEVEL: 'warn',
      },
    });
    await until(
      'the node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (n) => n[0]?.connected === true,
    );
  });

  afterAll(async () => {
    for (const id of JOBS)
      await api('DELETE', `/v1/jobs/${id}?stopCurrentJobRuns=true`).catch(() => undefined);
    await agent?.stop();
    if (control) await killControl();
    // Labels in one filter are ANDed: each job's containers are listed on their own.
    const left = (await Promise.all(JOBS.map(containersOf))).flat();
    const docker = new Docker();
    await Promise.all(
      left.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await database?.drop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('a run under way when control dies ends SUCCESS once, with the same task', async () => {
    await api('POST', '/v1/jobs', {
      id: 'restart.sleep',
      run: { cmd: 'sleep 8', cpus: 0.05, mem: 32, disk: 0, docker: { image: IMAGE } },
    });
    const { id: runId } = await api<Run>('POST', '/v1/jobs/restart.sleep/runs');
    const active = await until(
      'the run to be ACTIVE',
      () => api<Run>('GET', `/v1/jobs/restart.sleep/runs/${runId}`),
      (r) => r.status === 'ACTIVE',
    );
    const taskId = active.tasks[0]!.id;

    await killControl();
    await startControl();

    const done = await until(
      'the run to finish',
      () => api<Run>('GET', `/v1/jobs/restart.sleep/runs/${runId}`),
      (r) => r.status === 'SUCCESS' || r.status === 'FAILED',
    );
    expect(done.status).toBe('SUCCESS');
    expect(done.attempts).toBe(1);
    expect(done.tasks.map((t) => [t.id, t.status])).toEqual([[taskId, 'TASK_FINISHED']]);
    const history = await api<History>('GET', '/api/v1/jobs/history?id=restart.sleep');
    expect(history).toMatchObject({ successCount: 1, failureCount: 0 });
    expect(history.successfulFinishedRuns).toEqual([{ id: runId, tasks: [taskId], ...anyTimes }]);
    // Not relaunched behind the API's back either: the agent ran one container.
    expect(await containersOf('restart.sleep')).toHaveLength(1);
  });

  it('a scheduled minute across a kill fires exactly once: none lost, none repeated', async () => {
    const created = await api<{ schedules: Array<{ nextRunAt: string }> }>('POST', '/v1/jobs', {
      id: 'restart.tick',
      run: { cmd: 'echo tick', cpus: 0.05, mem: 32, disk: 0, docker: { image: IMAGE } },
      schedules: [{ id: 'each-minute', cron: '* * * * *', startingDeadlineSeconds: 60 }],
    });
    const first = new Date(created.schedules[0]!.nextRunAt).getTime();
    const runsOf = () => api<Run[]>('GET', '/api/v1/jobs/runs?id=restart.tick');
    const firedFor = (minute: number) =>
      until(`the run for ${new Date(minute).toISOString()}`, runsOf, (runs) =>
        runs.some((r) => r.scheduledAt && new Date(r.scheduledAt).getTime() === minute),
      );

    // Killed before the minute: no control runs at the minute, the restarted one fires it late
    // (within startingDeadlineSeconds). Needs a few seconds before the kill: else the next minute.
    const m1 = first - Date.now() >= 6_000 ? first : first + 60_000;
    await sleep(m1 - 2_000 - Date.now());
    await killControl();
    await sleep(m1 + 3_000 - Date.now());
    await startControl();
    await firedFor(m1);

    // Killed just after the leader fired the minute (its run row exists, maybe not yet placed):
    // the restarted control must not fire it again.
    const m2 = m1 + 60_000;
    await sleep(m2 - 2_000 - Date.now());
    await until(
      `the run for ${new Date(m2).toISOString()}`,
      runsOf,
      (runs) => runs.some((r) => r.scheduledAt && new Date(r.scheduledAt).getTime() === m2),
      30_000,
    );
    await killControl();
    await startControl();

    const runs = await until(
      'every run to finish',
      runsOf,
      (rs) => rs.length > 0 && rs.every((r) => r.status === 'SUCCESS' || r.status === 'FAILED'),
    );
    // Every occurrence from the schedule's first to m2, each exactly once, each with one task.
    const minutes = runs.map((r) => new Date(r.scheduledAt!).getTime()).sort((a, b) => a - b);
    const expected: number[] = [];
    for (let t = first; t <= m2; t += 60_000) expected.push(t);
    expect(minutes).toEqual(expected);
    for (const r of runs) {
      expect(r.status).toBe('SUCCESS');
      expect(r.tasks).toHaveLength(1);
    }
    expect(await containersOf('restart.tick')).toHaveLength(runs.length);
    const history = await api<History>('GET', '/api/v1/jobs/history?id=restart.tick');
    expect(history).toMatchObject({ successCount: runs.length, failureCount: 0 });
    // The schedule goes on from the minute after.
    const [schedule] = await api<Array<{ nextRunAt: string }>>('GET', '/v1/jobs/restart.tick/schedules');
    expect(new Date(schedule!.nextRunAt).getTime()).toBeGreaterThan(m2);
  }, 240_000);
});

const anyTimes = { createdAt: expect.any(String), finishedAt: expect.any(String) };
