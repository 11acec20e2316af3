/**
 * The job form and its JSON tab describe the same Metronome job (JobSpec, with `schedules` as
 * `dcos job add` posts it). As for services, the JSON is the source of truth: a form edit rewrites
 * only the fields the form owns and keeps everything else (labels, volumes, secrets, artifacts…);
 * a JSON edit refreshes the form fields it knows. Pure functions, tested without a browser.
 */

import { isObject, type EnvRow, type Json } from './service-form';

export const constraintOperators = ['IS', 'LIKE', 'UNLIKE'] as const;
export const concurrencyPolicies = ['ALLOW', 'FORBID'] as const;
export const restartPolicies = ['NEVER', 'ON_FAILURE'] as const;

export interface ConstraintRow {
  attribute: string;
  operator: string;
  value: string;
}

/** The schedule fields, as the texts of their inputs (the new-job form and the schedule dialog). */
export interface ScheduleForm {
  id: string;
  cron: string;
  timezone: string;
  startingDeadlineSeconds: string;
  concurrencyPolicy: string;
  enabled: boolean;
}

/** Every field is the text of its input; numbers are parsed when written to the JSON. */
export interface JobForm {
  id: string;
  description: string;
  cmd: string;
  image: string;
  cpus: string;
  mem: string;
  disk: string;
  restartPolicy: string;
  activeDeadlineSeconds: string;
  env: EnvRow[];
  constraints: ConstraintRow[];
  /** Whether the job gets the schedule below (the first of `schedules`). */
  scheduled: boolean;
  schedule: ScheduleForm;
}

export const initialSchedule: ScheduleForm = {
  id: 'default',
  cron: '0 * * * *',
  timezone: 'UTC',
  startingDeadlineSeconds: '',
  concurrencyPolicy: 'ALLOW',
  enabled: true,
};

export const initialJobForm: JobForm = {
  id: '',
  description: '',
  cmd: '',
  image: '',
  cpus: '0.1',
  mem: '128',
  disk: '0',
  restartPolicy: 'NEVER',
  activeDeadlineSeconds: '',
  env: [],
  constraints: [],
  scheduled: false,
  schedule: initialSchedule,
};

/** A number when the text is one, else the text itself (so the API names the bad field). */
function numberOrText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function setOrDelete(obj: Json, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

/** Writes the schedule fields into a copy of `base` (a schedule as Metronome answers it). */
export function scheduleToJson(form: ScheduleForm, base: Json = {}): Json {
  const s: Json = { ...base };
  // Metronome answers nextRunAt; it is no part of what is sent back.
  delete s.nextRunAt;
  s.id = form.id.trim();
  s.cron = form.cron;
  s.timezone = form.timezone.trim() || 'UTC';
  setOrDelete(s, 'startingDeadlineSeconds', numberOrText(form.startingDeadlineSeconds));
  s.concurrencyPolicy = form.concurrencyPolicy;
  s.enabled = form.enabled;
  return s;
}

export function scheduleToForm(s: Json): ScheduleForm {
  return {
    id: text(s.id),
    cron: text(s.cron),
    timezone: text(s.timezone) || 'UTC',
    startingDeadlineSeconds: text(s.startingDeadlineSeconds),
    concurrencyPolicy: text(s.concurrencyPolicy) || 'ALLOW',
    enabled: s.enabled !== false,
  };
}

/**
 * Writes the form into a copy of `base`, leaving fields the form does not own untouched.
 * `withSchedules` is false when editing: a job's schedules are kept apart (PUT leaves them).
 */
export function formToJob(form: JobForm, base: Json = {}, withSchedules = true): Json {
  const job: Json = { ...base };
  job.id = form.id.trim();
  setOrDelete(job, 'description', form.description.trim() ? form.description : undefined);
  const run: Json = isObject(base.run) ? { ...base.run } : {};
  setOrDelete(run, 'cmd', form.cmd.trim() ? form.cmd : undefined);
  setOrDelete(run, 'cpus', numberOrText(form.cpus));
  setOrDelete(run, 'mem', numberOrText(form.mem));
  setOrDelete(run, 'disk', numberOrText(form.disk));
  if (form.image.trim()) {
    run.docker = { ...(isObject(run.docker) ? run.docker : {}), image: form.image.trim() };
  } else {
    delete run.docker;
  }
  const restart: Json = { policy: form.restartPolicy };
  const deadline = numberOrText(form.activeDeadlineSeconds);
  if (deadline !== undefined) restart.activeDeadlineSeconds = deadline;
  run.restart = restart;

  const env: Json = {};
  // Values the form cannot show (secret references) stay as they are.
  if (isObject(run.env)) for (const [k, v] of Object.entries(run.env)) if (typeof v !== 'string') env[k] = v;
  for (const row of form.env) if (row.key.trim()) env[row.key.trim()] = row.value;
  setOrDelete(run, 'env', Object.keys(env).length > 0 || isObject(run.env) ? env : undefined);

  const constraints = form.constraints
    .filter((c) => c.attribute.trim())
    .map((c) => ({
      attribute: c.attribute.trim(),
      operator: c.operator,
      ...(c.value.trim() ? { value: c.value.trim() } : {}),
    }));
  const placement: Json = isObject(run.placement) ? { ...run.placement } : {};
  if (constraints.length > 0 || isObject(run.placement)) {
    placement.constraints = constraints;
    run.placement = placement;
  }
  job.run = run;

  if (withSchedules) {
    const rest = Array.isArray(base.schedules) ? (base.schedules as unknown[]).slice(1) : [];
    const first = Array.isArray(base.schedules) && isObject(base.schedules[0]) ? base.schedules[0] : {};
    const schedules = form.scheduled ? [scheduleToJson(form.schedule, first), ...rest] : rest;
    setOrDelete(job, 'schedules', schedules.length > 0 ? schedules : undefined);
  } else {
    delete job.schedules;
  }
  return job;
}

/** Reads the fields the form knows out of a job; `prev` keeps what the JSON cannot say. */
export function jobToForm(job: Json, prev: JobForm = initialJobForm): JobForm {
  const run = isObject(job.run) ? job.run : {};
  const docker = isObject(run.docker) ? run.docker : undefined;
  const ucr = isObject(run.ucr) && isObject(run.ucr.image) ? run.ucr.image : undefined;
  const restart = isObject(run.restart) ? run.restart : {};
  const env: EnvRow[] = isObject(run.env)
    ? Object.entries(run.env)
        .filter((e): e is [string, string] => typeof e[1] === 'string')
        .map(([key, value]) => ({ key, value }))
    : [];
  const placement = isObject(run.placement) ? run.placement : {};
  const constraints: ConstraintRow[] = Array.isArray(placement.constraints)
    ? (placement.constraints as unknown[]).filter(isObject).map((c) => ({
        attribute: text(c.attribute),
        operator: text(c.operator) === 'EQ' ? 'IS' : text(c.operator) || 'IS',
        value: text(c.value),
      }))
    : [];
  const first = Array.isArray(job.schedules) ? (job.schedules as unknown[])[0] : undefined;
  return {
    id: text(job.id),
    description: text(job.description),
    cmd: text(run.cmd),
    image: docker ? text(docker.image) : ucr ? text(ucr.id) : '',
    cpus: text(run.cpus),
    mem: text(run.mem),
    disk: text(run.disk),
    restartPolicy: text(restart.policy) || 'NEVER',
    activeDeadlineSeconds: text(restart.activeDeadlineSeconds),
    env,
    constraints,
    scheduled: isObject(first),
    schedule: isObject(first) ? scheduleToForm(first) : prev.schedule,
  };
}

export type JobField =
  | 'id'
  | 'description'
  | 'cmd'
  | 'image'
  | 'cpus'
  | 'mem'
  | 'disk'
  | 'restart'
  | 'env'
  | 'constraints'
  | 'cron'
  | 'timezone'
  | 'scheduleId'
  | 'startingDeadlineSeconds';

/** Which form field an API issue path (`run.cpus`, `schedules.0.cron`) belongs to, if any. */
export function jobFieldForIssue(path: string): JobField | undefined {
  if (path === 'id' || path === 'description') return path;
  if (path === 'run.cmd' || path === 'run.args') return 'cmd';
  if (path === 'run.cpus' || path === 'run.mem' || path === 'run.disk')
    return path.slice(4) as 'cpus' | 'mem' | 'disk';
  if (path.startsWith('run.docker') || path.startsWith('run.ucr')) return 'image';
  if (path.startsWith('run.restart')) return 'restart';
  if (path.startsWith('run.env')) return 'env';
  if (path.startsWith('run.placement')) return 'constraints';
  if (path.startsWith('schedules.0.')) return scheduleFieldForIssue(path.slice('schedules.0.'.length));
  return undefined;
}

/** A schedule dialog's issue path (`cron`, `timezone`, …) as its field. */
export function scheduleFieldForIssue(
  path: string,
): 'scheduleId' | 'cron' | 'timezone' | 'startingDeadlineSeconds' | undefined {
  if (path === 'id') return 'scheduleId';
  if (path === 'cron' || path === 'timezone' || path === 'startingDeadlineSeconds') return path;
  return undefined;
}

// ---- status ------------------------------------------------------------------------------------

export type JobStatus = 'Running' | 'Scheduled' | 'Idle';

/** Running while a run is active; Scheduled when an enabled schedule will start one; else Idle. */
export function jobStatus(job: {
  activeRuns?: unknown[] | undefined;
  schedules?: Array<{ enabled: boolean }> | undefined;
}): JobStatus {
  if ((job.activeRuns?.length ?? 0) > 0) return 'Running';
  if (job.schedules?.some((s) => s.enabled)) return 'Scheduled';
  return 'Idle';
}

/** The outcome of the latest finished run, from the history summary. */
export function lastOutcome(summary: {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}): { status: 'SUCCESS' | 'FAILED'; at: string } | null {
  const { lastSuccessAt: ok, lastFailureAt: ko } = summary;
  if (!ok && !ko) return null;
  if (ok && (!ko || Date.parse(ok) >= Date.parse(ko))) return { status: 'SUCCESS', at: ok };
  return { status: 'FAILED', at: ko as string };
}

/** The earliest next run among enabled schedules. */
export function nextRunOf(
  schedules: Array<{ enabled: boolean; nextRunAt: string | null }> = [],
): string | null {
  const times = schedules
    .filter((s) => s.enabled && s.nextRunAt)
    .map((s) => s.nextRunAt as string)
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return times[0] ?? null;
}

/** Seconds a run took, or has taken so far. */
export function runSeconds(run: { createdAt: string; completedAt: string | null }, now: number): number {
  const end = run.completedAt ? Date.parse(run.completedAt) : now;
  return Math.max(0, Math.round((end - Date.parse(run.createdAt)) / 1000));
}
