import { describe, expect, it } from 'vitest';
import {
  formToJob,
  initialJobForm,
  jobFieldForIssue,
  jobStatus,
  jobToForm,
  lastOutcome,
  nextRunOf,
  scheduleToJson,
  type JobForm,
} from './job-form';

const form = (over: Partial<JobForm>): JobForm => ({ ...initialJobForm, ...over });

describe('formToJob', () => {
  it('writes a command job without a schedule', () => {
    expect(formToJob(form({ id: 'hello', cmd: 'echo hi' }))).toEqual({
      id: 'hello',
      run: { cmd: 'echo hi', cpus: 0.1, mem: 128, disk: 0, restart: { policy: 'NEVER' } },
    });
  });

  it('writes a Docker job with its schedule, env, constraints and restart deadline', () => {
    const job = formToJob(
      form({
        id: 'prod.backup',
        description: 'Nightly backup',
        image: 'busybox',
        cmd: 'backup',
        restartPolicy: 'ON_FAILURE',
        activeDeadlineSeconds: '120',
        env: [{ key: 'TARGET', value: 's3' }],
        constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r[12]' }],
        scheduled: true,
        schedule: {
          id: 'nightly',
          cron: '0 3 * * *',
          timezone: 'Europe/Berlin',
          startingDeadlineSeconds: '60',
          concurrencyPolicy: 'FORBID',
          enabled: true,
        },
      }),
    );
    expect(job).toEqual({
      id: 'prod.backup',
      description: 'Nightly backup',
      run: {
        cmd: 'backup',
        cpus: 0.1,
        mem: 128,
        disk: 0,
        docker: { image: 'busybox' },
        restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 120 },
        env: { TARGET: 's3' },
        placement: { constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r[12]' }] },
      },
      schedules: [
        {
          id: 'nightly',
          cron: '0 3 * * *',
          timezone: 'Europe/Berlin',
          startingDeadlineSeconds: 60,
          concurrencyPolicy: 'FORBID',
          enabled: true,
        },
      ],
    });
  });

  it('keeps what the form does not show: labels, secrets, volumes, docker options, other schedules', () => {
    const base = {
      id: 'x',
      labels: { owner: 'zeus' },
      run: {
        cpus: 1,
        mem: 64,
        disk: 0,
        docker: { image: 'a', forcePullImage: true },
        env: { PASSWORD: { secret: 'pw' } },
        secrets: { pw: { source: 'db/password' } },
        volumes: [{ containerPath: '/d', hostPath: '/tmp', mode: 'RW' }],
      },
      schedules: [
        { id: 'a', cron: '* * * * *', nextRunAt: '2030-01-01T00:00:00Z' },
        { id: 'b', cron: '@daily' },
      ],
    };
    const job = formToJob({ ...jobToForm(base), image: 'b', env: [{ key: 'A', value: '1' }] }, base);
    expect(job.labels).toEqual({ owner: 'zeus' });
    expect(job.run).toMatchObject({
      docker: { image: 'b', forcePullImage: true },
      env: { PASSWORD: { secret: 'pw' }, A: '1' },
      secrets: { pw: { source: 'db/password' } },
      volumes: [{ containerPath: '/d', hostPath: '/tmp', mode: 'RW' }],
    });
    // nextRunAt is Metronome's answer, not a field to send back.
    expect(job.schedules).toEqual([
      { id: 'a', cron: '* * * * *', timezone: 'UTC', concurrencyPolicy: 'ALLOW', enabled: true },
      { id: 'b', cron: '@daily' },
    ]);
  });

  it('leaves schedules out when editing (PUT keeps them apart)', () => {
    const job = formToJob(form({ id: 'x', cmd: 'c', scheduled: true }), { schedules: [{ id: 'a' }] }, false);
    expect(job.schedules).toBeUndefined();
  });

  it('drops the image and the schedule when cleared', () => {
    const withBoth = formToJob(form({ id: 'x', image: 'busybox', scheduled: true }));
    const cleared = formToJob(form({ id: 'x', cmd: 'c' }), withBoth);
    expect(cleared.run).not.toHaveProperty('docker');
    expect(cleared).not.toHaveProperty('schedules');
  });
});

describe('jobToForm', () => {
  it("reads Metronome's job JSON back, EQ as IS", () => {
    const f = jobToForm({
      id: 'prod.example.app',
      description: 'Example',
      run: {
        cmd: 'nuke',
        cpus: 1.5,
        mem: 32,
        disk: 128,
        docker: { image: 'foo/bla:test' },
        restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 120 },
        env: { MON: 'test', SECRET: { secret: 's' } },
        placement: { constraints: [{ attribute: 'rack', operator: 'EQ', value: 'rack-2' }] },
      },
      schedules: [{ id: 'every', cron: '* * * * *', timezone: 'America/Chicago', enabled: false }],
    });
    expect(f).toMatchObject({
      id: 'prod.example.app',
      description: 'Example',
      cmd: 'nuke',
      image: 'foo/bla:test',
      cpus: '1.5',
      mem: '32',
      disk: '128',
      restartPolicy: 'ON_FAILURE',
      activeDeadlineSeconds: '120',
      env: [{ key: 'MON', value: 'test' }],
      constraints: [{ attribute: 'rack', operator: 'IS', value: 'rack-2' }],
      scheduled: true,
      schedule: { id: 'every', cron: '* * * * *', timezone: 'America/Chicago', enabled: false },
    });
  });

  it('round-trips the form', () => {
    const f = form({ id: 'a.b', cmd: 'echo', scheduled: true, env: [{ key: 'K', value: 'v' }] });
    expect(jobToForm(formToJob(f))).toEqual(f);
  });
});

describe('jobFieldForIssue', () => {
  it.each([
    ['id', 'id'],
    ['run.cpus', 'cpus'],
    ['run.args', 'cmd'],
    ['run.docker.image', 'image'],
    ['run.env.A.secret', 'env'],
    ['run.restart.activeDeadlineSeconds', 'restart'],
    ['run.placement.constraints.0.operator', 'constraints'],
    ['schedules.0.cron', 'cron'],
    ['schedules.0.id', 'scheduleId'],
    ['schedules.1.cron', undefined],
    ['labels.x', undefined],
  ])('%s → %s', (path, field) => {
    expect(jobFieldForIssue(path)).toBe(field);
  });
});

describe('status', () => {
  it('is Running with an active run, Scheduled with an enabled schedule, else Idle', () => {
    expect(jobStatus({ activeRuns: [{}], schedules: [] })).toBe('Running');
    expect(jobStatus({ activeRuns: [], schedules: [{ enabled: false }, { enabled: true }] })).toBe(
      'Scheduled',
    );
    expect(jobStatus({ activeRuns: [], schedules: [{ enabled: false }] })).toBe('Idle');
    expect(jobStatus({})).toBe('Idle');
  });

  it('takes the later of the last success and failure', () => {
    expect(lastOutcome({ lastSuccessAt: null, lastFailureAt: null })).toBeNull();
    expect(
      lastOutcome({ lastSuccessAt: '2024-01-02T00:00:00Z', lastFailureAt: '2024-01-01T00:00:00Z' }),
    ).toEqual({ status: 'SUCCESS', at: '2024-01-02T00:00:00Z' });
    expect(
      lastOutcome({ lastSuccessAt: '2024-01-01T00:00:00Z', lastFailureAt: '2024-01-03T00:00:00Z' }),
    ).toEqual({ status: 'FAILED', at: '2024-01-03T00:00:00Z' });
  });

  it("picks the earliest enabled schedule's next run", () => {
    expect(
      nextRunOf([
        { enabled: true, nextRunAt: '2030-01-02T00:00:00Z' },
        { enabled: false, nextRunAt: null },
        { enabled: true, nextRunAt: '2030-01-01T00:00:00Z' },
      ]),
    ).toBe('2030-01-01T00:00:00Z');
    expect(nextRunOf([])).toBeNull();
  });

  it('sends a schedule without nextRunAt and with UTC for an empty zone', () => {
    expect(
      scheduleToJson({
        id: 's',
        cron: '@hourly',
        timezone: ' ',
        startingDeadlineSeconds: '',
        concurrencyPolicy: 'ALLOW',
        enabled: false,
      }),
    ).toEqual({ id: 's', cron: '@hourly', timezone: 'UTC', concurrencyPolicy: 'ALLOW', enabled: false });
  });
});
