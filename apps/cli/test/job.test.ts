import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';
import type { JobHistory, JobRow, RunRow, ScheduleRow } from '../src/commands/job';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 90_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// `atoll job …` in-process against a real control with a fresh database and one local agent whose
// exec runtime runs a job's `cmd` as a process (no image needed).
describe('atoll job against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(...args: string[]): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
    };
    const code = await run(args, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  /** Runs a command that must succeed and parses its `--json` output. */
  async function atollJson<T>(...args: string[]): Promise<T> {
    const r = await atoll('--json', ...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  }

  async function jsonFile(name: string, value: unknown): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(value, null, 2));
    return file;
  }

  /** The line of `job list` for a job, split on runs of two or more spaces. */
  async function listLine(id: string): Promise<string[] | undefined> {
    const r = await atoll('job', 'list');
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${id} `));
    return line?.split(/\s{2,}/);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-job-'));
    cluster = await startTestCluster({ agent: true, runtime: 'exec' });
    env = { ATOLL_URL: cluster.url, ATOLL_TOKEN: cluster.token, ATOLL_CONFIG: path.join(dir, 'config.json') };
    await waitFor('the agent to connect', async () => {
      const nodes = await atollJson<Array<{ connected: boolean }>>('node', 'list');
      return nodes.length > 0 && nodes.every((n) => n.connected) ? true : undefined;
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('add refuses an invalid job with the server’s message naming the file and field', async () => {
    const file = await jsonFile('bad.json', { id: 'cli.bad', run: { cmd: 'true', cpus: -1, mem: 32 } });
    const r = await atoll('job', 'add', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^error: invalid job \\(${file.replace(/[.]/g, '\\.')}\\):\n  run\\.cpus: `),
    );
    const list = await atollJson<JobRow[]>('job', 'list');
    expect(list.map((j) => j.id)).not.toContain('cli.bad');
  });

  it('adds a job from a file, runs it to SUCCESS, shows its history and log, and removes it', async () => {
    const file = await jsonFile('hello.json', {
      id: 'cli.hello',
      description: 'Says hello from the CLI test',
      labels: { owner: 'cli-test' },
      run: { cmd: 'echo hello-from-atoll-job', cpus: 0.05, mem: 32, disk: 0 },
    });
    const added = await atoll('job', 'add', file);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('Created job cli.hello\n');

    expect(await listLine('cli.hello')).toEqual([
      'cli.hello',
      'Idle',
      '-',
      '-',
      'Says hello from the CLI test',
    ]);
    const shown = await atoll('job', 'show', 'cli.hello');
    expect(shown.stdout).toContain('CMD          echo hello-from-atoll-job\n');
    expect(shown.stdout).toContain('LABELS       owner=cli-test\n');
    expect(shown.stdout).toContain('RUNS         0 successful, 0 failed\n');
    expect(shown.stdout).toContain('No schedules.\n');

    const started = await atoll('job', 'run', 'cli.hello');
    expect(started.stderr).toBe('');
    const runId = /^Started run (\S+) of job cli\.hello\n$/.exec(started.stdout)?.[1];
    expect(runId).toMatch(/^\d{14}[A-Za-z0-9]{5}$/);

    const history = await waitFor('the run to succeed', async () => {
      const h = await atollJson<JobHistory>('job', 'history', 'cli.hello');
      return h.successCount + h.failureCount > 0 ? h : undefined;
    });
    expect(history.failureCount).toBe(0);
    expect(history.successCount).toBe(1);
    expect(history.successfulFinishedRuns.map((r) => r.id)).toEqual([runId]);

    const text = await atoll('job', 'history', 'cli.hello');
    expect(text.stdout).toContain('SUCCESSFUL    1\nFAILED        0\n');
    expect(text.stdout).toMatch(new RegExp(`\n${runId}\\s+SUCCESS\\s+`));

    const runs = await atollJson<RunRow[]>('job', 'runs', 'cli.hello');
    expect(runs.map((r) => [r.id, r.status])).toEqual([[runId, 'SUCCESS']]);
    const line = await listLine('cli.hello');
    expect(line?.[1]).toBe('Idle');
    expect(line?.[2]).toMatch(/^SUCCESS \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const log = await atoll('job', 'log', 'cli.hello', runId!);
    expect(log.stderr).toBe('');
    expect(log.stdout).toContain('hello-from-atoll-job');

    const removed = await atoll('job', 'remove', 'cli.hello');
    expect(removed.stdout).toBe('Removed job cli.hello\n');
    expect((await atollJson<JobRow[]>('job', 'list')).map((j) => j.id)).not.toContain('cli.hello');
    const gone = await atoll('job', 'show', 'cli.hello');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe("error: Job 'cli.hello' does not exist\n");
  });

  it('adds, updates and removes a schedule; the list follows', async () => {
    await atollJson(
      'job',
      'add',
      await jsonFile('nightly.json', {
        id: 'cli.nightly',
        run: { cmd: 'true', cpus: 0.05, mem: 32, disk: 0 },
      }),
    );
    // New Year's midnight in Berlin: it does not fire while the test runs.
    const scheduleFile = await jsonFile('schedule.json', {
      id: 'new-year',
      cron: '0 0 1 1 *',
      timezone: 'Europe/Berlin',
      concurrencyPolicy: 'FORBID',
    });
    const added = await atoll('job', 'schedule', 'add', 'cli.nightly', scheduleFile);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^Added schedule new-year to job cli\.nightly \(next run \S+Z\)\n$/);

    const [schedule] = await atollJson<ScheduleRow[]>('job', 'schedule', 'show', 'cli.nightly');
    expect(schedule).toMatchObject({ id: 'new-year', cron: '0 0 1 1 *', enabled: true });
    // 00:00 in Berlin on January 1st is 23:00 UTC on December 31st (CET, UTC+1).
    expect(schedule!.nextRunAt).toMatch(/^\d{4}-12-31T23:00:00\.000Z$/);
    const table = await atoll('job', 'schedule', 'show', 'cli.nightly');
    expect(table.stdout).toMatch(
      /\nnew-year\s+0 0 1 1 \*\s+Europe\/Berlin\s+yes\s+FORBID\s+\d+s\s+\d{4}-12-31T23:00:00Z\n/,
    );
    expect(await listLine('cli.nightly')).toEqual([
      'cli.nightly',
      'Scheduled',
      '-',
      schedule!.nextRunAt!.replace('.000Z', 'Z'),
    ]);

    const badCron = await atoll(
      'job',
      'schedule',
      'update',
      'cli.nightly',
      await jsonFile('bad-cron.json', { id: 'new-year', cron: '0 0 1 1' }),
    );
    expect(badCron.code).toBe(1);
    expect(badCron.stderr).toMatch(/^error: invalid schedule \(.*bad-cron\.json\):\n {2}cron: .*five fields/);

    const disabled = await atoll(
      'job',
      'schedule',
      'update',
      'cli.nightly',
      await jsonFile('disabled.json', { id: 'new-year', cron: '0 0 1 1 *', enabled: false }),
    );
    expect(disabled.stderr).toBe('');
    expect(disabled.stdout).toBe('Updated schedule new-year of job cli.nightly (disabled)\n');
    expect((await listLine('cli.nightly'))?.slice(0, 4)).toEqual(['cli.nightly', 'Idle', '-', '-']);

    const removed = await atoll('job', 'schedule', 'remove', 'cli.nightly', 'new-year');
    expect(removed.stdout).toBe('Removed schedule new-year of job cli.nightly\n');
    expect(await atollJson<ScheduleRow[]>('job', 'schedule', 'show', 'cli.nightly')).toEqual([]);
    expect((await atoll('job', 'schedule', 'show', 'cli.nightly')).stdout).toBe(
      'Job cli.nightly has no schedules.\n',
    );
    await atollJson('job', 'remove', 'cli.nightly');
  });

  it('update replaces the run; kill stops a running run; remove is refused while it runs', async () => {
    await atollJson(
      'job',
      'add',
      await jsonFile('sleeper.json', {
        id: 'cli.sleeper',
        run: { cmd: 'true', cpus: 0.05, mem: 32, disk: 0 },
      }),
    );
    const updated = await atoll(
      'job',
      'update',
      await jsonFile('sleeper-v2.json', {
        id: 'cli.sleeper',
        description: 'sleeps',
        run: { cmd: 'sleep 300', cpus: 0.05, mem: 32, disk: 0, taskKillGracePeriodSeconds: 1 },
      }),
    );
    expect(updated.stderr).toBe('');
    expect(updated.stdout).toBe('Updated job cli.sleeper\n');
    expect((await atollJson<JobRow>('job', 'show', 'cli.sleeper')).run).toMatchObject({ cmd: 'sleep 300' });

    const run1 = await atollJson<RunRow>('job', 'run', 'cli.sleeper');
    await waitFor('the run to be active', async () => {
      const r = (await atollJson<RunRow[]>('job', 'runs', 'cli.sleeper', '--active'))[0];
      return r?.status === 'ACTIVE' ? r : undefined;
    });
    expect((await listLine('cli.sleeper'))?.[1]).toBe('Running');
    const shown = await atoll('job', 'show', 'cli.sleeper');
    expect(shown.stdout).toMatch(new RegExp(`\nActive runs:\n.*\n${run1.id}\\s+ACTIVE\\s+`));

    const refused = await atoll('job', 'remove', 'cli.sleeper');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: Job 'cli\.sleeper' has 1 active run\(s\)/);

    const killed = await atoll('job', 'kill', 'cli.sleeper', '--all');
    expect(killed.stderr).toBe('');
    expect(killed.stdout).toBe(`Stopping run ${run1.id} of job cli.sleeper\n`);
    const history = await waitFor('the stopped run to end', async () => {
      const h = await atollJson<JobHistory>('job', 'history', 'cli.sleeper');
      return h.failureCount > 0 ? h : undefined;
    });
    expect(history.successCount).toBe(0);
    expect(history.failedFinishedRuns.map((r) => r.id)).toEqual([run1.id]);
    expect((await listLine('cli.sleeper'))?.[1]).toBe('Idle');
    const nothing = await atoll('job', 'kill', 'cli.sleeper', '--all');
    expect(nothing.stdout).toBe('Job cli.sleeper has no active runs\n');

    // A second run, removed with the job.
    const run2 = await atollJson<RunRow>('job', 'run', 'cli.sleeper');
    await waitFor('the second run to be active', async () => {
      const r = await atollJson<RunRow[]>('job', 'runs', 'cli.sleeper', '--active');
      return r.some((x) => x.id === run2.id && x.status === 'ACTIVE') ? true : undefined;
    });
    const removed = await atoll('job', 'remove', 'cli.sleeper', '--stop-current-job-runs');
    expect(removed.stderr).toBe('');
    expect(removed.stdout).toBe('Removed job cli.sleeper\n');
    // Its task is killed: no task of the job is left running.
    await waitFor('the removed job’s task to end', async () => {
      const tasks = await atollJson<Array<{ appId: string }>>('task', 'list');
      return tasks.some((t) => t.appId === 'cli.sleeper') ? undefined : true;
    });
  });
});
