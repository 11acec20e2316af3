import { TRPCClientError } from '@trpc/client';
import type { Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError, issuesOf, type Issue } from '../errors';
import { duration, formatFields, formatTable, num, timestamp } from '../format';
import { readJsonObject } from './app';
import { truncate } from './package';
import { parseLines, printTaskLog, type TaskLogOptions } from './task';

export type JobRow = Awaited<ReturnType<AtollClient['jobs']['get']['query']>>;
export type RunRow = Awaited<ReturnType<AtollClient['jobs']['runs']['query']>>[number];
export type ScheduleRow = Awaited<ReturnType<AtollClient['jobs']['schedules']['query']>>[number];
export type JobHistory = Awaited<ReturnType<AtollClient['jobs']['history']['query']>>;
export type HistorySummary = NonNullable<JobRow['historySummary']>;

/** How much of a job's description `job list` shows. */
const LIST_DESCRIPTION_WIDTH = 40;

/**
 * `atoll job …`: Metronome's jobs as `dcos job` drives them. Files hold Metronome's JSON as is;
 * the commands call tRPC `jobs.*`, the procedures behind /v1/jobs.
 */
export function registerJobCommands(program: Command, ctx: CommandContext): void {
  const job = program
    .command('job')
    .description('batch jobs (Metronome): definitions, cron schedules, runs and their history');

  job
    .command('add')
    .description('create a job from a Metronome job definition (JSON, schedules included)')
    .argument('<file.json|->', 'the job definition; - reads it from standard input')
    .action(async (file: string) => {
      const definition = await readJob(file, ctx);
      const created = await withFieldErrors('job', file, async () =>
        (await ctx.client()).jobs.create.mutate({ job: definition }),
      );
      const schedules = created.schedules ?? [];
      ctx.print(
        created,
        () =>
          `Created job ${created.id}` +
          (schedules.length > 0 ? ` with ${plural(schedules.length, 'schedule')}` : ''),
      );
    });

  job
    .command('list')
    .description('list jobs: status, last run and next scheduled run')
    .action(async () => {
      const jobs = await (
        await ctx.client()
      ).jobs.list.query({ embed: ['activeRuns', 'schedules', 'historySummary'] });
      ctx.print(jobs, () => (jobs.length === 0 ? 'No jobs.' : jobTable(jobs)));
    });

  job
    .command('show')
    .description('show a job: its definition, schedules, active runs and run summary')
    .argument('<id>', 'job id, e.g. prod.example.app')
    .action(async (id: string) => {
      const view = await (
        await ctx.client()
      ).jobs.get.query({ id, embed: ['activeRuns', 'schedules', 'historySummary'] });
      ctx.print(view, () => jobDetail(view));
    });

  job
    .command('update')
    .description('replace a job’s description, labels and run (its schedules stay; see `job schedule`)')
    .argument('<file.json|->', 'the job definition with its id; - reads it from standard input')
    .action(async (file: string) => {
      const definition = await readJob(file, ctx);
      if (typeof definition.id !== 'string' || definition.id === '')
        throw new CliError(`${sourceName(file)} has no "id": it names the job to update`);
      if (Array.isArray(definition.schedules) && definition.schedules.length > 0)
        ctx.warn(
          `the schedules in ${sourceName(file)} are left as they are; change them with \`atoll job schedule update\``,
        );
      const id = definition.id;
      const updated = await withFieldErrors('job', file, async () =>
        (await ctx.client()).jobs.update.mutate({ id, job: definition }),
      );
      ctx.print(updated, () => `Updated job ${updated.id}`);
    });

  job
    .command('remove')
    .description('delete a job and its schedules (refused while it runs, unless --stop-current-job-runs)')
    .argument('<id>', 'job id')
    .option('--stop-current-job-runs', 'stop the job’s active runs first')
    .action(async (id: string, opts: { stopCurrentJobRuns?: boolean }) => {
      const removed = await (
        await ctx.client()
      ).jobs.remove.mutate({ id, stopCurrentJobRuns: opts.stopCurrentJobRuns === true });
      ctx.print(removed, () => `Removed job ${removed.id}`);
    });

  job
    .command('run')
    .description('start a run of a job now; prints the run’s id')
    .argument('<id>', 'job id')
    .action(async (id: string) => {
      const run = await (await ctx.client()).jobs.start.mutate({ id });
      ctx.print(run, () => `Started run ${run.id} of job ${run.jobId}`);
    });

  job
    .command('kill')
    .description('stop a run of a job (its task is killed with the job’s grace period), or all with --all')
    .argument('<id>', 'job id')
    .argument('[runId]', 'the run to stop (see `atoll job runs <id>`)')
    .option('--all', 'stop every active run of the job')
    .action(async (id: string, runId: string | undefined, opts: { all?: boolean }) => {
      if ((runId === undefined) === (opts.all !== true))
        throw new CliError('give a run id or --all', {
          hints: [`atoll job kill ${id} <runId>`, `atoll job kill ${id} --all`],
        });
      const client = await ctx.client();
      const runIds =
        runId !== undefined ? [runId] : (await client.jobs.runs.query({ id, active: true })).map((r) => r.id);
      if (runIds.length === 0) {
        ctx.print([], () => `Job ${id} has no active runs`);
        return;
      }
      const stopped: RunRow[] = [];
      for (const r of runIds) stopped.push(await client.jobs.stop.mutate({ id, runId: r }));
      ctx.print(stopped, () => stopped.map((r) => `Stopping run ${r.id} of job ${r.jobId}`).join('\n'));
    });

  job
    .command('runs')
    .description('list the runs of a job the history holds, newest first')
    .argument('<id>', 'job id')
    .option('--active', 'only the runs that have not finished')
    .action(async (id: string, opts: { active?: boolean }) => {
      const runs = await (await ctx.client()).jobs.runs.query({ id, active: opts.active === true });
      ctx.print(runs, () =>
        runs.length === 0 ? `Job ${id} has no ${opts.active ? 'active ' : ''}runs.` : runTable(runs),
      );
    });

  job
    .command('history')
    .description('a job’s run history: success and failure counts, then its finished runs')
    .argument('<id>', 'job id')
    .action(async (id: string) => {
      const history = await (await ctx.client()).jobs.history.query({ id });
      ctx.print(history, () => historyText(id, history));
    });

  job
    .command('log')
    .description('print the stdout and stderr of a run’s task (default: the newest run)')
    .argument('<id>', 'job id')
    .argument('[runId]', 'the run (see `atoll job runs <id>`)')
    .option('-f, --follow', 'keep printing what the task writes')
    .option('-n, --lines <n>', 'the last n lines, or "all"', parseLines, 100)
    .option('--stdout', 'only stdout')
    .option('--stderr', 'only stderr')
    .action(async (id: string, runId: string | undefined, opts: TaskLogOptions) => {
      const client = await ctx.client();
      let run: RunRow | undefined;
      if (runId !== undefined) run = await client.jobs.run.query({ id, runId });
      else {
        run = (await client.jobs.runs.query({ id }))[0];
        if (!run) throw new CliError(`job ${id} has no runs`, { hints: [`atoll job run ${id}`] });
      }
      const taskId = runLogTask(run);
      if (!taskId)
        throw new CliError(`run ${run.id} of job ${id} has no task yet`, {
          hints: run.placementIssue ? [`waiting: ${run.placementIssue.summary}`] : [],
        });
      await printTaskLog(ctx, taskId, opts);
    });

  const schedule = job.command('schedule').description('a job’s cron schedules');

  schedule
    .command('add')
    .description('add a schedule to a job (Metronome schedule JSON)')
    .argument('<jobId>', 'job id')
    .argument('<file.json|->', 'the schedule; - reads it from standard input')
    .action(async (jobId: string, file: string) => {
      const definition = await readSchedule(file, ctx);
      const created = await withFieldErrors('schedule', file, async () =>
        (await ctx.client()).jobs.createSchedule.mutate({ id: jobId, schedule: definition }),
      );
      ctx.print(
        created,
        () =>
          `Added schedule ${created.id} to job ${jobId}` +
          (created.nextRunAt ? ` (next run ${timestamp(created.nextRunAt)})` : ''),
      );
    });

  schedule
    .command('show')
    .description('list a job’s schedules with their next run')
    .argument('<jobId>', 'job id')
    .action(async (jobId: string) => {
      const schedules = await (await ctx.client()).jobs.schedules.query({ id: jobId });
      ctx.print(schedules, () =>
        schedules.length === 0 ? `Job ${jobId} has no schedules.` : scheduleTable(schedules),
      );
    });

  schedule
    .command('update')
    .description('replace a schedule of a job (the file’s "id" names it)')
    .argument('<jobId>', 'job id')
    .argument('<file.json|->', 'the schedule with its id; - reads it from standard input')
    .action(async (jobId: string, file: string) => {
      const definition = await readSchedule(file, ctx);
      if (typeof definition.id !== 'string' || definition.id === '')
        throw new CliError(`${sourceName(file)} has no "id": it names the schedule to update`);
      const scheduleId = definition.id;
      const updated = await withFieldErrors('schedule', file, async () =>
        (await ctx.client()).jobs.updateSchedule.mutate({ id: jobId, scheduleId, schedule: definition }),
      );
      ctx.print(
        updated,
        () =>
          `Updated schedule ${updated.id} of job ${jobId}` +
          (updated.nextRunAt ? ` (next run ${timestamp(updated.nextRunAt)})` : ' (disabled)'),
      );
    });

  schedule
    .command('remove')
    .description('delete a schedule of a job')
    .argument('<jobId>', 'job id')
    .argument('<scheduleId>', 'schedule id')
    .action(async (jobId: string, scheduleId: string) => {
      await (await ctx.client()).jobs.removeSchedule.mutate({ id: jobId, scheduleId });
      ctx.print({ jobId, scheduleId, removed: true }, () => `Removed schedule ${scheduleId} of job ${jobId}`);
    });
}

function sourceName(file: string): string {
  return file === '-' ? 'standard input' : file;
}

function readJob(file: string, ctx: CommandContext): Promise<Record<string, unknown>> {
  return readJsonObject(file, ctx.io, {
    what: 'the job definition',
    mustHold: 'one job definition (a JSON object)',
  });
}

function readSchedule(file: string, ctx: CommandContext): Promise<Record<string, unknown>> {
  return readJsonObject(file, ctx.io, {
    what: 'the schedule',
    mustHold: 'one schedule (a JSON object)',
  });
}

/**
 * Runs a call that sends a file's JSON and turns the server's refusal naming fields (422 with
 * issues) into an error naming the file and each field, once.
 */
async function withFieldErrors<T>(
  kind: 'job' | 'schedule',
  file: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const issues = fieldIssues(err);
    if (issues.length === 0) throw err;
    throw new CliError(`invalid ${kind} (${sourceName(file)}):`, {
      hints: issues.map((i) => `${i.path || '(input)'}: ${i.message}`),
      cause: err,
    });
  }
}

/** The issues of a tRPC error, with the procedure's wrapper (`job.`, `schedule.`) taken off. */
export function fieldIssues(err: unknown): Issue[] {
  if (!(err instanceof TRPCClientError)) return [];
  return issuesOf(err.data).map((i) => ({ ...i, path: i.path.replace(/^(job|schedule)(\.|$)/, '') }));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Running while a run is active, Scheduled with an enabled schedule, else Idle. */
export function jobStatus(job: Pick<JobRow, 'activeRuns' | 'schedules'>): 'Running' | 'Scheduled' | 'Idle' {
  if ((job.activeRuns ?? []).length > 0) return 'Running';
  if ((job.schedules ?? []).some((s) => s.enabled)) return 'Scheduled';
  return 'Idle';
}

/** The outcome of the newest finished run: `SUCCESS 2025-01-02T03:04:05Z`, `-` before any. */
export function lastRun(summary: HistorySummary | undefined): string {
  const success = summary?.lastSuccessAt ?? null;
  const failure = summary?.lastFailureAt ?? null;
  if (!success && !failure) return '-';
  if (success && (!failure || Date.parse(success) >= Date.parse(failure)))
    return `SUCCESS ${timestamp(success)}`;
  return `FAILED ${timestamp(failure)}`;
}

/** The earliest next run of the enabled schedules, `-` when none fires. */
export function nextRun(schedules: ScheduleRow[] | undefined): string {
  const next = (schedules ?? [])
    .filter((s) => s.enabled && s.nextRunAt)
    .map((s) => s.nextRunAt!)
    .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  return timestamp(next);
}

/** `job list`. */
export function jobTable(jobs: JobRow[], width = LIST_DESCRIPTION_WIDTH): string {
  return formatTable(
    ['ID', 'STATUS', 'LAST RUN', 'NEXT RUN', 'DESCRIPTION'],
    jobs.map((j) => [
      j.id,
      jobStatus(j),
      lastRun(j.historySummary),
      nextRun(j.schedules),
      j.description ? truncate(j.description, width) : '',
    ]),
  );
}

/** The image a run spec names (`docker.image`, or a docker `ucr.image.id`). */
function imageOf(run: Record<string, unknown>): string | undefined {
  const docker = run.docker as { image?: unknown } | undefined;
  if (typeof docker?.image === 'string') return docker.image;
  const ucr = run.ucr as { image?: { id?: unknown; kind?: unknown } } | undefined;
  return typeof ucr?.image?.id === 'string' && (ucr.image.kind ?? 'docker') === 'docker'
    ? ucr.image.id
    : undefined;
}

function restartOf(run: Record<string, unknown>): string | undefined {
  const restart = run.restart as { policy?: unknown; activeDeadlineSeconds?: unknown } | undefined;
  if (typeof restart?.policy !== 'string') return undefined;
  return typeof restart.activeDeadlineSeconds === 'number'
    ? `${restart.policy} within ${restart.activeDeadlineSeconds}s`
    : restart.policy;
}

function numberField(run: Record<string, unknown>, key: string, unit = ''): string | undefined {
  const v = run[key];
  return typeof v === 'number' ? `${num(v)}${unit}` : undefined;
}

/** `job show`: the definition and summary, then its schedules and active runs. */
export function jobDetail(job: JobRow): string {
  const run = job.run;
  const labels = Object.entries(job.labels).map(([k, v]) => `${k}=${v}`);
  const summary = job.historySummary;
  let text = formatFields([
    ['ID', job.id],
    ['DESCRIPTION', job.description],
    ['STATUS', jobStatus(job)],
    ['LABELS', labels.join(', ')],
    ['CMD', typeof run.cmd === 'string' ? run.cmd : undefined],
    ['ARGS', Array.isArray(run.args) ? run.args.map(String).join(' ') : undefined],
    ['IMAGE', imageOf(run)],
    ['CPUS', numberField(run, 'cpus')],
    ['MEM', numberField(run, 'mem', ' MiB')],
    ['DISK', numberField(run, 'disk', ' MiB')],
    ['GPUS', typeof run.gpus === 'number' && run.gpus > 0 ? num(run.gpus) : undefined],
    ['RESTART', restartOf(run)],
    ['LAST RUN', lastRun(summary)],
    ['NEXT RUN', nextRun(job.schedules)],
    ['RUNS', summary ? `${summary.successCount} successful, ${summary.failureCount} failed` : undefined],
  ]);
  const schedules = job.schedules ?? [];
  text += '\n' + (schedules.length ? `Schedules:\n${scheduleTable(schedules)}` : 'No schedules.\n');
  const active = job.activeRuns ?? [];
  text += '\n' + (active.length ? `Active runs:\n${runTable(active)}` : 'No active runs.\n');
  return text;
}

/** `job schedule show`, and the schedules of `job show`. */
export function scheduleTable(schedules: ScheduleRow[]): string {
  return formatTable(
    ['ID', 'CRON', 'TIMEZONE', 'ENABLED', 'CONCURRENCY', 'DEADLINE', 'NEXT RUN'],
    schedules.map((s) => [
      s.id,
      s.cron,
      s.timezone,
      s.enabled ? 'yes' : 'no',
      s.concurrencyPolicy,
      `${s.startingDeadlineSeconds}s`,
      s.enabled ? timestamp(s.nextRunAt) : '-',
    ]),
  );
}

/** Seconds between two ISO times as `2m05s`; `-` without an end. */
function between(from: string, to: string | null): string {
  if (!to) return '-';
  return duration((Date.parse(to) - Date.parse(from)) / 1000);
}

/** What a run is waiting for or why it ended, `-` when there is nothing to say. */
export function runNote(run: RunRow): string {
  if (run.stopRequested && run.status !== 'SUCCESS' && run.status !== 'FAILED') return 'stopping';
  if (run.placementIssue && (run.status === 'INITIAL' || run.status === 'STARTING'))
    return `waiting: ${run.placementIssue.summary}`;
  if (run.reason) return run.reason;
  const task = run.tasks.at(-1);
  if (run.status === 'FAILED' && task?.exitCode !== null && task?.exitCode !== undefined)
    return `exit code ${task.exitCode}`;
  return '-';
}

/** `job runs`, and the active runs of `job show`. */
export function runTable(runs: RunRow[]): string {
  return formatTable(
    ['RUN ID', 'STATUS', 'STARTED', 'FINISHED', 'DURATION', 'ATTEMPTS', 'TASK', 'NOTE'],
    runs.map((r) => [
      r.id,
      r.status,
      timestamp(r.createdAt),
      timestamp(r.completedAt),
      between(r.createdAt, r.completedAt),
      String(r.attempts),
      r.tasks.at(-1)?.id ?? '-',
      runNote(r),
    ]),
    ['left', 'left', 'left', 'left', 'right', 'right', 'left', 'left'],
  );
}

/** The task whose log `job log` prints: the run's newest attempt (tasks are oldest first). */
export function runLogTask(run: Pick<RunRow, 'tasks'>): string | undefined {
  return run.tasks.at(-1)?.id;
}

/** `job history`: the counts and last times, then the finished runs newest first. */
export function historyText(jobId: string, h: JobHistory): string {
  let text = formatFields([
    ['JOB', jobId],
    ['SUCCESSFUL', String(h.successCount)],
    ['FAILED', String(h.failureCount)],
    ['LAST SUCCESS', timestamp(h.lastSuccessAt)],
    ['LAST FAILURE', timestamp(h.lastFailureAt)],
  ]);
  const finished = [
    ...h.successfulFinishedRuns.map((r) => ({ ...r, outcome: 'SUCCESS' })),
    ...h.failedFinishedRuns.map((r) => ({ ...r, outcome: 'FAILED' })),
  ].sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt) || b.id.localeCompare(a.id));
  text += '\n';
  if (finished.length === 0) return text + 'No finished runs.\n';
  return (
    text +
    formatTable(
      ['RUN ID', 'OUTCOME', 'STARTED', 'FINISHED', 'DURATION', 'TASKS'],
      finished.map((r) => [
        r.id,
        r.outcome,
        timestamp(r.createdAt),
        timestamp(r.finishedAt),
        between(r.createdAt, r.finishedAt),
        r.tasks.join(',') || '-',
      ]),
      ['left', 'left', 'left', 'left', 'right', 'left'],
    )
  );
}
