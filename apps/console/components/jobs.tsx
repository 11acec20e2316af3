'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import { fmtAgo } from '../lib/format';
import { concurrencyPolicies, type JobStatus, type ScheduleForm } from '../lib/job-form';
import { errorMessage, fieldIssues, useNow, useTRPC } from '../lib/trpc';
import type { JobRun } from '../lib/types';
import { FieldError, cx, inputClass } from './ui';

// ---- badges -------------------------------------------------------------------------------------

const jobTone: Record<JobStatus, string> = {
  Running: 'bg-sky-500/12 text-sky-700 ring-sky-600/25 dark:text-sky-300 dark:ring-sky-400/25',
  Scheduled:
    'bg-emerald-500/12 text-emerald-700 ring-emerald-600/25 dark:text-emerald-300 dark:ring-emerald-400/25',
  Idle: 'bg-slate-500/12 text-slate-600 ring-slate-500/25 dark:text-slate-300 dark:ring-slate-400/25',
};
const jobDot: Record<JobStatus, string> = {
  Running: 'bg-sky-500 animate-pulse',
  Scheduled: 'bg-emerald-500',
  Idle: 'bg-slate-400',
};

/** The job's status, in the look of the services' status badge. */
export function JobStatusBadge({ status, testId }: { status: JobStatus; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-status={status}
      className={cx(
        'inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        jobTone[status],
      )}
    >
      <span className={cx('size-1.5 rounded-full', jobDot[status])} aria-hidden />
      {status}
    </span>
  );
}

type RunStatus = JobRun['status'];
const runTone: Record<RunStatus, string> = {
  INITIAL: 'text-amber-800 dark:text-amber-300 bg-amber-500/15',
  STARTING: 'text-sky-700 dark:text-sky-300 bg-sky-500/12',
  ACTIVE: 'text-sky-700 dark:text-sky-300 bg-sky-500/12',
  SUCCESS: 'text-emerald-700 dark:text-emerald-300 bg-emerald-500/12',
  FAILED: 'text-red-700 dark:text-red-300 bg-red-500/12',
};

/** A run's status with Metronome's names, in the look of the task state badge. */
export function RunStatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-status={status}
      title={status === 'INITIAL' ? 'Created, waiting to be placed' : undefined}
      className={cx('inline-flex rounded px-1.5 py-0.5 font-mono text-[11px] font-medium', runTone[status])}
    >
      {status}
    </span>
  );
}

/** Why a run failed or waits, or that a stop was asked for. */
export function runReason(run: JobRun): string | null {
  if (run.stopRequested && (run.status === 'INITIAL' || run.status === 'STARTING' || run.status === 'ACTIVE'))
    return 'stopping (asked to stop)';
  if (run.reason) return run.reason;
  if (run.placementIssue) return `waiting: ${run.placementIssue.summary}`;
  return null;
}

/**
 * How long ago something happened. The page's clock ticks every few seconds, so a time the
 * server wrote a moment ago can be ahead of it: that is "just now", not "in 2s".
 */
export function fmtSince(iso: string | null | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  return fmtAgo(iso, Number.isNaN(t) ? now : Math.max(now, t));
}

// ---- time in a zone -------------------------------------------------------------------------------

/** A time as seen in a schedule's time zone, e.g. "Mon 14 Jul, 03:00". */
export function fmtInZone(iso: string, timeZone: string): string {
  try {
    return new Date(iso).toLocaleString(undefined, {
      timeZone,
      weekday: 'short',
      day: '2-digit',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
  } catch {
    return iso;
  }
}

/** The IANA zones the browser knows, for the time zone field's suggestions. */
function useTimeZones(): string[] {
  return useMemo(() => {
    try {
      return Intl.supportedValuesOf('timeZone');
    } catch {
      return ['UTC'];
    }
  }, []);
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

// ---- the cron helper ---------------------------------------------------------------------------------

/**
 * The next five times a cron expression fires in its zone (jobs.nextRuns, the server's croner, so
 * what is shown is what the leader will do), or why the expression is refused. Follows typing.
 */
export function CronHelper({ cron, timezone }: { cron: string; timezone: string }) {
  const trpc = useTRPC();
  const now = useNow();
  const input = useDebounced({ cron: cron.trim(), timezone: timezone.trim() || 'UTC' }, 250);
  const next = useQuery(
    trpc.jobs.nextRuns.queryOptions(
      { ...input, count: 5 },
      {
        enabled: input.cron !== '',
        placeholderData: keepPreviousData,
        staleTime: 30_000,
        refetchInterval: 60_000,
        retry: false,
      },
    ),
  );
  if (cron.trim() === '') return null;
  const issue = next.error ? (fieldIssues(next.error)[0]?.message ?? errorMessage(next.error)) : null;
  // The times shown still belong to what was typed before (waiting for the pause or the answer).
  const stale =
    next.isPlaceholderData || cron.trim() !== input.cron || (timezone.trim() || 'UTC') !== input.timezone;
  return (
    <div
      className={cx(
        'mt-2 rounded-md border border-line bg-surface-2/60 px-3 py-2 text-xs transition-opacity',
        stale && 'opacity-60',
      )}
      data-testid="cron-helper"
      data-stale={stale}
      aria-live="polite"
      aria-busy={stale}
    >
      {issue ? (
        <p className="text-red-600 dark:text-red-400" data-testid="cron-error" role="alert">
          {issue}
        </p>
      ) : next.data ? (
        <>
          <p className="mb-1 font-medium text-muted">Next runs ({input.timezone})</p>
          <ol className="space-y-0.5 tabular-nums">
            {next.data.map((t) => (
              <li key={t} className="flex justify-between gap-4" data-testid="cron-next">
                <span>{fmtInZone(t, input.timezone)}</span>
                <span className="text-muted">{fmtAgo(t, now)}</span>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p className="text-muted">Working out the next runs…</p>
      )}
    </div>
  );
}

// ---- fields ---------------------------------------------------------------------------------------

export function Field({
  label,
  hint,
  errors,
  children,
}: {
  label: string;
  hint?: ReactNode;
  errors?: string[] | undefined;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hasErr = !!errors && errors.length > 0;
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-xs font-medium text-muted">
        {label}
      </label>
      {children({ id, 'aria-invalid': hasErr, ...(hasErr ? { 'aria-describedby': errId } : {}) })}
      {hasErr ? (
        errors.map((m, i) => (
          <FieldError key={m} id={i === 0 ? errId : undefined}>
            {m}
          </FieldError>
        ))
      ) : hint ? (
        <p className="mt-1 text-xs text-muted/80">{hint}</p>
      ) : null}
    </div>
  );
}

/** A switch (on/off) with a label for screen readers. */
export function Toggle({
  on,
  onChange,
  label,
  disabled,
  testId,
}: {
  on: boolean;
  onChange: (on: boolean) => void;
  label: string;
  disabled?: boolean;
  testId?: string;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={on}
      aria-label={label}
      title={label}
      disabled={disabled}
      onClick={() => onChange(!on)}
      data-testid={testId}
      data-on={on}
      className={cx(
        'relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors disabled:cursor-not-allowed disabled:opacity-50',
        on ? 'bg-accent' : 'bg-track',
      )}
    >
      <span
        aria-hidden
        className={cx(
          'inline-block size-4 rounded-full bg-white shadow transition-transform',
          on ? 'translate-x-4.5' : 'translate-x-0.5',
        )}
      />
    </button>
  );
}

export type ScheduleIssues = Partial<
  Record<'scheduleId' | 'cron' | 'timezone' | 'startingDeadlineSeconds', string[]>
>;

/** The schedule's fields with the cron helper (the new-job form and the schedule dialog). */
export function ScheduleFields({
  value,
  onChange,
  issues,
  idReadOnly = false,
}: {
  value: ScheduleForm;
  onChange: (patch: Partial<ScheduleForm>, field?: keyof ScheduleIssues) => void;
  issues: ScheduleIssues;
  idReadOnly?: boolean;
}) {
  const zones = useTimeZones();
  const listId = useId();
  return (
    <div className="space-y-4">
      <div className="grid gap-4 sm:grid-cols-[2fr_1fr]">
        <Field
          label="Cron"
          hint="minute hour day-of-month month day-of-week, e.g. 0 3 * * 1-5; or @daily, @hourly"
          errors={issues.cron}
        >
          {(p) => (
            <input
              {...p}
              className={cx(inputClass, 'font-mono')}
              value={value.cron}
              onChange={(e) => onChange({ cron: e.target.value }, 'cron')}
              placeholder="*/15 * * * *"
              spellCheck={false}
              data-testid="schedule-cron"
            />
          )}
        </Field>
        <Field label="Schedule ID" errors={issues.scheduleId}>
          {(p) => (
            <input
              {...p}
              className={cx(inputClass, idReadOnly && 'text-muted')}
              value={value.id}
              readOnly={idReadOnly}
              onChange={(e) => onChange({ id: e.target.value }, 'scheduleId')}
              placeholder="nightly"
              spellCheck={false}
              data-testid="schedule-id"
            />
          )}
        </Field>
      </div>
      <CronHelper cron={value.cron} timezone={value.timezone} />
      <div className="grid gap-4 sm:grid-cols-3">
        <Field label="Time zone" errors={issues.timezone}>
          {(p) => (
            <>
              <input
                {...p}
                className={inputClass}
                value={value.timezone}
                onChange={(e) => onChange({ timezone: e.target.value }, 'timezone')}
                list={listId}
                placeholder="UTC"
                spellCheck={false}
                data-testid="schedule-timezone"
              />
              <datalist id={listId}>
                {zones.map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field
          label="Starting deadline (s)"
          hint="Skip a run that cannot start this long after its time (default 900)."
          errors={issues.startingDeadlineSeconds}
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              className={inputClass}
              value={value.startingDeadlineSeconds}
              onChange={(e) =>
                onChange({ startingDeadlineSeconds: e.target.value }, 'startingDeadlineSeconds')
              }
              placeholder="900"
              data-testid="schedule-deadline"
            />
          )}
        </Field>
        <Field
          label="Concurrency"
          hint={
            value.concurrencyPolicy === 'FORBID'
              ? 'Skip a run while another is active.'
              : 'Start runs even while one is active.'
          }
        >
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={value.concurrencyPolicy}
              onChange={(e) => onChange({ concurrencyPolicy: e.target.value })}
              data-testid="schedule-concurrency"
            >
              {concurrencyPolicies.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <Toggle
          on={value.enabled}
          onChange={(enabled) => onChange({ enabled })}
          label={value.enabled ? 'Schedule enabled' : 'Schedule disabled'}
          testId="schedule-enabled"
        />
        {value.enabled ? 'Enabled' : 'Disabled: keeps the schedule without running it'}
      </label>
    </div>
  );
}
