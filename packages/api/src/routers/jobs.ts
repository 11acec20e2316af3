import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as jobs from '../services/jobs';

/**
 * Jobs (Metronome's model) for the console and /api/v1. Bodies are Metronome's JSON as is; the
 * service validates them (422 naming the field). Metronome's own paths are in control's
 * routes/metronome.ts and call the same service functions.
 */

const tags = ['jobs'];
const jobId = z.string().min(1, 'jobId is required');
const runId = z.string().min(1, 'runId is required');
const scheduleId = z.string().min(1, 'scheduleId is required');
const json = z.record(z.string(), z.unknown());
const body = z.record(z.string(), z.unknown(), { error: 'the body must be a JSON object' });

const placementIssue = z
  .object({
    summary: z.string(),
    reasons: z.record(z.string(), z.number()),
    count: z.number(),
    excluded: z.array(z.object({ nodeId: z.string(), hostname: z.string(), reason: z.string() })).optional(),
  })
  .nullable();

const runTaskView = z.object({
  id: z.string(),
  status: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  host: z.string(),
  nodeId: z.string(),
  message: z.string().nullable(),
  exitCode: z.number().nullable(),
});

const runView = z.object({
  id: z.string(),
  jobId: z.string(),
  status: z.enum(['INITIAL', 'STARTING', 'ACTIVE', 'SUCCESS', 'FAILED']),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  tasks: z.array(runTaskView),
  scheduleId: z.string().nullable(),
  scheduledAt: z.string().nullable(),
  attempts: z.number(),
  reason: z.string().nullable(),
  placementIssue,
  stopRequested: z.boolean(),
});

const scheduleView = z.object({
  id: z.string(),
  cron: z.string(),
  timezone: z.string(),
  startingDeadlineSeconds: z.number(),
  concurrencyPolicy: z.enum(['ALLOW', 'FORBID']),
  enabled: z.boolean(),
  nextRunAt: z.string().nullable(),
});

const summary = z.object({
  successCount: z.number(),
  failureCount: z.number(),
  lastSuccessAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
});
const finishedRun = z.object({
  id: z.string(),
  createdAt: z.string(),
  finishedAt: z.string(),
  tasks: z.array(z.string()),
});
const history = summary.extend({
  successfulFinishedRuns: z.array(finishedRun),
  failedFinishedRuns: z.array(finishedRun),
});

const jobView = z.object({
  id: z.string(),
  description: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  run: json,
  activeRuns: z.array(runView).optional(),
  schedules: z.array(scheduleView).optional(),
  history: history.optional(),
  historySummary: summary.optional(),
});

// Optional rather than defaulted: trpc-to-openapi reads `?embed=history` (one value) as an array
// only for an array or an optional array; a default hid it and the one value was refused (400).
const embed = z
  .array(z.enum(jobs.jobEmbeds))
  .optional()
  .describe('what to add to each job: activeRuns, schedules, history, historySummary (none when absent)');

export const jobsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/jobs', tags, protect: true, summary: 'All jobs' } })
    .input(z.object({ embed }).default({}))
    .output(z.array(jobView))
    .query(({ ctx, input }) => jobs.listJobs(ctx, input.embed ?? []) as Promise<z.infer<typeof jobView>[]>),
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/jobs/detail', tags, protect: true, summary: 'One job' } })
    .input(z.object({ id: jobId, embed }))
    .output(jobView)
    .query(({ ctx, input }) => jobs.getJob(ctx, input.id, input.embed ?? []) as Promise<z.infer<typeof jobView>>),
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/jobs',
        tags,
        protect: true,
        summary: "Create a job from Metronome's job JSON",
      },
    })
    .input(z.object({ job: body }))
    .output(jobView)
    .mutation(({ ctx, input }) => jobs.createJob(ctx, input.job) as Promise<z.infer<typeof jobView>>),
  update: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/jobs',
        tags,
        protect: true,
        summary: "Replace a job's description, labels and run (its schedules stay)",
      },
    })
    .input(z.object({ id: jobId, job: body }))
    .output(jobView)
    .mutation(
      ({ ctx, input }) => jobs.updateJob(ctx, input.id, input.job) as Promise<z.infer<typeof jobView>>,
    ),
  remove: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/jobs', tags, protect: true, summary: 'Delete a job' } })
    .input(z.object({ id: jobId, stopCurrentJobRuns: z.boolean().default(false) }))
    .output(jobView)
    .mutation(
      ({ ctx, input }) =>
        jobs.deleteJob(ctx, input.id, { stopCurrentJobRuns: input.stopCurrentJobRuns }) as Promise<
          z.infer<typeof jobView>
        >,
    ),
  runs: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/jobs/runs',
        tags,
        protect: true,
        summary: "A job's runs, newest first",
      },
    })
    .input(z.object({ id: jobId, active: z.boolean().default(false) }))
    .output(z.array(runView))
    .query(({ ctx, input }) =>
      input.active ? jobs.listRuns(ctx, input.id) : jobs.listAllRuns(ctx, input.id),
    ),
  run: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/jobs/runs/detail', tags, protect: true, summary: 'One run' } })
    .input(z.object({ id: jobId, runId }))
    .output(runView)
    .query(({ ctx, input }) => jobs.getRun(ctx, input.id, input.runId)),
  start: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/jobs/runs', tags, protect: true, summary: 'Run a job now' } })
    .input(z.object({ id: jobId }))
    .output(runView)
    .mutation(({ ctx, input }) => jobs.startRun(ctx, input.id)),
  stop: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/jobs/runs/stop',
        tags,
        protect: true,
        summary: "Stop a run (its task is killed with the job's grace period)",
      },
    })
    .input(z.object({ id: jobId, runId }))
    .output(runView)
    .mutation(({ ctx, input }) => jobs.stopRun(ctx, input.id, input.runId)),
  history: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/jobs/history', tags, protect: true, summary: "A job's run history" },
    })
    .input(z.object({ id: jobId }))
    .output(history)
    .query(({ ctx, input }) => jobs.getHistory(ctx, input.id)),
  schedules: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/jobs/schedules', tags, protect: true, summary: "A job's schedules" },
    })
    .input(z.object({ id: jobId }))
    .output(z.array(scheduleView))
    .query(({ ctx, input }) => jobs.listSchedules(ctx, input.id)),
  createSchedule: protectedProcedure
    .meta({
      openapi: { method: 'POST', path: '/jobs/schedules', tags, protect: true, summary: 'Add a schedule' },
    })
    .input(z.object({ id: jobId, schedule: body }))
    .output(scheduleView)
    .mutation(({ ctx, input }) => jobs.createSchedule(ctx, input.id, input.schedule)),
  updateSchedule: protectedProcedure
    .meta({
      openapi: { method: 'PUT', path: '/jobs/schedules', tags, protect: true, summary: 'Replace a schedule' },
    })
    .input(z.object({ id: jobId, scheduleId, schedule: body }))
    .output(scheduleView)
    .mutation(({ ctx, input }) => jobs.updateSchedule(ctx, input.id, input.scheduleId, input.schedule)),
  removeSchedule: protectedProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/jobs/schedules',
        tags,
        protect: true,
        summary: 'Delete a schedule',
      },
    })
    .input(z.object({ id: jobId, scheduleId }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await jobs.deleteSchedule(ctx, input.id, input.scheduleId);
      return { ok: true as const };
    }),
  nextRuns: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/jobs/cron',
        tags,
        protect: true,
        summary: 'The next times a cron expression fires (the cron helper)',
      },
    })
    .input(
      z.object({
        cron: z.string().min(1, 'cron is required'),
        timezone: z.string().min(1).default('UTC'),
        count: z.number().int().min(1).max(50).default(5),
      }),
    )
    .output(z.array(z.string()))
    .query(({ ctx, input }) => jobs.nextRunTimes(input, input.count, ctx.now())),
});
