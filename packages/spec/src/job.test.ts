import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jobConstraints, jobImage, parseJob, parseSchedule } from './job';

// The public Metronome examples in shared/fixtures (see its SOURCES.md) beside the repository.
const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/metronome',
);
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(fixturesDir, name), 'utf8'));

const minimal = { id: 'a', run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 } };
const issuesOf = (input: unknown) => {
  const r = parseJob(input);
  return r.ok ? [] : r.issues;
};

describe("Metronome's job spec", () => {
  it("accepts Metronome's full example and keeps every field", () => {
    const r = parseJob(fixture('01-job-full-docker.json'));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const run = r.value.run;
    expect(r.value.id).toBe('prod.example.app');
    expect(run.artifacts).toEqual([
      { uri: 'http://foo.example.com/application.zip', extract: true, executable: true, cache: false },
    ]);
    expect(run.restart).toEqual({ policy: 'NEVER', activeDeadlineSeconds: 120 });
    expect(run.volumes).toEqual([{ containerPath: '/mnt/test', hostPath: '/etc/guest', mode: 'RW' }]);
    expect(run.networks).toEqual([{ name: 'calico', mode: 'container' }]);
    expect(run.maxLaunchDelay).toBe(3600);
    expect(jobImage(run)).toBe('foo/bla:test');
    // EQ is Metronome's spelling of IS.
    expect(jobConstraints(run)).toEqual([['rack', 'IS', 'rack-2']]);
  });

  it('accepts a job with an embedded schedule and fills the schedule defaults', () => {
    const r = parseJob(fixture('02-job-with-cron-schedule.json'));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value.schedules).toEqual([
      {
        id: 'sleep-nightly',
        cron: '20 0 * * *',
        timezone: 'UTC',
        startingDeadlineSeconds: 900,
        concurrencyPolicy: 'ALLOW',
        enabled: true,
      },
    ]);
    expect(r.value.run.restart).toEqual({ policy: 'NEVER' });
    expect(r.value.run.placement.constraints).toEqual([]);
  });

  it("accepts Metronome's schedule example", () => {
    const r = parseSchedule(fixture('schedule-everyminute.json'));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value).toMatchObject({
      id: 'everyminute',
      timezone: 'America/Chicago',
      startingDeadlineSeconds: 60,
    });
  });

  it.each([
    [{ ...minimal, id: 'Prod' }, 'id'],
    [{ ...minimal, id: 'a..b' }, 'id'],
    [{ ...minimal, id: '-a' }, 'id'],
    [{ ...minimal, run: { ...minimal.run, cpus: 0 } }, 'run.cpus'],
    [{ ...minimal, run: { ...minimal.run, mem: 16 } }, 'run.mem'],
    [{ ...minimal, run: { ...minimal.run, disk: -1 } }, 'run.disk'],
    [{ ...minimal, run: { cpus: 0.1, mem: 32, disk: 0 } }, 'run.cmd'],
    [{ ...minimal, run: { ...minimal.run, args: ['x'] } }, 'run.args'],
    [{ ...minimal, run: { ...minimal.run, restart: { policy: 'ALWAYS' } } }, 'run.restart.policy'],
    [{ ...minimal, run: { ...minimal.run, restart: {} } }, 'run.restart.policy'],
    [{ ...minimal, run: { ...minimal.run, unknown: 1 } }, 'run'],
    [
      {
        ...minimal,
        run: { ...minimal.run, placement: { constraints: [{ attribute: 'a', operator: 'UNIQUE' }] } },
      },
      'run.placement.constraints.0.operator',
    ],
    [{ ...minimal, run: { ...minimal.run, env: { X: { secret: 'nope' } } } }, 'run.env.X.secret'],
    [
      { ...minimal, schedules: [{ id: 's', cron: '* * * * *', concurrencyPolicy: 'REPLACE' }] },
      'schedules.0.concurrencyPolicy',
    ],
    [
      { ...minimal, schedules: [{ id: 's', cron: '* * * * *', startingDeadlineSeconds: 0 }] },
      'schedules.0.startingDeadlineSeconds',
    ],
    [{ ...minimal, schedules: [{ id: 's' }] }, 'schedules.0.cron'],
    [
      {
        ...minimal,
        schedules: [
          { id: 's', cron: '* * * * *' },
          { id: 's', cron: '0 * * * *' },
        ],
      },
      'schedules',
    ],
  ])('refuses %j naming %s', (input, field) => {
    expect(issuesOf(input).map((i) => i.path)).toContain(field);
  });

  it('accepts args instead of cmd, an image without a command, and env secrets that are defined', () => {
    expect(issuesOf({ ...minimal, run: { cpus: 0.1, mem: 32, disk: 0, args: ['a', 'b'] } })).toEqual([]);
    expect(issuesOf({ ...minimal, run: { cpus: 0.1, mem: 32, disk: 0, docker: { image: 'x' } } })).toEqual(
      [],
    );
    expect(
      issuesOf({
        ...minimal,
        run: { ...minimal.run, env: { X: { secret: 's1' } }, secrets: { s1: { source: '/db/password' } } },
      }),
    ).toEqual([]);
  });
});
