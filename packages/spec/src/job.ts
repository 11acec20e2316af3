import { z } from 'zod';
import { toFieldIssues, type ParseResult } from './app';

/**
 * Metronome's job (JobSpec) and schedule (ScheduleSpec), with the field names, defaults and
 * limits of its JSON schemas (dcos/metronome api/v1/schema/jobspec.json, schedulespec.json).
 * `parseJob` accepts what a DC/OS user posted to `/v1/jobs` and returns the defaulted form Atoll
 * stores. Cron expressions and time zones are checked where croner lives (the service layer).
 */

/** Metronome's pathType: dot-separated names of lowercase letters, digits and inner dashes. */
export const JOB_ID = /^([a-z0-9]+(-+[a-z0-9]+)*)(\.([a-z0-9]+(-+[a-z0-9]+)*))*$/;
const SCHEDULE_ID = /^([a-z0-9]+(-+[a-z0-9]+)*)(\.([a-z0-9]+(-+[a-z0-9]+)*))*$/;

export const jobIdSchema = z
  .string()
  .min(1, 'id must not be empty')
  .regex(
    JOB_ID,
    'id must be names of lowercase letters, digits and dashes separated by dots; a name may not begin or end with a dash',
  );

export const concurrencyPolicies = ['ALLOW', 'FORBID'] as const;

export const scheduleSchema = z.strictObject({
  id: z
    .string()
    .min(1, 'id must not be empty')
    .regex(
      SCHEDULE_ID,
      'id may only contain digits, dashes and lowercase letters, not beginning or ending with a dash',
    ),
  cron: z.string().trim().min(1, 'cron must not be empty'),
  timezone: z.string().min(1).default('UTC'),
  startingDeadlineSeconds: z
    .number()
    .int('startingDeadlineSeconds must be a whole number')
    .min(1)
    .default(900),
  concurrencyPolicy: z.enum(concurrencyPolicies).default('ALLOW'),
  enabled: z.boolean().default(true),
  // Metronome answers nextRunAt; a schedule read back and posted again carries it. Ignored.
  nextRunAt: z.string().optional(),
});
export type Schedule = z.output<typeof scheduleSchema>;
export type ScheduleInput = z.input<typeof scheduleSchema>;

const envValueSchema = z.union([z.string(), z.strictObject({ secret: z.string().min(1) })]);

const constraintSchema = z.strictObject({
  attribute: z.string().min(1, 'attribute must not be empty'),
  // Metronome's operators; EQ is IS. Atoll's scheduler also has Marathon's others, which Metronome
  // refused: kept refused so a job posted here also works on DC/OS.
  operator: z.enum(['IS', 'EQ', 'LIKE', 'UNLIKE']),
  value: z.string().optional(),
});

const volumeSchema = z.union([
  z.strictObject({
    containerPath: z.string().min(1, 'containerPath must not be empty'),
    hostPath: z.string().min(1, 'hostPath must not be empty'),
    mode: z.enum(['RO', 'RW']),
  }),
  z.strictObject({ containerPath: z.string().min(1), secret: z.string().min(1) }),
]);

export const jobRunSpecSchema = z
  .strictObject({
    cmd: z.string().min(1, 'cmd must not be empty').optional(),
    args: z.array(z.string()).optional(),
    artifacts: z
      .array(
        z.strictObject({
          uri: z.string().min(1),
          executable: z.boolean().optional(),
          extract: z.boolean().optional(),
          cache: z.boolean().optional(),
        }),
      )
      .default([]),
    cpus: z.number().min(0.01, 'cpus must be at least 0.01'),
    mem: z.number().min(32, 'mem must be at least 32 (MiB)'),
    disk: z.number().min(0, 'disk must be 0 or more'),
    gpus: z.number().int().min(0).default(0),
    docker: z
      .strictObject({
        image: z.string().min(1, 'image must not be empty'),
        forcePullImage: z.boolean().default(false),
        privileged: z.boolean().default(false),
        parameters: z.array(z.strictObject({ key: z.string(), value: z.string() })).default([]),
      })
      .optional(),
    ucr: z
      .strictObject({
        image: z.strictObject({
          id: z.string().min(1),
          kind: z.enum(['docker', 'appc']).default('docker'),
          forcePull: z.boolean().default(false),
        }),
        privileged: z.boolean().default(false),
      })
      .optional(),
    env: z.record(z.string(), envValueSchema).default({}),
    secrets: z.record(z.string(), z.strictObject({ source: z.string().min(1) })).default({}),
    networks: z
      .array(
        z.strictObject({
          name: z.string().optional(),
          mode: z.enum(['host', 'container/bridge', 'container']),
          labels: z.record(z.string(), z.string()).optional(),
        }),
      )
      .default([]),
    placement: z
      .strictObject({ constraints: z.array(constraintSchema).default([]) })
      .default({ constraints: [] }),
    maxLaunchDelay: z.number().int().min(1).default(3600),
    taskKillGracePeriodSeconds: z.number().min(0).optional(),
    user: z.string().optional(),
    restart: z
      .strictObject({
        policy: z.enum(['NEVER', 'ON_FAILURE']),
        activeDeadlineSeconds: z.number().int().min(0).optional(),
      })
      .default({ policy: 'NEVER' }),
    volumes: z.array(volumeSchema).default([]),
  })
  .superRefine((run, ctx) => {
    if (run.cmd !== undefined && run.args !== undefined)
      ctx.addIssue({ code: 'custom', path: ['args'], message: 'give cmd or args, not both' });
    if (run.cmd === undefined && run.args === undefined && !run.docker && !run.ucr)
      ctx.addIssue({ code: 'custom', path: ['cmd'], message: 'a job without an image needs cmd or args' });
    if (run.docker && run.ucr)
      ctx.addIssue({ code: 'custom', path: ['ucr'], message: 'give docker or ucr, not both' });
    for (const [name, value] of Object.entries(run.env)) {
      if (typeof value !== 'string' && !(value.secret in run.secrets))
        ctx.addIssue({
          code: 'custom',
          path: ['env', name, 'secret'],
          message: `refers to secret '${value.secret}', which run.secrets does not define`,
        });
    }
  });
export type JobRunSpec = z.output<typeof jobRunSpecSchema>;

export const jobSchema = z.strictObject({
  id: jobIdSchema,
  description: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}),
  run: jobRunSpecSchema,
  // Metronome accepts schedules inside the job on POST /v1/jobs (what `dcos job add` sends).
  schedules: z.array(scheduleSchema).default([]),
  dependencies: z.array(z.strictObject({ id: jobIdSchema })).optional(),
});
export type Job = z.output<typeof jobSchema>;
export type JobInput = z.input<typeof jobSchema>;

/** The job as stored and answered: without its schedules, which live on their own. */
export type JobDefinition = Omit<Job, 'schedules'>;

export function parseJob(input: unknown): ParseResult<Job> {
  const r = jobSchema.safeParse(input);
  if (!r.success) return { ok: false, issues: toFieldIssues(r.error) };
  const ids = r.data.schedules.map((s) => s.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined)
    return { ok: false, issues: [{ path: 'schedules', message: `schedule id '${dup}' appears twice` }] };
  return { ok: true, value: r.data };
}

export function parseSchedule(input: unknown): ParseResult<Schedule> {
  const r = scheduleSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: toFieldIssues(r.error) };
}

/** Metronome's run states. INITIAL: created, not placed; STARTING: a task is staging; ACTIVE: running. */
export const jobRunStatuses = ['INITIAL', 'STARTING', 'ACTIVE', 'SUCCESS', 'FAILED'] as const;
export type JobRunStatus = (typeof jobRunStatuses)[number];
export const activeRunStatuses: readonly JobRunStatus[] = ['INITIAL', 'STARTING', 'ACTIVE'];

/** Metronome's constraint as the scheduler's Marathon triple (EQ is IS). */
export function jobConstraints(run: JobRunSpec): Array<[string, string] | [string, string, string]> {
  return run.placement.constraints.map((c) => {
    const op = c.operator === 'EQ' ? 'IS' : c.operator;
    return c.value === undefined ? [c.attribute, op] : [c.attribute, op, c.value];
  });
}

/** The image a run's task starts from, if any (docker, or a UCR docker image). */
export function jobImage(run: JobRunSpec): string | undefined {
  return run.docker?.image ?? (run.ucr?.image.kind === 'docker' ? run.ucr.image.id : undefined);
}
