import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { agentJoined, restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('job tests');
const fixtures = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/metronome',
);
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as Record<string, unknown>;

interface RunTask {
  id: string;
  status: string;
  exitCode: number | null;
}
interface Run {
  id: string;
  jobId: string;
  status: string;
  createdAt: string;
  completedAt: string | null;
  tasks: RunTask[];
  attempts: number;
  reason: string | null;
  scheduledAt: string | null;
}
interface History {
  successCount: number;
  failureCount: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  successfulFinishedRuns: Array<{ id: string; tasks: string[] }>;
  failedFinishedRuns: Array<{ id: string; tasks: string[] }>;
}

/** Metronome's API on a real control with a real agent running Docker containers. */
describe.skipIf(skip)('jobs (Metronome API)', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const raw = (method: string, p: string, body?: unknown) =>
    fetch(cluster.url + p, {
      method,
      headers: {
        authorization: `Bearer ${cluster.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const job = (id: string, cmd: string, extra: Record<string, unknown> = {}) => ({
    id,
    run: { cmd, cpus: 0.05, mem: 32, disk: 0, docker: { image: TEST_IMAGE }, ...extra },
  });
  const finished = (jobId: string, runId: string) =>
    until(
      `run ${runId} of ${jobId} to finish`,
      () => api<Run>('GET', `/v1/jobs/${jobId}/runs/${runId}`),
      (r) => r.status === 'SUCCESS' || r.status === 'FAILED',
    );
  const startedAt = Date.now();

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: true, runtime: 'docker', heartbeatIntervalMs: 500 });
    await agentJoined(cluster);
    // Scheduled jobs start first: the other tests run while their minutes pass.
    await api('POST', '/v1/jobs', {
      ...job('every.minute', 'echo tick'),
      schedules: [{ id: 'each-minute', cron: '* * * * *', startingDeadlineSeconds: 30 }],
    });
    await api('POST', '/v1/jobs', {
      ...job('forbid.overlap', 'sleep 100'),
      schedules: [{ id: 'each-minute', cron: '* * * * *', concurrencyPolicy: 'FORBID' }],
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    // The agent leaves no container of this cluster behind.
    const docker = new Docker();
    const left = await docker.listContainers({
      all: true,
      filters: { label: ['io.atoll.app-id=every.minute'] },
    });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
  });

  it("accepts Metronome's published examples verbatim", async () => {
    const full = fixture('01-job-full-docker.json');
    const created = await raw('POST', '/v1/jobs', full);
    expect(created.status).toBe(201);
    const got = await api<Record<string, unknown> & { run: Record<string, unknown> }>(
      'GET',
      '/v1/jobs/prod.example.app',
    );
    expect(got.id).toBe('prod.example.app');
    expect(got.labels).toEqual({ location: 'olympus', owner: 'zeus' });
    expect(got.run).toMatchObject({
      cmd: 'nuke --dry --master local',
      cpus: 1.5,
      docker: { image: 'foo/bla:test' },
    });

    const scheduled = await raw(
      'POST',
      '/service/metronome/v1/jobs',
      fixture('02-job-with-cron-schedule.json'),
    );
    expect(scheduled.status).toBe(201);
    const schedules = await api<Array<{ id: string; cron: string; nextRunAt: string }>>(
      'GET',
      '/v1/jobs/my-scheduled-job/schedules',
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({ id: 'sleep-nightly', cron: '20 0 * * *', timezone: 'UTC' });
    // 00:20 UTC, the next one after now.
    const next = new Date(schedules[0]!.nextRunAt);
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([0, 20]);
    expect(next.getTime()).toBeGreaterThan(Date.now());

    const added = await raw(
      'POST',
      '/v1/jobs/prod.example.app/schedules',
      fixture('schedule-everyminute.json'),
    );
    expect(added.status).toBe(201);
    const sc = (await added.json()) as {
      timezone: string;
      startingDeadlineSeconds: number;
      nextRunAt: string;
    };
    expect(sc).toMatchObject({ timezone: 'America/Chicago', startingDeadlineSeconds: 60 });
    // Disabled, it has no next run; the job keeps it.
    const disabled = await api<{ enabled: boolean; nextRunAt: string | null }>(
      'PUT',
      '/v1/jobs/prod.example.app/schedules/everyminute',
      { ...fixture('schedule-everyminute.json'), enabled: false },
    );
    expect(disabled).toMatchObject({ enabled: false, nextRunAt: null });
    const embedded = await api<{ schedules: unknown[]; historySummary: { successCount: number } }>(
      'GET',
      '/v1/jobs/prod.example.app?embed=schedules&embed=historySummary',
    );
    expect(embedded.schedules).toHaveLength(1);
    expect(embedded.historySummary.successCount).toBe(0);
    expect((await raw('DELETE', '/v1/jobs/prod.example.app/schedules/everyminute')).status).toBe(200);
    expect((await raw('POST', '/v1/jobs', full)).status).toBe(409);
  });

  it("answers invalid jobs with Metronome's 422 naming the field", async () => {
    const cases: Array<[unknown, string]> = [
      [{ id: 'Bad_Id', run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 } }, '/id'],
      [{ id: 'no-cpus', run: { cmd: 'true', mem: 32, disk: 0 } }, '/run/cpus'],
      [{ id: 'small', run: { cmd: 'true', cpus: 0.1, mem: 8, disk: 0 } }, '/run/mem'],
      [{ id: 'both', run: { cmd: 'true', args: ['x'], cpus: 0.1, mem: 32, disk: 0 } }, '/run/args'],
      [
        { id: 'policy', run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0, restart: { policy: 'ALWAYS' } } },
        '/run/restart/policy',
      ],
      [{ ...job('bad.cron', 'true'), schedules: [{ id: 's', cron: '61 * * * *' }] }, '/schedules/0/cron'],
      [
        { ...job('bad.tz', 'true'), schedules: [{ id: 's', cron: '* * * * *', timezone: 'Mars/Olympus' }] },
        '/schedules/0/timezone',
      ],
      [{ ...job('six.fields', 'true'), schedules: [{ id: 's', cron: '0 * * * * *' }] }, '/schedules/0/cron'],
    ];
    for (const [body, field] of cases) {
      const res = await raw('POST', '/v1/jobs', body);
      const answer = (await res.json()) as {
        message: string;
        details: Array<{ path: string; errors: string[] }>;
      };
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(answer.message).toBe('Object is not valid');
      expect(answer.details.map((d) => d.path)).toContain(field);
    }
    expect((await raw('POST', '/v1/jobs', [1, 2])).status).toBe(422);
    expect((await raw('GET', '/v1/jobs/none.such')).status).toBe(404);
    expect((await raw('POST', '/v1/jobs/none.such/runs')).status).toBe(404);
    // Nothing of the refused jobs was stored.
    const ids = (await api<Array<{ id: string }>>('GET', '/v1/jobs')).map((j) => j.id);
    expect(ids).not.toContain('bad.cron');
    expect(ids).not.toContain('no-cpus');
  });

  it('runs a job on demand, keeps its log and counts it in the history', async () => {
    await api('POST', '/v1/jobs', job('hello', 'echo hello-from-a-job; echo to-stderr >&2'));
    // The run's events on the event stream, for a client that names them.
    const controller = new AbortController();
    const stream = await fetch(
      `${cluster.url}/v2/events?event_type=job_run_started&event_type=job_run_finished`,
      {
        headers: { authorization: `Bearer ${cluster.token}` },
        signal: controller.signal,
      },
    );
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let streamed = '';
    const finishedEvent = (async () => {
      while (!/event: job_run_finished\ndata: .*"jobId":"hello".*\n\n/.test(streamed)) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += decoder.decode(value, { stream: true });
      }
    })();
    const res = await raw('POST', '/v1/jobs/hello/runs');
    expect(res.status).toBe(201);
    const run = (await res.json()) as Run;
    expect(run).toMatchObject({ jobId: 'hello', status: 'INITIAL', tasks: [] });
    expect(run.id).toMatch(/^\d{14}[A-Za-z0-9]{5}$/);
    const done = await finished('hello', run.id);
    expect(done.status).toBe('SUCCESS');
    expect(done.tasks).toHaveLength(1);
    expect(done.tasks[0]).toMatchObject({ status: 'TASK_FINISHED', exitCode: 0 });
    const log = await fetch(
      `${cluster.url}/api/v1/tasks/${encodeURIComponent(done.tasks[0]!.id)}/logs?lines=all`,
      {
        headers: { authorization: `Bearer ${cluster.token}` },
      },
    );
    expect(await log.text()).toContain('hello-from-a-job');
    await finishedEvent;
    controller.abort();
    const events = [...streamed.matchAll(/event: (job_run_\w+)\ndata: (.*)\n\n/g)]
      .map((m) => ({
        type: m[1],
        data: JSON.parse(m[2]!) as { jobId: string; jobRunId: string; status: string },
      }))
      .filter((e) => e.data.jobId === 'hello');
    expect(events.map((e) => e.type)).toEqual(['job_run_started', 'job_run_finished']);
    expect(events[1]!.data).toMatchObject({ jobId: 'hello', jobRunId: run.id, status: 'SUCCESS' });

    const history = await api<History>('GET', '/api/v1/jobs/history?id=hello');
    expect(history).toMatchObject({ successCount: 1, failureCount: 0 });
    expect(history.successfulFinishedRuns.map((r) => r.id)).toEqual([run.id]);
    expect(history.successfulFinishedRuns[0]!.tasks).toEqual([done.tasks[0]!.id]);
    const embedded = await api<{ history: History; activeRuns: Run[] }>(
      'GET',
      '/v1/jobs/hello?embed=history,activeRuns',
    );
    expect(embedded.history.lastSuccessAt).not.toBeNull();
    expect(embedded.activeRuns).toEqual([]);
    // The run's task is not an app task: Marathon's task list does not show it.
    const tasks = await api<{ tasks: Array<{ id: string }> }>('GET', '/v2/tasks');
    expect(tasks.tasks.map((t) => t.id)).not.toContain(done.tasks[0]!.id);
  });

  it('ON_FAILURE restarts a failing command until activeDeadlineSeconds, then the run fails', async () => {
    await api(
      'POST',
      '/v1/jobs',
      job('flaky', 'echo failing; exit 3', { restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 12 } }),
    );
    const run = await api<Run>('POST', '/v1/jobs/flaky/runs');
    const done = await finished('flaky', run.id);
    expect(done.status).toBe('FAILED');
    expect(done.tasks.length).toBeGreaterThanOrEqual(2);
    // Every attempt failed with the command's code; the last may instead have been killed when
    // the deadline passed while it was starting (a loaded machine starts containers slowly).
    const [last, ...earlier] = [...done.tasks].reverse();
    expect(earlier.every((t) => t.status === 'TASK_FAILED' && t.exitCode === 3)).toBe(true);
    expect(
      (last!.status === 'TASK_FAILED' && last!.exitCode === 3) ||
        (last!.status === 'TASK_KILLED' && /activeDeadlineSeconds/.test(done.reason ?? '')),
    ).toBe(true);
    expect(done.reason).toMatch(/exit code 3|activeDeadlineSeconds/);
    const history = await api<History>('GET', '/api/v1/jobs/history?id=flaky');
    expect(history).toMatchObject({ successCount: 0, failureCount: 1 });

    // NEVER: one attempt, then FAILED with the exit code.
    await api('POST', '/v1/jobs', job('fails.once', 'exit 7'));
    const once = await finished('fails.once', (await api<Run>('POST', '/v1/jobs/fails.once/runs')).id);
    expect(once).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(once.reason).toContain('exit code 7');
  });

  it('stops a run on demand: its container is killed and the run fails', async () => {
    await api('POST', '/v1/jobs', job('sleeper', 'sleep 600', { taskKillGracePeriodSeconds: 1 }));
    const run = await api<Run>('POST', '/v1/jobs/sleeper/runs');
    await until(
      'the run to be active',
      () => api<Run>('GET', `/v1/jobs/sleeper/runs/${run.id}`),
      (r) => r.status === 'ACTIVE',
    );
    const active = await api<Run[]>('GET', '/v1/jobs/sleeper/runs');
    expect(active.map((r) => r.id)).toEqual([run.id]);
    // A job with an active run is not deleted unless asked to stop it.
    expect((await raw('DELETE', '/v1/jobs/sleeper')).status).toBe(409);
    expect((await raw('POST', `/v1/jobs/sleeper/runs/${run.id}/actions/stop`)).status).toBe(200);
    const done = await finished('sleeper', run.id);
    expect(done).toMatchObject({ status: 'FAILED', reason: 'stopped on request' });
    expect(done.tasks[0]!.status).toBe('TASK_KILLED');
    const docker = new Docker();
    const running = await docker.listContainers({
      filters: { label: [`io.atoll.task-id=${done.tasks[0]!.id}`] },
    });
    expect(running).toEqual([]);
    expect((await raw('DELETE', '/v1/jobs/sleeper')).status).toBe(200);
    expect((await raw('GET', '/v1/jobs/sleeper')).status).toBe(404);
  });

  it('fires every minute (twice in two minutes) and FORBID skips a minute while a run is active', async () => {
    // Two minute boundaries after the jobs were created, and time for their runs to finish.
    const wait = Math.max(0, startedAt + 2 * 60_000 + 15_000 - Date.now());
    await new Promise((r) => setTimeout(r, wait));
    const every = await until(
      'two finished runs of every.minute',
      () => api<History>('GET', '/api/v1/jobs/history?id=every.minute'),
      (h) => h.successCount >= 2,
      60_000,
    );
    expect(every.failureCount).toBe(0);
    const runs = await api<Run[]>('GET', '/api/v1/jobs/runs?id=every.minute');
    const minutes = runs.map((r) => new Date(r.scheduledAt!).getTime());
    // One run per minute: no occurrence ran twice.
    expect(new Set(minutes).size).toBe(minutes.length);
    for (const m of minutes) expect(m % 60_000).toBe(0);

    // FORBID: no run starts while another is active. (A job created late in a minute may see a
    // third boundary after its first 100 s run ended: a second run then is right, so the check is
    // on overlap, not on the count.)
    const forbid = (await api<Run[]>('GET', '/api/v1/jobs/runs?id=forbid.overlap')).sort(
      (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt),
    );
    expect(forbid.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < forbid.length; i++) {
      expect(forbid[i - 1]!.completedAt, 'the earlier run had ended').not.toBeNull();
      expect(Date.parse(forbid[i]!.createdAt)).toBeGreaterThanOrEqual(
        Date.parse(forbid[i - 1]!.completedAt!),
      );
    }
    const events = await api<Array<{ type: string; subject: string; payload: { reason: string } }>>(
      'GET',
      '/api/v1/events?type=job_run_skipped&limit=50',
    );
    const skipped = events.filter((e) => e.subject === 'forbid.overlap');
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    expect(skipped[0]!.payload.reason).toContain('FORBID');
    await api('DELETE', '/v1/jobs/forbid.overlap?stopCurrentJobRuns=true');
  }, 240_000);
});
