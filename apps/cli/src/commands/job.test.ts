import { describe, expect, it } from 'vitest';
import { run, type CliIO } from '../main';
import {
  historyText,
  jobDetail,
  jobStatus,
  jobTable,
  lastRun,
  nextRun,
  runLogTask,
  runNote,
  runTable,
  scheduleTable,
  type JobRow,
  type RunRow,
  type ScheduleRow,
} from './job';

const schedule = (over: Partial<ScheduleRow> = {}): ScheduleRow => ({
  id: 'nightly',
  cron: '20 0 * * *',
  timezone: 'UTC',
  startingDeadlineSeconds: 900,
  concurrencyPolicy: 'ALLOW',
  enabled: true,
  nextRunAt: '2025-01-02T00:20:00.000Z',
  ...over,
});

const task = (over: Partial<RunRow['tasks'][number]> = {}): RunRow['tasks'][number] => ({
  id: 'backup.20250101000000abcde.1',
  status: 'TASK_FINISHED',
  startedAt: '2025-01-01T00:00:01.000Z',
  completedAt: '2025-01-01T00:02:06.000Z',
  host: 'node-1',
  nodeId: 'n1',
  message: null,
  exitCode: 0,
  ...over,
});

const runRow = (over: Partial<RunRow> = {}): RunRow => ({
  id: '20250101000000abcde',
  jobId: 'backup',
  status: 'ACTIVE',
  createdAt: '2025-01-01T00:00:00.000Z',
  completedAt: null,
  tasks: [task({ status: 'TASK_RUNNING', completedAt: null, exitCode: null })],
  scheduleId: null,
  scheduledAt: null,
  attempts: 1,
  reason: null,
  placementIssue: null,
  stopRequested: false,
  ...over,
});

const job = (over: Partial<JobRow> = {}): JobRow => ({
  id: 'backup',
  description: 'Nightly backup of the database',
  labels: { owner: 'ops' },
  run: { cmd: 'pg_dump > /backup/db.sql', cpus: 0.5, mem: 128, disk: 0, restart: { policy: 'NEVER' } },
  activeRuns: [],
  schedules: [],
  historySummary: { successCount: 0, failureCount: 0, lastSuccessAt: null, lastFailureAt: null },
  ...over,
});

describe('jobStatus', () => {
  it.each([
    [
      'Running with an active run, even when scheduled',
      { activeRuns: [runRow()], schedules: [schedule()] },
      'Running',
    ],
    ['Scheduled with an enabled schedule', { activeRuns: [], schedules: [schedule()] }, 'Scheduled'],
    ['Idle when its only schedule is disabled', { schedules: [schedule({ enabled: false })] }, 'Idle'],
    ['Idle without embeds', { activeRuns: undefined, schedules: undefined }, 'Idle'],
  ] as const)('%s', (_name, over, status) => {
    expect(jobStatus(job(over as Partial<JobRow>))).toBe(status);
  });
});

describe('lastRun and nextRun', () => {
  it('take the newer of the last success and failure', () => {
    const summary = { successCount: 2, failureCount: 1, lastSuccessAt: null, lastFailureAt: null };
    expect(lastRun(undefined)).toBe('-');
    expect(lastRun(summary)).toBe('-');
    expect(lastRun({ ...summary, lastSuccessAt: '2025-01-01T10:00:00.000Z' })).toBe(
      'SUCCESS 2025-01-01T10:00:00Z',
    );
    expect(
      lastRun({ ...summary, lastSuccessAt: '2025-01-01T10:00:00Z', lastFailureAt: '2025-01-01T11:00:00Z' }),
    ).toBe('FAILED 2025-01-01T11:00:00Z');
    expect(
      lastRun({ ...summary, lastSuccessAt: '2025-01-02T10:00:00Z', lastFailureAt: '2025-01-01T11:00:00Z' }),
    ).toBe('SUCCESS 2025-01-02T10:00:00Z');
  });

  it('takes the earliest next run of the enabled schedules', () => {
    expect(nextRun(undefined)).toBe('-');
    expect(
      nextRun([
        schedule({ nextRunAt: '2025-01-03T00:00:00Z' }),
        schedule({ id: 'off', enabled: false, nextRunAt: '2025-01-01T00:00:00Z' }),
        schedule({ id: 'soon', nextRunAt: '2025-01-02T00:00:00Z' }),
      ]),
    ).toBe('2025-01-02T00:00:00Z');
  });
});

describe('jobTable', () => {
  it('has one line a job with the derived status, last run and next run', () => {
    expect(
      jobTable(
        [
          job({
            schedules: [schedule()],
            historySummary: {
              successCount: 1,
              failureCount: 0,
              lastSuccessAt: '2025-01-01T00:22:00Z',
              lastFailureAt: null,
            },
          }),
          job({ id: 'adhoc', description: undefined, activeRuns: [runRow()] }),
        ],
        12,
      ),
    ).toBe(
      [
        'ID      STATUS     LAST RUN                      NEXT RUN              DESCRIPTION',
        'backup  Scheduled  SUCCESS 2025-01-01T00:22:00Z  2025-01-02T00:20:00Z  Nightly bac…',
        'adhoc   Running    -                             -',
        '',
      ].join('\n'),
    );
  });
});

describe('jobDetail', () => {
  it('shows the definition, the summary, the schedules and the active runs', () => {
    const text = jobDetail(
      job({
        run: {
          cmd: 'backup.sh',
          cpus: 0.5,
          mem: 128,
          disk: 0,
          docker: { image: 'atoll-test-busybox:latest' },
          restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 120 },
        },
        schedules: [schedule()],
        activeRuns: [runRow()],
        historySummary: {
          successCount: 3,
          failureCount: 1,
          lastSuccessAt: '2025-01-01T00:22:00Z',
          lastFailureAt: null,
        },
      }),
    );
    expect(text).toContain('ID           backup\n');
    expect(text).toContain('STATUS       Running\n');
    expect(text).toContain('LABELS       owner=ops\n');
    expect(text).toContain('CMD          backup.sh\n');
    expect(text).toContain('IMAGE        atoll-test-busybox:latest\n');
    expect(text).toContain('MEM          128 MiB\n');
    expect(text).toContain('RESTART      ON_FAILURE within 120s\n');
    expect(text).toContain('RUNS         3 successful, 1 failed\n');
    expect(text).toMatch(
      /\nSchedules:\nID\s+CRON\s+TIMEZONE.*\nnightly\s+20 0 \* \* \*\s+UTC\s+yes\s+ALLOW\s+900s/,
    );
    expect(text).toMatch(/\nActive runs:\nRUN ID\s+STATUS.*\n20250101000000abcde\s+ACTIVE\s+/);
  });

  it('says when there are no schedules and no active runs', () => {
    const text = jobDetail(job());
    expect(text).toContain('\nNo schedules.\n');
    expect(text).toContain('\nNo active runs.\n');
    expect(text).not.toContain('IMAGE');
  });
});

describe('scheduleTable', () => {
  it('shows no next run for a disabled schedule', () => {
    expect(scheduleTable([schedule({ enabled: false, nextRunAt: null, concurrencyPolicy: 'FORBID' })])).toBe(
      [
        'ID       CRON        TIMEZONE  ENABLED  CONCURRENCY  DEADLINE  NEXT RUN',
        'nightly  20 0 * * *  UTC       no       FORBID       900s      -',
        '',
      ].join('\n'),
    );
  });
});

describe('runTable and runNote', () => {
  it('shows duration from the run’s own times and its newest task', () => {
    const done = runRow({
      status: 'FAILED',
      completedAt: '2025-01-01T00:02:05.000Z',
      attempts: 2,
      tasks: [task({ id: 't1', exitCode: 1 }), task({ id: 't2', status: 'TASK_FAILED', exitCode: 3 })],
    });
    const lines = runTable([done, runRow()]).split('\n');
    expect(lines[0]).toMatch(/^RUN ID\s+STATUS\s+STARTED\s+FINISHED\s+DURATION\s+ATTEMPTS\s+TASK\s+NOTE$/);
    expect(lines[1]).toMatch(
      /^20250101000000abcde\s+FAILED\s+2025-01-01T00:00:00Z\s+2025-01-01T00:02:05Z\s+2m05s\s+2\s+t2\s+exit code 3$/,
    );
    expect(lines[2]).toMatch(/^20250101000000abcde\s+ACTIVE\s+2025-01-01T00:00:00Z\s+-\s+-\s+1\s+\S+\s+-$/);
  });

  it.each([
    ['a stop asked for', runRow({ stopRequested: true }), 'stopping'],
    [
      'a placement issue while waiting',
      runRow({
        status: 'INITIAL',
        tasks: [],
        placementIssue: { summary: 'no node has 4 CPUs free', reasons: { cpus: 1 }, count: 1 },
      }),
      'waiting: no node has 4 CPUs free',
    ],
    ['the run’s reason', runRow({ status: 'FAILED', reason: 'stopped on demand' }), 'stopped on demand'],
    ['nothing for a success', runRow({ status: 'SUCCESS', tasks: [task()] }), '-'],
  ])('notes %s', (_name, r, note) => {
    expect(runNote(r)).toBe(note);
  });

  it('logs the newest attempt of a run', () => {
    expect(runLogTask(runRow({ tasks: [task({ id: 'a' }), task({ id: 'b' })] }))).toBe('b');
    expect(runLogTask(runRow({ tasks: [] }))).toBeUndefined();
  });
});

describe('historyText', () => {
  it('shows the counts, then the finished runs newest first', () => {
    expect(
      historyText('backup', {
        successCount: 2,
        failureCount: 1,
        lastSuccessAt: '2025-01-02T00:00:10Z',
        lastFailureAt: '2025-01-01T12:00:40Z',
        successfulFinishedRuns: [
          {
            id: 'r1',
            createdAt: '2025-01-01T00:00:00Z',
            finishedAt: '2025-01-01T00:00:05Z',
            tasks: ['r1.t'],
          },
          {
            id: 'r3',
            createdAt: '2025-01-02T00:00:00Z',
            finishedAt: '2025-01-02T00:00:10Z',
            tasks: ['r3.t'],
          },
        ],
        failedFinishedRuns: [
          {
            id: 'r2',
            createdAt: '2025-01-01T12:00:00Z',
            finishedAt: '2025-01-01T12:00:40Z',
            tasks: ['r2.a', 'r2.b'],
          },
        ],
      }),
    ).toBe(
      [
        'JOB           backup',
        'SUCCESSFUL    2',
        'FAILED        1',
        'LAST SUCCESS  2025-01-02T00:00:10Z',
        'LAST FAILURE  2025-01-01T12:00:40Z',
        '',
        'RUN ID  OUTCOME  STARTED               FINISHED              DURATION  TASKS',
        'r3      SUCCESS  2025-01-02T00:00:00Z  2025-01-02T00:00:10Z       10s  r3.t',
        'r2      FAILED   2025-01-01T12:00:00Z  2025-01-01T12:00:40Z       40s  r2.a,r2.b',
        'r1      SUCCESS  2025-01-01T00:00:00Z  2025-01-01T00:00:05Z        5s  r1.t',
        '',
      ].join('\n'),
    );
  });

  it('says when no run has finished', () => {
    const text = historyText('x', {
      successCount: 0,
      failureCount: 0,
      lastSuccessAt: null,
      lastFailureAt: null,
      successfulFinishedRuns: [],
      failedFinishedRuns: [],
    });
    expect(text).toContain('LAST SUCCESS  -\n');
    expect(text).toMatch(/No finished runs\.\n$/);
  });
});

// The commands against a fake control (tRPC over HTTP answered from handlers).
type Handler = (input: unknown) => unknown;
interface FakeTrpcError {
  trpcError: { code: string; httpStatus: number; message: string; issues?: unknown };
}

function fakeControl(handlers: Record<string, Handler>) {
  const calls: Array<{ path: string; input: unknown }> = [];
  const requests: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    requests.push(url.pathname + url.search);
    if (url.pathname.startsWith('/api/v1/tasks/'))
      return new Response('hello from the job\n', { status: 200, headers: { 'content-type': 'text/plain' } });
    const paths = url.pathname.replace(/^\/api\/trpc\//, '').split(',');
    const raw = init?.method === 'POST' ? String(init.body) : (url.searchParams.get('input') ?? '{}');
    const inputs = JSON.parse(raw) as Record<string, unknown>;
    let status = 200;
    const results = paths.map((p, i) => {
      const callInput = inputs[String(i)];
      calls.push({ path: p, input: callInput });
      const handler = handlers[p];
      if (!handler) throw new Error(`unexpected call ${p}`);
      try {
        return { result: { data: handler(callInput) } };
      } catch (err) {
        const e = (err as FakeTrpcError).trpcError;
        if (!e) throw err;
        status = e.httpStatus;
        return {
          error: {
            message: e.message,
            code: -32009,
            data: { code: e.code, httpStatus: e.httpStatus, issues: e.issues ?? null },
          },
        };
      }
    });
    return new Response(JSON.stringify(results), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, calls, requests };
}

const invalid = (path: string, message: string): FakeTrpcError => ({
  trpcError: {
    code: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    message: `${path}: ${message}`,
    issues: [{ path, message }],
  },
});

describe('job commands against a fake control', () => {
  const env = { ATOLL_URL: 'http://control:7700', ATOLL_TOKEN: 'atl_x', ATOLL_CONFIG: '/nonexistent/c.json' };

  async function atoll(args: string[], extra: Partial<CliIO> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(args, {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      ...extra,
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }
  const stdin = (value: unknown) => ({ readStdin: () => Promise.resolve(JSON.stringify(value)) });

  it('add posts the job with its schedules as is', async () => {
    const definition = {
      id: 'backup',
      run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 },
      schedules: [{ id: 'nightly', cron: '20 0 * * *' }],
    };
    const control = fakeControl({ 'jobs.create': () => job({ schedules: [schedule()] }) });
    const r = await atoll(['job', 'add', '-'], { fetch: control.fetch, ...stdin(definition) });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Created job backup with 1 schedule\n');
    expect(control.calls).toEqual([{ path: 'jobs.create', input: { job: definition } }]);
  });

  it('a refused job names the file and the field, once', async () => {
    const control = fakeControl({
      'jobs.create': () => {
        throw invalid('job.run.cpus', 'must be greater than 0');
      },
    });
    const r = await atoll(['job', 'add', '-'], { fetch: control.fetch, ...stdin({ id: 'x', run: {} }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid job (standard input):\n  run.cpus: must be greater than 0\n');
  });

  it('a service refusal (issues without the input wrapper) names the field too', async () => {
    const control = fakeControl({
      'jobs.createSchedule': () => {
        throw invalid('cron', "a cron expression has five fields; '* *' has 2");
      },
    });
    const r = await atoll(['job', 'schedule', 'add', 'backup', '-'], {
      fetch: control.fetch,
      ...stdin({ id: 's', cron: '* *' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: invalid schedule (standard input):\n  cron: a cron expression has five fields; '* *' has 2\n",
    );
  });

  it('update takes the id from the file and warns that schedules stay', async () => {
    const control = fakeControl({ 'jobs.update': () => job() });
    const definition = { id: 'backup', run: { cmd: 'true' }, schedules: [{ id: 's', cron: '* * * * *' }] };
    const r = await atoll(['job', 'update', '-'], { fetch: control.fetch, ...stdin(definition) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Updated job backup\n');
    expect(r.stderr).toContain('warning: the schedules in standard input are left as they are');
    expect(control.calls).toEqual([{ path: 'jobs.update', input: { id: 'backup', job: definition } }]);
    const noId = await atoll(['job', 'update', '-'], { fetch: control.fetch, ...stdin({ run: {} }) });
    expect(noId.code).toBe(1);
    expect(noId.stderr).toBe('error: standard input has no "id": it names the job to update\n');
  });

  it('run prints the run id; --json the run', async () => {
    const control = fakeControl({ 'jobs.start': () => runRow({ status: 'INITIAL', tasks: [] }) });
    const r = await atoll(['job', 'run', 'backup'], { fetch: control.fetch });
    expect(r.stdout).toBe('Started run 20250101000000abcde of job backup\n');
    const j = await atoll(['--json', 'job', 'run', 'backup'], { fetch: control.fetch });
    expect(JSON.parse(j.stdout)).toMatchObject({ id: '20250101000000abcde', status: 'INITIAL' });
  });

  it('kill needs a run id or --all; --all stops every active run', async () => {
    const control = fakeControl({
      'jobs.runs': () => [runRow({ id: 'r1' }), runRow({ id: 'r2' })],
      'jobs.stop': (input) => runRow({ id: (input as { runId: string }).runId, stopRequested: true }),
    });
    const neither = await atoll(['job', 'kill', 'backup'], { fetch: control.fetch });
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('error: give a run id or --all\n');
    const both = await atoll(['job', 'kill', 'backup', 'r1', '--all'], { fetch: control.fetch });
    expect(both.code).toBe(1);
    expect(control.calls).toEqual([]);
    const all = await atoll(['job', 'kill', 'backup', '--all'], { fetch: control.fetch });
    expect(all.stdout).toBe('Stopping run r1 of job backup\nStopping run r2 of job backup\n');
    expect(control.calls).toEqual([
      { path: 'jobs.runs', input: { id: 'backup', active: true } },
      { path: 'jobs.stop', input: { id: 'backup', runId: 'r1' } },
      { path: 'jobs.stop', input: { id: 'backup', runId: 'r2' } },
    ]);
  });

  it('remove passes --stop-current-job-runs; a conflict prints the server’s message', async () => {
    const control = fakeControl({
      'jobs.remove': (input) => {
        if ((input as { stopCurrentJobRuns: boolean }).stopCurrentJobRuns) return job();
        throw {
          trpcError: {
            code: 'CONFLICT',
            httpStatus: 409,
            message: "Job 'backup' has 1 active run(s). Override with stopCurrentJobRuns=true",
          },
        } satisfies FakeTrpcError;
      },
    });
    const refused = await atoll(['job', 'remove', 'backup'], { fetch: control.fetch });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "error: Job 'backup' has 1 active run(s). Override with stopCurrentJobRuns=true\n",
    );
    const r = await atoll(['job', 'remove', 'backup', '--stop-current-job-runs'], { fetch: control.fetch });
    expect(r.stdout).toBe('Removed job backup\n');
  });

  it('log prints the newest run’s newest task log', async () => {
    const control = fakeControl({
      'jobs.runs': () => [runRow({ tasks: [task({ id: 'old' }), task({ id: 'new' })] })],
    });
    const r = await atoll(['job', 'log', 'backup', '-n', 'all'], { fetch: control.fetch });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from the job\n');
    expect(control.requests.at(-1)).toBe('/api/v1/tasks/new/logs?lines=all&follow=false&stream=both');
  });

  it('log of a run without a task says why it waits', async () => {
    const control = fakeControl({
      'jobs.run': () =>
        runRow({
          status: 'INITIAL',
          tasks: [],
          placementIssue: { summary: 'no node has 4 CPUs free', reasons: {}, count: 1 },
        }),
    });
    const r = await atoll(['job', 'log', 'backup', 'r1'], { fetch: control.fetch });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: run 20250101000000abcde of job backup has no task yet\n  waiting: no node has 4 CPUs free\n',
    );
  });

  it('schedule update takes the schedule id from the file; remove names both ids', async () => {
    const control = fakeControl({
      'jobs.updateSchedule': () => schedule({ enabled: false, nextRunAt: null }),
      'jobs.removeSchedule': () => ({ ok: true }),
    });
    const body = { id: 'nightly', cron: '20 0 * * *', enabled: false };
    const u = await atoll(['job', 'schedule', 'update', 'backup', '-'], {
      fetch: control.fetch,
      ...stdin(body),
    });
    expect(u.stdout).toBe('Updated schedule nightly of job backup (disabled)\n');
    const rm = await atoll(['job', 'schedule', 'remove', 'backup', 'nightly'], { fetch: control.fetch });
    expect(rm.stdout).toBe('Removed schedule nightly of job backup\n');
    expect(control.calls).toEqual([
      { path: 'jobs.updateSchedule', input: { id: 'backup', scheduleId: 'nightly', schedule: body } },
      { path: 'jobs.removeSchedule', input: { id: 'backup', scheduleId: 'nightly' } },
    ]);
  });
});
