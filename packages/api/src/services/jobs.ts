import { randomInt, randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { Prisma } from '@atoll/db';
import { place } from '@atoll/scheduler';
import {
  activeRunStatuses,
  canonicalJson,
  containerLabels,
  isTerminal,
  jobConstraints,
  jobImage,
  parseJob,
  parseSchedule,
  type FieldIssue,
  type Job,
  type JobDefinition,
  type JobRunSpec,
  type JobRunStatus,
  type MountSpec,
  type Schedule,
  type TaskSpec,
  type TaskState,
} from '@atoll/spec';
import type { Services } from '../context';
import { AppError } from '../errors';
import { assertInScope, filterVisible, jobPath } from './access';
import { clusterSnapshot, seedFor, type PlacementIssue } from './decide';
import { applyTaskSecrets, checkJobSecrets, jobSecretUse, resolveTaskSecrets, usesSecrets } from './secrets';
import { applyTaskReports } from './agents';
import { recordEvents, type EventInput } from './events';
import { orderTaskKill } from './kill';
import { nodeStates } from './reconciler';

/**
 * Jobs, Metronome's model: a job is a run spec with optional cron schedules; a run is one task at a
 * time (more after ON_FAILURE restarts), placed by the same scheduler as app tasks and launched by
 * the same agents. Runs and their tasks are rows in PostgreSQL; `reconcileJobs` (the leader's
 * reconcile pass) fires due schedules, places runs, follows their tasks and finishes them, so a
 * restarted or newly elected leader simply continues.
 */

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>;

/** Finished runs kept per job and outcome (Metronome's history); the counters keep the rest. */
export const HISTORY_KEPT = 10;
/** Occurrences looked at when a schedule is behind (a leader down for days): the rest are skipped. */
const MAX_CATCH_UP = 10_000;

// ---------------------------------------------------------------------------------------------
// Shapes answered by the API (Metronome's).

export interface ScheduleView extends Omit<Schedule, 'nextRunAt'> {
  nextRunAt: string | null;
}

export interface RunTaskView {
  id: string;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  host: string;
  nodeId: string;
  message: string | null;
  exitCode: number | null;
}

export interface RunView {
  id: string;
  jobId: string;
  status: JobRunStatus;
  createdAt: string;
  completedAt: string | null;
  tasks: RunTaskView[];
  /** Atoll's additions: what started it, the attempts, why it failed or waits. */
  scheduleId: string | null;
  scheduledAt: string | null;
  attempts: number;
  reason: string | null;
  placementIssue: PlacementIssue | null;
  stopRequested: boolean;
}

export interface FinishedRunView {
  id: string;
  createdAt: string;
  finishedAt: string;
  tasks: string[];
}

export interface HistorySummary {
  successCount: number;
  failureCount: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

export interface History extends HistorySummary {
  successfulFinishedRuns: FinishedRunView[];
  failedFinishedRuns: FinishedRunView[];
}

export interface JobView extends JobDefinition {
  activeRuns?: RunView[];
  schedules?: ScheduleView[];
  history?: History;
  historySummary?: HistorySummary;
}

export const jobEmbeds = ['activeRuns', 'schedules', 'history', 'historySummary'] as const;
export type JobEmbed = (typeof jobEmbeds)[number];

type JobRow = Awaited<ReturnType<S['db']['prisma']['job']['findMany']>>[number];
type ScheduleRow = Awaited<ReturnType<S['db']['prisma']['jobSchedule']['findMany']>>[number];
type TaskRow = Awaited<ReturnType<S['db']['prisma']['task']['findMany']>>[number];
type RunRow = Awaited<ReturnType<S['db']['prisma']['jobRun']['findMany']>>[number] & { tasks: TaskRow[] };

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

function jobDefinition(row: JobRow): JobDefinition {
  return {
    id: row.id,
    ...(row.description !== null ? { description: row.description } : {}),
    labels: row.labels as Record<string, string>,
    run: row.run as unknown as JobRunSpec,
  };
}

function scheduleView(row: ScheduleRow): ScheduleView {
  return {
    id: row.id,
    cron: row.cron,
    timezone: row.timezone,
    startingDeadlineSeconds: row.startingDeadlineSeconds,
    concurrencyPolicy: row.concurrencyPolicy as Schedule['concurrencyPolicy'],
    enabled: row.enabled,
    nextRunAt: row.enabled ? iso(row.nextRunAt) : null,
  };
}

function runTaskView(t: TaskRow): RunTaskView {
  return {
    id: t.id,
    status: t.state,
    startedAt: iso(t.startedAt),
    completedAt: isTerminal(t.state as TaskState) ? iso(t.updatedAt) : null,
    host: t.host,
    nodeId: t.nodeId,
    message: t.message,
    exitCode: t.exitCode,
  };
}

function runView(r: RunRow): RunView {
  return {
    id: r.id,
    jobId: r.jobId,
    status: r.status as JobRunStatus,
    createdAt: r.createdAt.toISOString(),
    completedAt: iso(r.completedAt),
    tasks: [...r.tasks].sort((a, b) => a.stagedAt.getTime() - b.stagedAt.getTime()).map(runTaskView),
    scheduleId: r.scheduleId,
    scheduledAt: iso(r.scheduledAt),
    attempts: r.attempts,
    reason: r.reason,
    placementIssue: (r.placementIssue as PlacementIssue | null) ?? null,
    stopRequested: r.stopRequestedAt !== null,
  };
}

function summaryOf(job: JobRow): HistorySummary {
  return {
    successCount: job.successCount,
    failureCount: job.failureCount,
    lastSuccessAt: iso(job.lastSuccessAt),
    lastFailureAt: iso(job.lastFailureAt),
  };
}

// ---------------------------------------------------------------------------------------------
// Cron.

/** Metronome's cron: five fields (minute hour day-of-month month day-of-week) or a nickname. */
function cronOf(schedule: Pick<Schedule, 'cron' | 'timezone'>): Cron {
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true, mode: '5-part' });
}

/** A schedule's cron expression and time zone, checked: the issues name `cron` or `timezone`. */
export function checkSchedule(schedule: Pick<Schedule, 'cron' | 'timezone'>, prefix = ''): FieldIssue[] {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: schedule.timezone });
  } catch {
    return [
      {
        path: `${prefix}timezone`,
        message: `unknown time zone '${schedule.timezone}' (an IANA name such as Europe/Berlin)`,
      },
    ];
  }
  const fields = schedule.cron.trim().split(/\s+/);
  if (!schedule.cron.trim().startsWith('@') && fields.length !== 5)
    return [
      {
        path: `${prefix}cron`,
        message: `a cron expression has five fields (minute hour day-of-month month day-of-week); '${schedule.cron}' has ${fields.length}`,
      },
    ];
  try {
    const next = cronOf(schedule).nextRun(new Date());
    if (!next) return [{ path: `${prefix}cron`, message: `'${schedule.cron}' never fires` }];
  } catch (err) {
    return [
      {
        path: `${prefix}cron`,
        message: `invalid cron expression '${schedule.cron}': ${(err as Error).message}`,
      },
    ];
  }
  return [];
}

/** The next `count` times a cron expression fires after `from` (the console's cron helper). */
export function nextRunTimes(
  schedule: Pick<Schedule, 'cron' | 'timezone'>,
  count: number,
  from: Date,
): string[] {
  const issues = checkSchedule(schedule);
  if (issues.length > 0) throw AppError.invalid(issues);
  return cronOf(schedule)
    .nextRuns(count, from)
    .map((d) => d.toISOString());
}

// ---------------------------------------------------------------------------------------------
// Jobs.

function parseJobOrThrow(input: unknown): Job {
  const r = parseJob(input);
  if (!r.ok) throw AppError.invalid(r.issues);
  const issues = r.value.schedules.flatMap((sc, i) => checkSchedule(sc, `schedules.${i}.`));
  if (issues.length > 0) throw AppError.invalid(issues);
  return r.value;
}

/** Every function on one job finds it here, so the scope check (its id as a path) is here too. */
async function findJob(s: Pick<S, 'db'>, id: string): Promise<JobRow> {
  assertInScope(s, jobPath(id));
  const job = await s.db.prisma.job.findUnique({ where: { id } });
  if (!job) throw new AppError('NOT_FOUND', `Job '${id}' does not exist`);
  return job;
}

export async function createJob(s: S, input: unknown): Promise<JobView> {
  const job = parseJobOrThrow(input);
  assertInScope(s, jobPath(job.id));
  await checkJobSecrets(s, job.run);
  const now = s.now();
  try {
    await s.db.prisma.$transaction([
      s.db.prisma.job.create({
        data: {
          id: job.id,
          description: job.description ?? null,
          labels: job.labels,
          run: job.run as unknown as Prisma.InputJsonValue,
        },
      }),
      ...job.schedules.map((sc) => s.db.prisma.jobSchedule.create({ data: scheduleData(job.id, sc, now) })),
    ]);
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')
      throw new AppError('CONFLICT', `Job '${job.id}' already exists`);
    throw err;
  }
  await recordEvents(s, [{ type: 'job_created', subject: job.id, payload: { jobId: job.id } }], 'job');
  return getJob(s, job.id, job.schedules.length > 0 ? ['schedules'] : []);
}

/** PUT /v1/jobs/{id}: the job's description, labels and run are replaced; its schedules stay. */
export async function updateJob(s: S, id: string, input: unknown): Promise<JobView> {
  assertInScope(s, jobPath(id));
  const body =
    input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : null;
  if (body && body.id !== undefined && body.id !== id)
    throw AppError.invalid([
      { path: 'id', message: `id '${String(body.id)}' does not match the path's '${id}'` },
    ]);
  const job = parseJobOrThrow(body ? { ...body, id } : input);
  const previous = await findJob(s, id);
  await checkJobSecrets(s, job.run, { previous: previous.run });
  await s.db.prisma.job.update({
    where: { id },
    data: {
      description: job.description ?? null,
      labels: job.labels,
      run: job.run as unknown as Prisma.InputJsonValue,
    },
  });
  await recordEvents(s, [{ type: 'job_updated', subject: id, payload: { jobId: id } }], 'job');
  return getJob(s, id, []);
}

export async function deleteJob(
  s: S,
  id: string,
  opts: { stopCurrentJobRuns?: boolean } = {},
): Promise<JobView> {
  const view = await getJob(s, id, []);
  const active = await s.db.prisma.jobRun.findMany({
    where: { jobId: id, status: { in: [...activeRunStatuses] } },
    include: { tasks: true },
  });
  if (active.length > 0 && !opts.stopCurrentJobRuns)
    throw new AppError(
      'CONFLICT',
      `Job '${id}' has ${active.length} active run(s). Override with stopCurrentJobRuns=true`,
    );
  const now = s.now();
  for (const r of active) await killRunTasks(s, r, now);
  await s.db.prisma.job.delete({ where: { id } });
  await recordEvents(s, [{ type: 'job_deleted', subject: id, payload: { jobId: id } }], 'job');
  return view;
}

export async function getJob(
  s: Pick<S, 'db'>,
  id: string,
  embed: readonly JobEmbed[] = [],
): Promise<JobView> {
  const job = await findJob(s, id);
  return (await embedJobs(s, [job], embed))[0]!;
}

export async function listJobs(s: Pick<S, 'db'>, embed: readonly JobEmbed[] = []): Promise<JobView[]> {
  const jobs = filterVisible(s, await s.db.prisma.job.findMany({ orderBy: { id: 'asc' } }), (j) =>
    jobPath(j.id),
  );
  return embedJobs(s, jobs, embed);
}

async function embedJobs(s: Pick<S, 'db'>, jobs: JobRow[], embed: readonly JobEmbed[]): Promise<JobView[]> {
  const ids = jobs.map((j) => j.id);
  const want = new Set(embed);
  const [schedules, active, finished] = await Promise.all([
    want.has('schedules')
      ? s.db.prisma.jobSchedule.findMany({ where: { jobId: { in: ids } }, orderBy: { createdAt: 'asc' } })
      : [],
    want.has('activeRuns')
      ? s.db.prisma.jobRun.findMany({
          where: { jobId: { in: ids }, status: { in: [...activeRunStatuses] } },
          include: { tasks: true },
          orderBy: { createdAt: 'asc' },
        })
      : [],
    want.has('history')
      ? s.db.prisma.jobRun.findMany({
          where: { jobId: { in: ids }, status: { in: ['SUCCESS', 'FAILED'] } },
          include: { tasks: { select: { id: true } } },
          orderBy: { completedAt: 'desc' },
        })
      : [],
  ]);
  return jobs.map((job) => {
    const view: JobView = jobDefinition(job);
    if (want.has('activeRuns')) view.activeRuns = active.filter((r) => r.jobId === job.id).map(runView);
    if (want.has('schedules'))
      view.schedules = schedules.filter((sc) => sc.jobId === job.id).map(scheduleView);
    if (want.has('historySummary')) view.historySummary = summaryOf(job);
    if (want.has('history')) {
      const mine = finished.filter((r) => r.jobId === job.id);
      const finishedView = (r: (typeof mine)[number]): FinishedRunView => ({
        id: r.id,
        createdAt: r.createdAt.toISOString(),
        finishedAt: (r.completedAt ?? r.createdAt).toISOString(),
        tasks: r.tasks.map((t) => t.id),
      });
      view.history = {
        ...summaryOf(job),
        successfulFinishedRuns: mine.filter((r) => r.status === 'SUCCESS').map(finishedView),
        failedFinishedRuns: mine.filter((r) => r.status === 'FAILED').map(finishedView),
      };
    }
    return view;
  });
}

// ---------------------------------------------------------------------------------------------
// Schedules.

function scheduleData(jobId: string, sc: Schedule, now: Date) {
  return {
    jobId,
    id: sc.id,
    cron: sc.cron,
    timezone: sc.timezone,
    startingDeadlineSeconds: sc.startingDeadlineSeconds,
    concurrencyPolicy: sc.concurrencyPolicy,
    enabled: sc.enabled,
    // Counted from now: a new or changed schedule never fires for times already past.
    nextRunAt: cronOf(sc).nextRun(now),
  };
}

function parseScheduleOrThrow(input: unknown): Schedule {
  const r = parseSchedule(input);
  if (!r.ok) throw AppError.invalid(r.issues);
  const issues = checkSchedule(r.value);
  if (issues.length > 0) throw AppError.invalid(issues);
  return r.value;
}

export async function listSchedules(s: Pick<S, 'db'>, jobId: string): Promise<ScheduleView[]> {
  await findJob(s, jobId);
  const rows = await s.db.prisma.jobSchedule.findMany({ where: { jobId }, orderBy: { createdAt: 'asc' } });
  return rows.map(scheduleView);
}

export async function getSchedule(s: Pick<S, 'db'>, jobId: string, id: string): Promise<ScheduleView> {
  await findJob(s, jobId);
  const row = await s.db.prisma.jobSchedule.findUnique({ where: { jobId_id: { jobId, id } } });
  if (!row) throw new AppError('NOT_FOUND', `Schedule '${id}' of job '${jobId}' does not exist`);
  return scheduleView(row);
}

export async function createSchedule(s: S, jobId: string, input: unknown): Promise<ScheduleView> {
  const sc = parseScheduleOrThrow(input);
  await findJob(s, jobId);
  const exists = await s.db.prisma.jobSchedule.findUnique({ where: { jobId_id: { jobId, id: sc.id } } });
  if (exists) throw new AppError('CONFLICT', `Schedule '${sc.id}' of job '${jobId}' already exists`);
  const row = await s.db.prisma.jobSchedule.create({ data: scheduleData(jobId, sc, s.now()) });
  await recordEvents(
    s,
    [{ type: 'job_schedule_created', subject: jobId, payload: { jobId, scheduleId: sc.id } }],
    'job',
  );
  return scheduleView(row);
}

export async function updateSchedule(s: S, jobId: string, id: string, input: unknown): Promise<ScheduleView> {
  const body =
    input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : null;
  if (body && body.id !== undefined && body.id !== id)
    throw AppError.invalid([
      { path: 'id', message: `id '${String(body.id)}' does not match the path's '${id}'` },
    ]);
  const sc = parseScheduleOrThrow(body ? { ...body, id } : input);
  await getSchedule(s, jobId, id);
  const { jobId: _j, id: _i, ...data } = scheduleData(jobId, sc, s.now());
  const row = await s.db.prisma.jobSchedule.update({ where: { jobId_id: { jobId, id } }, data });
  await recordEvents(
    s,
    [{ type: 'job_schedule_updated', subject: jobId, payload: { jobId, scheduleId: id } }],
    'job',
  );
  return scheduleView(row);
}

export async function deleteSchedule(s: S, jobId: string, id: string): Promise<void> {
  await getSchedule(s, jobId, id);
  await s.db.prisma.jobSchedule.delete({ where: { jobId_id: { jobId, id } } });
  await recordEvents(
    s,
    [{ type: 'job_schedule_deleted', subject: jobId, payload: { jobId, scheduleId: id } }],
    'job',
  );
}

// ---------------------------------------------------------------------------------------------
// Runs.

/** Metronome's run id: the creation time (yyyyMMddHHmmss, UTC) and five random characters. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let tail = '';
  for (let i = 0; i < 5; i++) tail += chars[randomInt(chars.length)];
  return stamp + tail;
}

/** What owns a job task in the scheduler's view (constraints count instances per owner). */
export function jobTaskOwner(runId: string | null): string {
  return `job-run:${runId ?? ''}`;
}

export async function startRun(s: S, jobId: string): Promise<RunView> {
  const job = await findJob(s, jobId);
  const now = s.now();
  const run = await s.db.prisma.jobRun.create({
    data: { id: newRunId(now), jobId, run: job.run as Prisma.InputJsonValue, createdAt: now },
    include: { tasks: true },
  });
  await recordEvents(s, [runEvent('job_run_started', run)], 'job');
  s.poke();
  return runView(run);
}

export async function listRuns(s: Pick<S, 'db'>, jobId: string): Promise<RunView[]> {
  await findJob(s, jobId);
  const runs = await s.db.prisma.jobRun.findMany({
    where: { jobId, status: { in: [...activeRunStatuses] } },
    include: { tasks: true },
    orderBy: { createdAt: 'asc' },
  });
  return runs.map(runView);
}

/** Any run the history still holds, active or finished. */
export async function getRun(s: Pick<S, 'db'>, jobId: string, runId: string): Promise<RunView> {
  await findJob(s, jobId);
  const run = await s.db.prisma.jobRun.findFirst({ where: { id: runId, jobId }, include: { tasks: true } });
  if (!run) throw new AppError('NOT_FOUND', `Run '${runId}' of job '${jobId}' does not exist`);
  return runView(run);
}

/** All runs the history holds, newest first (the console's run list). */
export async function listAllRuns(s: Pick<S, 'db'>, jobId: string): Promise<RunView[]> {
  await findJob(s, jobId);
  const runs = await s.db.prisma.jobRun.findMany({
    where: { jobId },
    include: { tasks: true },
    orderBy: { createdAt: 'desc' },
  });
  return runs.map(runView);
}

/** Stops a run: its task is killed with the job's grace period; the run ends FAILED. */
export async function stopRun(s: S, jobId: string, runId: string): Promise<RunView> {
  const run = await getRun(s, jobId, runId);
  if (run.status === 'SUCCESS' || run.status === 'FAILED')
    throw new AppError('CONFLICT', `Run '${runId}' of job '${jobId}' has already finished (${run.status})`);
  await s.db.prisma.jobRun.update({ where: { id: runId }, data: { stopRequestedAt: s.now() } });
  await recordEvents(
    s,
    [{ type: 'job_run_stop_requested', subject: jobId, payload: { jobId, jobRunId: runId } }],
    'job',
  );
  s.poke();
  return getRun(s, jobId, runId);
}

export async function getHistory(s: Pick<S, 'db'>, jobId: string): Promise<History> {
  return (await getJob(s, jobId, ['history'])).history!;
}

function runEvent(
  type: string,
  run: Pick<RunRow, 'id' | 'jobId' | 'status'>,
  extra: Record<string, unknown> = {},
): EventInput {
  return {
    type,
    subject: run.jobId,
    payload: { jobId: run.jobId, jobRunId: run.id, status: run.status, ...extra },
  };
}

// ---------------------------------------------------------------------------------------------
// The leader's pass.

async function killRunTasks(s: Pick<S, 'db' | 'agents'>, run: RunRow, now: Date): Promise<void> {
  const grace = (run.run as unknown as JobRunSpec).taskKillGracePeriodSeconds ?? 3;
  for (const t of run.tasks)
    if (!isTerminal(t.state as TaskState) && !t.killRequestedAt) await orderTaskKill(s, t, grace, now);
}

/**
 * Fires the schedules that are due. In one transaction per pass: the due schedules are locked, a
 * run is created for each occurrence that should start (unique per occurrence), and the schedule's
 * next occurrence is written, so a leader killed at any point neither loses an occurrence (it is
 * still due for the next leader, within its starting deadline) nor runs one twice.
 */
export async function fireSchedules(s: Pick<S, 'db' | 'bus' | 'now'>): Promise<number> {
  const now = s.now();
  const events: EventInput[] = [];
  let created = 0;
  await s.db.prisma.$transaction(async (tx) => {
    const due = await tx.$queryRaw<
      Array<{
        job_id: string;
        id: string;
        cron: string;
        timezone: string;
        starting_deadline_seconds: number;
        concurrency_policy: string;
        next_run_at: Date;
      }>
    >`SELECT job_id, id, cron, timezone, starting_deadline_seconds, concurrency_policy, next_run_at
      FROM job_schedules WHERE enabled AND next_run_at <= ${now}
      ORDER BY next_run_at FOR UPDATE SKIP LOCKED`;
    if (due.length === 0) return;
    const jobIds = [...new Set(due.map((d) => d.job_id))];
    const jobs = new Map((await tx.job.findMany({ where: { id: { in: jobIds } } })).map((j) => [j.id, j]));
    const activeRows = await tx.jobRun.groupBy({
      by: ['jobId'],
      where: { jobId: { in: jobIds }, status: { in: [...activeRunStatuses] } },
      _count: true,
    });
    const active = new Set(activeRows.map((r) => r.jobId));
    const runs: Prisma.JobRunCreateManyInput[] = [];
    const advanced: Array<{ jobId: string; id: string; nextRunAt: Date | null }> = [];
    for (const d of due) {
      const cron = cronOf({ cron: d.cron, timezone: d.timezone });
      // The occurrences not handled yet, up to now: only the latest may still start.
      let latest = d.next_run_at;
      let missed = 0;
      for (let i = 0; i < MAX_CATCH_UP; i++) {
        const next = cron.nextRun(latest);
        if (!next || next > now) break;
        latest = next;
        missed++;
      }
      advanced.push({ jobId: d.job_id, id: d.id, nextRunAt: cron.nextRun(now) });
      const base = { jobId: d.job_id, scheduleId: d.id, scheduledAt: latest.toISOString() };
      if (missed > 0)
        events.push({
          type: 'job_run_skipped',
          subject: d.job_id,
          payload: { ...base, count: missed, reason: 'missed while no leader ran the schedule' },
        });
      const late = (now.getTime() - latest.getTime()) / 1000;
      if (late > d.starting_deadline_seconds) {
        events.push({
          type: 'job_run_skipped',
          subject: d.job_id,
          payload: {
            ...base,
            count: 1,
            reason: `startingDeadlineSeconds (${d.starting_deadline_seconds}) passed`,
          },
        });
        continue;
      }
      if (d.concurrency_policy === 'FORBID' && active.has(d.job_id)) {
        events.push({
          type: 'job_run_skipped',
          subject: d.job_id,
          payload: { ...base, count: 1, reason: 'concurrencyPolicy FORBID and a run is active' },
        });
        continue;
      }
      const job = jobs.get(d.job_id);
      if (!job) continue;
      const id = newRunId(now);
      runs.push({
        id,
        jobId: d.job_id,
        run: job.run as Prisma.InputJsonValue,
        scheduleId: d.id,
        scheduledAt: latest,
        createdAt: now,
      });
      active.add(d.job_id);
      events.push({
        type: 'job_run_started',
        subject: d.job_id,
        payload: {
          jobId: d.job_id,
          jobRunId: id,
          status: 'INITIAL',
          scheduleId: d.id,
          scheduledAt: latest.toISOString(),
        },
      });
    }
    // One statement for all the schedules (a minute shared by a thousand jobs is one pass's work):
    // a row at a time, that is a thousand round trips while the transaction holds their locks.
    await tx.$executeRaw`UPDATE job_schedules s SET next_run_at = u.next_run_at::timestamptz
      FROM unnest(${advanced.map((a) => a.jobId)}::text[], ${advanced.map((a) => a.id)}::text[],
                  ${advanced.map((a) => a.nextRunAt?.toISOString() ?? null)}::text[]) AS u(job_id, id, next_run_at)
      WHERE s.job_id = u.job_id AND s.id = u.id`;
    if (runs.length > 0) created = (await tx.jobRun.createMany({ data: runs, skipDuplicates: true })).count;
  });
  await recordEvents(s, events, 'job');
  return created;
}

/** A job run's launch: its task's spec (the run's container, command and environment). */
export function taskSpecOf(
  run: { id: string; jobId: string; run: JobRunSpec },
  task: { id: string; host: string; nodeId: string },
): TaskSpec {
  const spec = run.run;
  const image = jobImage(spec);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) if (typeof v === 'string') env[k] = v;
  Object.assign(env, {
    HOST: task.host,
    MESOS_TASK_ID: task.id,
    ATOLL_JOB_ID: run.jobId,
    ATOLL_JOB_RUN_ID: run.id,
  });
  const mounts: MountSpec[] = spec.volumes.flatMap((v) =>
    'hostPath' in v && v.hostPath.startsWith('/')
      ? [
          {
            target: v.containerPath,
            source: { type: 'host' as const, path: v.hostPath },
            readOnly: v.mode === 'RO',
          },
        ]
      : [],
  );
  const bridged = spec.networks.some((n) => n.mode === 'container/bridge');
  return {
    taskId: task.id,
    // Agents group tasks by this id (ended containers kept for logs); a job id never starts with
    // '/', so it never meets an app's.
    appId: run.jobId,
    appVersion: run.id,
    ...(image ? { image } : {}),
    ...(spec.cmd ? { cmd: spec.cmd } : {}),
    ...(spec.args && spec.args.length > 0 ? { args: spec.args } : {}),
    ...(spec.user ? { user: spec.user } : {}),
    env,
    cpus: spec.cpus,
    mem: spec.mem,
    disk: spec.disk,
    network: bridged ? 'bridge' : 'host',
    ports: [],
    labels: {
      [containerLabels.appId]: run.jobId,
      [containerLabels.taskId]: task.id,
      [containerLabels.nodeId]: task.nodeId,
      'io.atoll.job-run-id': run.id,
    },
    forcePullImage: spec.docker?.forcePullImage ?? spec.ucr?.image.forcePull ?? false,
    privileged: spec.docker?.privileged ?? spec.ucr?.privileged ?? false,
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(spec.docker && spec.docker.parameters.length > 0 ? { dockerParameters: spec.docker.parameters } : {}),
    killGracePeriodSeconds: spec.taskKillGracePeriodSeconds ?? 3,
    healthChecks: [],
    readinessChecks: [],
  };
}

/** Seconds before ON_FAILURE's next attempt: 1, 2, 4, … capped by the run's maxLaunchDelay. */
export function restartDelaySeconds(failures: number, maxLaunchDelay: number): number {
  return Math.min(maxLaunchDelay, 2 ** Math.max(0, failures - 1));
}

/**
 * One pass over the active runs: fire due schedules, end runs whose task finished, failed, was
 * stopped or ran past activeDeadlineSeconds, restart ON_FAILURE runs, and place the runs that need
 * a task. Called at the end of the leader's reconcile pass.
 */
export async function reconcileJobs(
  s: Pick<S, 'db' | 'bus' | 'now' | 'agents'> & Pick<Services, 'secrets'>,
): Promise<void> {
  await fireSchedules(s);
  const now = s.now();
  const runs = await s.db.prisma.jobRun.findMany({
    where: { status: { in: [...activeRunStatuses] } },
    include: { tasks: true },
    orderBy: { createdAt: 'asc' },
  });
  if (runs.length === 0) return;
  const events: EventInput[] = [];
  const toPlace: RunRow[] = [];
  // Written together after the loop: a thousand runs ending in one pass are a few statements.
  const finished: Array<{ run: RunRow; status: 'SUCCESS' | 'FAILED'; reason: string | null }> = [];
  const statusChanges: Array<{ id: string; status: JobRunStatus }> = [];
  const finish = (run: RunRow, status: 'SUCCESS' | 'FAILED', reason: string | null) => {
    finished.push({ run, status, reason });
    events.push(
      runEvent(
        status === 'SUCCESS' ? 'job_run_finished' : 'job_run_failed',
        { ...run, status },
        reason ? { reason } : {},
      ),
    );
  };

  for (const run of runs) {
    const spec = run.run as unknown as JobRunSpec;
    const tasks = [...run.tasks].sort((a, b) => a.stagedAt.getTime() - b.stagedAt.getTime());
    const live = tasks.filter((t) => !isTerminal(t.state as TaskState));
    const last = tasks[tasks.length - 1];
    const deadline = spec.restart.activeDeadlineSeconds;
    const pastDeadline =
      deadline !== undefined && deadline > 0 && now.getTime() - run.createdAt.getTime() > deadline * 1000;
    if (run.stopRequestedAt || pastDeadline) {
      await killRunTasks(s, run, now);
      if (live.length === 0)
        finish(
          run,
          'FAILED',
          run.stopRequestedAt ? 'stopped on request' : `ran past activeDeadlineSeconds (${deadline})`,
        );
      continue;
    }
    if (last?.state === 'TASK_FINISHED') {
      finish(run, 'SUCCESS', null);
      continue;
    }
    if (live.length > 0) {
      const status: JobRunStatus = live.some((t) => t.state === 'TASK_RUNNING') ? 'ACTIVE' : 'STARTING';
      if (status !== run.status) {
        statusChanges.push({ id: run.id, status });
        events.push(runEvent('job_run_update', { ...run, status }));
      }
      continue;
    }
    if (last) {
      const why = `task ${last.id} ended ${last.state}${last.exitCode !== null ? ` (exit code ${last.exitCode})` : ''}${last.message ? `: ${last.message}` : ''}`;
      if (spec.restart.policy !== 'ON_FAILURE') {
        finish(run, 'FAILED', why);
        continue;
      }
      const retryAt =
        last.updatedAt.getTime() + restartDelaySeconds(run.attempts, spec.maxLaunchDelay) * 1000;
      if (retryAt > now.getTime()) {
        if (!run.delayUntil || run.delayUntil.getTime() !== retryAt) {
          await s.db.prisma.jobRun.update({
            where: { id: run.id },
            data: { delayUntil: new Date(retryAt), reason: why },
          });
          events.push(runEvent('job_run_update', run, { reason: `restarting after ${why}` }));
        }
        continue;
      }
    }
    toPlace.push(run);
  }

  if (statusChanges.length > 0)
    await s.db.prisma.$executeRaw`UPDATE job_runs r SET status = u.status
      FROM unnest(${statusChanges.map((c) => c.id)}::text[], ${statusChanges.map((c) => c.status)}::text[])
        AS u(id, status)
      WHERE r.id = u.id`;
  if (finished.length > 0) await finishRuns(s, finished, now);
  if (toPlace.length > 0) await placeRuns(s, toPlace, now, events);
  await recordEvents(s, events, 'job');
}

/**
 * Ends runs in one statement: their status, completion and reason, and their jobs' history
 * counters from the rows it changed (a run already ended is neither changed nor counted again);
 * then the history is pruned per job.
 */
async function finishRuns(
  s: Pick<S, 'db'>,
  finished: Array<{ run: RunRow; status: 'SUCCESS' | 'FAILED'; reason: string | null }>,
  now: Date,
): Promise<void> {
  const ids = finished.map((f) => f.run.id);
  const statuses = finished.map((f) => f.status);
  const reasons = finished.map((f) => f.reason);
  await s.db.prisma.$executeRaw`WITH ended AS (
      UPDATE job_runs r
      SET status = u.status, completed_at = ${now}, reason = u.reason, placement_issue = NULL
      FROM unnest(${ids}::text[], ${statuses}::text[], ${reasons}::text[]) AS u(id, status, reason)
      WHERE r.id = u.id AND r.status NOT IN ('SUCCESS', 'FAILED')
      RETURNING r.job_id, r.status)
    UPDATE jobs j
    SET success_count = success_count + e.ok, failure_count = failure_count + e.failed,
        last_success_at = CASE WHEN e.ok > 0 THEN ${now} ELSE last_success_at END,
        last_failure_at = CASE WHEN e.failed > 0 THEN ${now} ELSE last_failure_at END,
        updated_at = ${now}
    FROM (SELECT job_id, count(*) FILTER (WHERE status = 'SUCCESS')::int AS ok,
                 count(*) FILTER (WHERE status = 'FAILED')::int AS failed
          FROM ended GROUP BY job_id) e
    WHERE j.id = e.job_id`;
  await pruneHistory(s, [...new Set(finished.map((f) => f.run.jobId))]);
}

async function placeRuns(
  s: Pick<S, 'db' | 'bus' | 'now' | 'agents'> & Pick<Services, 'secrets'>,
  runs: RunRow[],
  now: Date,
  events: EventInput[],
): Promise<void> {
  const [nodes, tasks] = await Promise.all([
    s.db.prisma.node.findMany(),
    s.db.prisma.task.findMany({
      where: { state: { notIn: ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE'] } },
    }),
  ]);
  const snapshot = clusterSnapshot(
    nodeStates(s, nodes),
    tasks.map((t) => ({
      ...t,
      appId: t.appId ?? jobTaskOwner(t.runId),
      ports: t.ports as Array<{ hostPort: number; protocol: string }>,
    })),
  );
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  const launches: Array<{ run: RunRow; spec: TaskSpec; nodeId: string }> = [];
  const waiting: Array<{ id: string; issue: string }> = [];
  for (const run of runs) {
    const spec = run.run as unknown as JobRunSpec;
    const owner = jobTaskOwner(run.id);
    const demand = {
      appId: owner,
      count: 1,
      cpus: spec.cpus,
      memMb: spec.mem,
      diskMb: spec.disk,
      ports: [],
      constraints: jobConstraints(spec),
    };
    const plan = place(snapshot, [demand], { now: now.getTime(), seed: seedFor(run.id) });
    const placed = plan.placements[0];
    if (!placed) {
      const u = plan.unplaced[0];
      const issue: PlacementIssue = {
        summary: u?.summary ?? 'no node fits',
        reasons: u?.reasons ?? {},
        count: 1,
        excluded: (u?.excluded ?? []).slice(0, 50),
      };
      if (canonicalJson(issue) !== canonicalJson(run.placementIssue ?? null)) {
        waiting.push({ id: run.id, issue: JSON.stringify(issue) });
        events.push(runEvent('job_run_waiting', run, { reason: issue.summary }));
      }
      continue;
    }
    const node = nodeById.get(placed.nodeId)!;
    const taskId = `${run.jobId}_${run.id}.${randomUUID()}`;
    launches.push({
      run,
      nodeId: node.id,
      spec: taskSpecOf(
        { id: run.id, jobId: run.jobId, run: spec },
        { id: taskId, host: node.address, nodeId: node.id },
      ),
    });
    snapshot.nodes
      .find((n) => n.id === node.id)
      ?.allocations.push({
        taskId,
        appId: owner,
        cpus: spec.cpus,
        memMb: spec.mem,
        diskMb: spec.disk,
        hostPorts: [],
      });
  }
  if (waiting.length > 0)
    await s.db.prisma.$executeRaw`UPDATE job_runs r SET placement_issue = u.issue::jsonb
      FROM unnest(${waiting.map((w) => w.id)}::text[], ${waiting.map((w) => w.issue)}::text[]) AS u(id, issue)
      WHERE r.id = u.id`;
  if (launches.length === 0) return;
  // Secret values only in the launch message of the run's task (see reconciler.ts).
  const secretFailures = new Map<string, string>();
  const secretCache = new Map<string, Promise<string>>();
  for (const { run, spec } of launches) {
    const use = jobSecretUse(run.run);
    if (!usesSecrets(use)) continue;
    try {
      applyTaskSecrets(spec, await resolveTaskSecrets(s, use, secretCache));
    } catch (err) {
      secretFailures.set(spec.taskId, (err as Error).message);
    }
  }
  await s.db.prisma.$transaction([
    s.db.prisma.task.createMany({
      data: launches.map(({ run, spec, nodeId }) => ({
        id: spec.taskId,
        runId: run.id,
        appVersion: run.id,
        nodeId,
        state: 'TASK_STAGING',
        host: nodeById.get(nodeId)!.address,
        ports: [],
        cpus: spec.cpus,
        memMb: spec.mem,
        diskMb: spec.disk,
        stagedAt: now,
        updatedAt: now,
      })),
    }),
    s.db.prisma
      .$executeRaw`UPDATE job_runs SET status = 'STARTING', attempts = attempts + 1, placement_issue = NULL, delay_until = NULL
      WHERE id = ANY(${launches.map((l) => l.run.id)}::text[])`,
  ]);
  if (secretFailures.size > 0)
    await applyTaskReports(
      s,
      launches
        .filter((l) => secretFailures.has(l.spec.taskId))
        .map((l) => ({
          nodeId: l.nodeId,
          report: {
            taskId: l.spec.taskId,
            state: 'TASK_FAILED' as const,
            message: secretFailures.get(l.spec.taskId)!,
            at: now.toISOString(),
          },
        })),
    );
  for (const { run, spec, nodeId } of launches) {
    if (secretFailures.has(spec.taskId)) continue;
    s.agents.send(nodeId, { type: 'launchTask', task: spec });
    events.push(runEvent('job_run_update', { ...run, status: 'STARTING' }, { taskId: spec.taskId, nodeId }));
  }
}

/** Keeps the newest HISTORY_KEPT successful and failed runs of each job; their tasks go with them. */
async function pruneHistory(s: Pick<S, 'db'>, jobIds: string[]): Promise<void> {
  await s.db.pool.query(
    `DELETE FROM job_runs WHERE id IN (
       SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY job_id, status ORDER BY completed_at DESC) AS n
         FROM job_runs WHERE job_id = ANY($1::text[]) AND status IN ('SUCCESS', 'FAILED')
       ) ranked WHERE n > $2)`,
    [jobIds, HISTORY_KEPT],
  );
}
