'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useState, type ReactNode } from 'react';
import { jobDefinition } from '../../../../components/job-editor';
import {
  JobStatusBadge,
  RunStatusBadge,
  ScheduleFields,
  Toggle,
  fmtInZone,
  fmtSince,
  runReason,
  type ScheduleIssues,
} from '../../../../components/jobs';
import { JsonEditor } from '../../../../components/json-editor';
import { TaskLogs } from '../../../../components/task-logs';
import {
  Button,
  Card,
  ConfirmDialog,
  Dialog,
  Empty,
  ErrorBox,
  FieldError,
  Loading,
  MutationError,
  PageHeader,
  Table,
  Tabs,
  TaskStateBadge,
  cx,
  rowClass,
  tdClass,
  thClass,
} from '../../../../components/ui';
import { fmtAgo, fmtCpus, fmtDuration, fmtMem, fmtTime, plural } from '../../../../lib/format';
import {
  initialSchedule,
  jobStatus,
  nextRunOf,
  runSeconds,
  scheduleFieldForIssue,
  scheduleToForm,
  scheduleToJson,
  type ScheduleForm,
} from '../../../../lib/job-form';
import { jobEditHref, jobHref } from '../../../../lib/links';
import { toJsonText } from '../../../../lib/service-form';
import { errorCode, errorMessage, fieldIssues, useNow, useTRPC } from '../../../../lib/trpc';
import type { Job, JobRun, JobSchedule, TaskState } from '../../../../lib/types';
import { useUrlParams } from '../../../../lib/url-state';

const tabKeys = ['runs', 'schedules', 'configuration'] as const;
type TabKey = (typeof tabKeys)[number];
const activeStatuses: ReadonlyArray<JobRun['status']> = ['INITIAL', 'STARTING', 'ACTIVE'];
const isActive = (r: JobRun) => activeStatuses.includes(r.status);

export default function JobDetailPage() {
  return (
    <Suspense fallback={<Loading />}>
      <JobDetail />
    </Suspense>
  );
}

function useInvalidateJobs() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.jobs.pathKey() });
}

function JobDetail() {
  const trpc = useTRPC();
  const router = useRouter();
  const invalidate = useInvalidateJobs();
  const [params, setParams] = useUrlParams();
  const id = params.get('id') ?? '';
  const tabParam = params.get('tab');
  const tab: TabKey = (tabKeys as readonly string[]).includes(tabParam ?? '') ? (tabParam as TabKey) : 'runs';
  const [deleting, setDeleting] = useState(false);

  const job = useQuery(
    trpc.jobs.get.queryOptions(
      { id, embed: ['activeRuns', 'schedules', 'historySummary'] },
      { enabled: id !== '' },
    ),
  );
  const runNow = useMutation(
    trpc.jobs.start.mutationOptions({
      onSuccess: async (run) => {
        setParams({ tab: null, run: run.id, task: null });
        await invalidate();
      },
    }),
  );
  const remove = useMutation(
    trpc.jobs.remove.mutationOptions({
      onSuccess: async () => {
        setDeleting(false);
        await invalidate();
        router.push('/jobs');
      },
    }),
  );

  const crumbs = [{ href: '/jobs', label: 'Jobs' }];
  if (!id) {
    return (
      <div>
        <PageHeader title="Job" crumbs={crumbs} />
        <ErrorBox title="No job" error="the address names no job (?id=…)" />
      </div>
    );
  }
  if (job.error) {
    return (
      <div>
        <PageHeader title={id} crumbs={crumbs} />
        {errorCode(job.error) === 'NOT_FOUND' ? (
          <Card>
            <Empty>
              Job {id} does not exist (any more).{' '}
              <Link href="/jobs" className="text-accent hover:underline">
                Back to jobs
              </Link>
            </Empty>
          </Card>
        ) : (
          <ErrorBox error={job.error} />
        )}
      </div>
    );
  }
  if (!job.data) return <Loading what="Loading job" />;

  const j = job.data;
  const active = j.activeRuns ?? [];
  const schedules = j.schedules ?? [];
  const image =
    typeof j.run.docker === 'object' && j.run.docker ? (j.run.docker as { image?: string }).image : '';
  const cmd = typeof j.run.cmd === 'string' ? j.run.cmd : '';

  return (
    <div>
      <PageHeader
        crumbs={crumbs}
        title={
          <span className="flex items-center gap-3">
            <span data-testid="job-title">{j.id}</span>
            <JobStatusBadge status={jobStatus(j)} testId="job-status" />
          </span>
        }
        subtitle={
          <span className="flex flex-wrap gap-x-4 gap-y-1">
            {j.description && <span>{j.description}</span>}
            <span>
              {fmtCpus(Number(j.run.cpus))} CPU · {fmtMem(Number(j.run.mem))}
              {Number(j.run.disk) > 0 && ` · ${fmtMem(Number(j.run.disk))} disk`}
            </span>
            {image && <span className="font-mono text-xs">{image}</span>}
            {cmd && (
              <span className="max-w-96 truncate font-mono text-xs" title={cmd}>
                {cmd}
              </span>
            )}
          </span>
        }
        actions={
          <>
            <Button
              variant="primary"
              onClick={() => runNow.mutate({ id: j.id })}
              disabled={runNow.isPending}
              data-testid="job-run-now"
            >
              {runNow.isPending ? 'Starting…' : 'Run now'}
            </Button>
            <Link
              href={`/events?q=${encodeURIComponent(j.id)}`}
              title={`Events naming ${j.id}`}
              className="inline-flex h-8 items-center justify-center rounded-md border border-line bg-surface px-3 text-sm font-medium whitespace-nowrap text-fg transition-colors hover:bg-surface-2"
              data-testid="job-events"
            >
              Events
            </Link>
            <Button onClick={() => router.push(jobEditHref(j.id))} data-testid="job-edit">
              Edit
            </Button>
            <Button variant="danger" onClick={() => setDeleting(true)} data-testid="job-delete">
              Delete
            </Button>
          </>
        }
      />
      {runNow.error && (
        <div className="mb-4">
          <MutationError error={runNow.error} title="Could not start a run" />
        </div>
      )}

      <Summary job={j} />

      <Tabs
        tabs={[
          {
            key: 'runs',
            label: (
              <span className="inline-flex items-center gap-1.5">
                Runs
                {active.length > 0 && (
                  <span className="rounded-full bg-sky-500/15 px-1.5 text-[11px] text-sky-700 tabular-nums dark:text-sky-300">
                    {active.length}
                  </span>
                )}
              </span>
            ),
          },
          { key: 'schedules', label: `Schedules (${schedules.length})` },
          { key: 'configuration', label: 'Configuration' },
        ]}
        active={tab}
        onChange={(k) => setParams({ tab: k === 'runs' ? null : k })}
      />
      {tab === 'runs' && <RunsTab job={j} />}
      {tab === 'schedules' && <SchedulesTab job={j} />}
      {tab === 'configuration' && <ConfigurationTab job={j} />}

      <ConfirmDialog
        open={deleting}
        onClose={() => {
          setDeleting(false);
          remove.reset();
        }}
        onConfirm={() => remove.mutate({ id: j.id, stopCurrentJobRuns: active.length > 0 })}
        title={`Delete ${j.id}`}
        message={
          <span data-testid="job-delete-message">
            Delete the job <strong>{j.id}</strong>
            {schedules.length > 0 ? `, its ${plural(schedules.length, 'schedule')}` : ''} and its run history
            {active.length > 0
              ? `, and stop its ${plural(active.length, 'active run')} (their tasks are killed)`
              : ''}
            .
          </span>
        }
        confirmLabel={active.length > 0 ? 'Stop runs and delete' : 'Delete'}
        pending={remove.isPending}
        error={remove.error}
        testId="job-delete-dialog"
        confirmTestId="job-delete-confirm"
      />
    </div>
  );
}

function Stat({
  label,
  value,
  sub,
  testId,
}: {
  label: string;
  value: ReactNode;
  sub?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="rounded-lg border border-line bg-surface px-4 py-3" data-testid={testId}>
      <div className="text-[11px] font-semibold tracking-wide text-muted uppercase">{label}</div>
      <div className="mt-1 text-lg font-semibold tabular-nums">{value}</div>
      {sub && <div className="text-xs text-muted">{sub}</div>}
    </div>
  );
}

/** History counts, the last success and failure, and the next scheduled run. */
function Summary({ job }: { job: Job }) {
  const now = useNow();
  const h = job.historySummary;
  const next = nextRunOf(job.schedules);
  const nextSchedule = job.schedules?.find((s) => s.nextRunAt === next);
  return (
    <div className="mb-5 grid grid-cols-2 gap-3 md:grid-cols-5" data-testid="job-summary">
      <Stat
        label="Successful runs"
        value={<span className="text-emerald-700 dark:text-emerald-300">{h?.successCount ?? 0}</span>}
        testId="job-success-count"
      />
      <Stat
        label="Failed runs"
        value={
          <span className={cx((h?.failureCount ?? 0) > 0 && 'text-red-700 dark:text-red-300')}>
            {h?.failureCount ?? 0}
          </span>
        }
        testId="job-failure-count"
      />
      <Stat
        label="Last success"
        value={<span className="text-base">{fmtSince(h?.lastSuccessAt, now)}</span>}
        sub={h?.lastSuccessAt ? fmtTime(h.lastSuccessAt) : 'none yet'}
      />
      <Stat
        label="Last failure"
        value={<span className="text-base">{fmtSince(h?.lastFailureAt, now)}</span>}
        sub={h?.lastFailureAt ? fmtTime(h.lastFailureAt) : 'none yet'}
      />
      <Stat
        label="Next run"
        value={<span className="text-base">{next ? fmtAgo(next, now) : '—'}</span>}
        sub={
          next && nextSchedule
            ? `${fmtInZone(next, nextSchedule.timezone)} (${nextSchedule.timezone})`
            : 'no enabled schedule'
        }
      />
    </div>
  );
}

// ---- runs ---------------------------------------------------------------------------------------

function RunsTab({ job }: { job: Job }) {
  const trpc = useTRPC();
  const now = useNow(1000);
  const invalidate = useInvalidateJobs();
  const [params, setParams] = useUrlParams();
  const selected = params.get('run');
  const runs = useQuery(trpc.jobs.runs.queryOptions({ id: job.id }));
  const [stopping, setStopping] = useState<JobRun | null>(null);
  const stop = useMutation(
    trpc.jobs.stop.mutationOptions({
      onSuccess: async () => {
        setStopping(null);
        await invalidate();
      },
    }),
  );
  const grace =
    typeof job.run.taskKillGracePeriodSeconds === 'number' ? job.run.taskKillGracePeriodSeconds : 3;

  if (runs.error) return <ErrorBox error={runs.error} />;
  if (!runs.data) return <Loading what="Loading runs" />;
  const run = runs.data.find((r) => r.id === selected);

  return (
    <div className="space-y-4">
      <Card>
        {runs.data.length === 0 ? (
          <Empty>No run yet. Run now starts one; a schedule starts them on time.</Empty>
        ) : (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>Run</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Started</th>
                <th className={cx(thClass, 'text-right')}>Duration</th>
                <th className={cx(thClass, 'text-right')}>Attempts</th>
                <th className={thClass}>Started by</th>
                <th className={thClass}>Reason</th>
                <th className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((r) => {
                const reason = runReason(r);
                const open = r.id === selected;
                return (
                  <tr
                    key={r.id}
                    className={cx(rowClass, 'cursor-pointer', open && 'bg-accent/8')}
                    data-testid="run-row"
                    data-id={r.id}
                    data-status={r.status}
                    aria-selected={open}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a,button')) return;
                      setParams({ run: open ? null : r.id, task: null });
                    }}
                  >
                    <td className={`${tdClass} font-mono text-xs`}>
                      <button
                        type="button"
                        className="hover:text-accent hover:underline"
                        onClick={() => setParams({ run: open ? null : r.id, task: null })}
                        aria-expanded={open}
                        data-testid="run-link"
                      >
                        {r.id}
                      </button>
                    </td>
                    <td className={tdClass}>
                      <RunStatusBadge status={r.status} testId="run-status" />
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-muted`} title={fmtTime(r.createdAt)}>
                      {fmtSince(r.createdAt, now)}
                    </td>
                    <td
                      className={`${tdClass} text-right whitespace-nowrap tabular-nums`}
                      data-testid="run-duration"
                    >
                      {fmtDuration(runSeconds(r, now))}
                    </td>
                    <td className={`${tdClass} text-right tabular-nums`}>{r.attempts}</td>
                    <td className={`${tdClass} whitespace-nowrap text-xs`}>
                      {r.scheduleId ? (
                        <span title={r.scheduledAt ? `due ${fmtTime(r.scheduledAt)}` : undefined}>
                          schedule <span className="font-mono">{r.scheduleId}</span>
                        </span>
                      ) : (
                        <span className="text-muted">on demand</span>
                      )}
                    </td>
                    <td className={`${tdClass} max-w-80`}>
                      {reason ? (
                        <span
                          className={cx(
                            'line-clamp-2 text-xs',
                            r.status === 'INITIAL' ? 'text-amber-700 dark:text-amber-400' : 'text-muted',
                          )}
                          title={reason}
                          data-testid="run-reason"
                        >
                          {reason}
                        </span>
                      ) : (
                        <span className="text-muted">—</span>
                      )}
                    </td>
                    <td className={`${tdClass} text-right`}>
                      {isActive(r) && !r.stopRequested && (
                        <Button size="sm" onClick={() => setStopping(r)} data-testid="run-stop">
                          Stop
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </Card>
      {run && <RunPanel run={run} />}
      <ConfirmDialog
        open={stopping !== null}
        onClose={() => {
          setStopping(null);
          stop.reset();
        }}
        onConfirm={() => stopping && stop.mutate({ id: job.id, runId: stopping.id })}
        title={`Stop run ${stopping?.id ?? ''}`}
        message={
          <>
            Stop this run of <strong>{job.id}</strong>
            {stopping && stopping.tasks.length > 0
              ? `: kill its ${plural(stopping.tasks.filter((t) => !/FINISHED|FAILED|KILLED|GONE/.test(t.status)).length, 'task')} with a ${grace}s grace period`
              : ''}
            . The run ends FAILED and is not restarted.
          </>
        }
        confirmLabel="Stop run"
        pending={stop.isPending}
        error={stop.error}
        testId="run-stop-dialog"
        confirmTestId="run-stop-confirm"
      />
    </div>
  );
}

/** A run's tasks (every attempt) and the log of the one picked. */
function RunPanel({ run }: { run: JobRun }) {
  const now = useNow();
  const [params, setParams] = useUrlParams();
  const taskParam = params.get('task');
  const task = run.tasks.find((t) => t.id === taskParam);
  return (
    <Card
      title={
        <>
          Run <span className="font-mono tracking-normal normal-case">{run.id}</span>
        </>
      }
      actions={<RunStatusBadge status={run.status} />}
    >
      <div data-testid="run-panel">
        {run.placementIssue && isActive(run) && (
          <div
            role="status"
            className="m-3 rounded-md border border-amber-500/40 bg-amber-500/10 px-4 py-3 text-sm text-amber-900 dark:text-amber-200"
            data-testid="run-waiting"
          >
            <strong className="font-semibold">Waiting:</strong> {run.placementIssue.summary}
            {run.placementIssue.excluded && run.placementIssue.excluded.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {run.placementIssue.excluded.map((x) => (
                  <li key={x.nodeId}>
                    {x.hostname}: {x.reason}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {run.tasks.length === 0 ? (
          <Empty>{isActive(run) ? 'No task launched yet.' : 'This run launched no task.'}</Empty>
        ) : (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>Task</th>
                <th className={thClass}>Node</th>
                <th className={thClass}>State</th>
                <th className={thClass}>Started</th>
                <th className={thClass}>Ended</th>
                <th className={cx(thClass, 'text-right')}>Exit code</th>
                <th className={thClass}>
                  <span className="sr-only">Log</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {run.tasks.map((t) => {
                const open = t.id === taskParam;
                return (
                  <tr
                    key={t.id}
                    className={cx(rowClass, open && 'bg-accent/8')}
                    data-testid="run-task-row"
                    data-id={t.id}
                    data-state={t.status}
                  >
                    <td className={`${tdClass} max-w-72 truncate font-mono text-xs`} title={t.id}>
                      {t.id}
                    </td>
                    <td className={tdClass}>
                      <Link href={`/nodes/${t.nodeId}`} className="hover:text-accent hover:underline">
                        {t.host}
                      </Link>
                    </td>
                    <td className={tdClass}>
                      <TaskStateBadge state={t.status as TaskState} />
                      {t.message && (
                        <div className="mt-0.5 max-w-64 truncate text-xs text-muted" title={t.message}>
                          {t.message}
                        </div>
                      )}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-muted`} title={fmtTime(t.startedAt)}>
                      {fmtSince(t.startedAt, now)}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-muted`} title={fmtTime(t.completedAt)}>
                      {fmtSince(t.completedAt, now)}
                    </td>
                    <td className={`${tdClass} text-right tabular-nums`}>{t.exitCode ?? '—'}</td>
                    <td className={`${tdClass} text-right`}>
                      <Button
                        size="sm"
                        variant={open ? 'primary' : 'secondary'}
                        onClick={() => setParams({ task: open ? null : t.id })}
                        aria-expanded={open}
                        data-testid="run-task-log"
                      >
                        {open ? 'Hide log' : 'Log'}
                      </Button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
        {task && (
          <div className="p-3">
            {/* Keyed: another task's log starts from its own beginning. */}
            <TaskLogs key={task.id} taskId={task.id} />
          </div>
        )}
      </div>
    </Card>
  );
}

// ---- schedules ----------------------------------------------------------------------------------

function SchedulesTab({ job }: { job: Job }) {
  const trpc = useTRPC();
  const now = useNow();
  const invalidate = useInvalidateJobs();
  const schedules = job.schedules ?? [];
  const [editing, setEditing] = useState<JobSchedule | 'new' | null>(null);
  const [removing, setRemoving] = useState<JobSchedule | null>(null);
  const toggle = useMutation(trpc.jobs.updateSchedule.mutationOptions({ onSettled: () => invalidate() }));
  const remove = useMutation(
    trpc.jobs.removeSchedule.mutationOptions({
      onSuccess: async () => {
        setRemoving(null);
        await invalidate();
      },
    }),
  );

  return (
    <Card>
      <div className="flex items-center gap-2 border-b border-line p-3">
        <span className="mr-auto text-xs text-muted">
          Schedules start runs at their cron times, in their time zone, on the leader.
        </span>
        <Button size="sm" onClick={() => setEditing('new')} data-testid="schedule-add">
          Add schedule
        </Button>
      </div>
      {toggle.error && (
        <div className="p-3">
          <MutationError error={toggle.error} title="Could not change the schedule" />
        </div>
      )}
      {schedules.length === 0 ? (
        <Empty>No schedule: the job runs when started.</Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Schedule</th>
              <th className={thClass}>Cron</th>
              <th className={thClass}>Time zone</th>
              <th className={thClass}>Next run</th>
              <th className={thClass}>Concurrency</th>
              <th className={cx(thClass, 'text-right')}>Deadline</th>
              <th className={thClass}>Enabled</th>
              <th className={thClass}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} className={rowClass} data-testid="schedule-row" data-id={s.id}>
                <td className={`${tdClass} font-mono text-xs`}>{s.id}</td>
                <td className={`${tdClass} font-mono text-xs`}>{s.cron}</td>
                <td className={tdClass}>{s.timezone}</td>
                <td
                  className={`${tdClass} whitespace-nowrap`}
                  title={s.nextRunAt ? fmtInZone(s.nextRunAt, s.timezone) : undefined}
                >
                  {s.nextRunAt ? fmtAgo(s.nextRunAt, now) : <span className="text-muted">—</span>}
                </td>
                <td className={`${tdClass} text-xs`}>{s.concurrencyPolicy}</td>
                <td className={`${tdClass} text-right tabular-nums`}>{s.startingDeadlineSeconds}s</td>
                <td className={tdClass}>
                  <Toggle
                    on={s.enabled}
                    disabled={toggle.isPending}
                    label={`${s.enabled ? 'Disable' : 'Enable'} schedule ${s.id}`}
                    onChange={(enabled) =>
                      toggle.mutate({
                        id: job.id,
                        scheduleId: s.id,
                        schedule: scheduleToJson({ ...scheduleToForm(s), enabled }, s),
                      })
                    }
                    testId="schedule-toggle"
                  />
                </td>
                <td className={`${tdClass} text-right whitespace-nowrap`}>
                  <div className="inline-flex gap-1">
                    <Button size="sm" onClick={() => setEditing(s)} data-testid="schedule-edit">
                      Edit
                    </Button>
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() => setRemoving(s)}
                      data-testid="schedule-remove"
                    >
                      Remove
                    </Button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <Dialog
        open={editing !== null}
        onClose={() => setEditing(null)}
        title={editing === 'new' ? `Add a schedule to ${job.id}` : `Edit schedule ${editing?.id ?? ''}`}
        testId="schedule-dialog"
        wide
      >
        {editing !== null && (
          <ScheduleEditor
            jobId={job.id}
            schedule={editing === 'new' ? null : editing}
            taken={schedules.map((s) => s.id)}
            onDone={() => setEditing(null)}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={removing !== null}
        onClose={() => {
          setRemoving(null);
          remove.reset();
        }}
        onConfirm={() => removing && remove.mutate({ id: job.id, scheduleId: removing.id })}
        title={`Remove schedule ${removing?.id ?? ''}`}
        message={
          <>
            Remove the schedule <strong>{removing?.id}</strong> (<code>{removing?.cron}</code>) from {job.id}.
            Runs already started go on; no new run starts from it.
          </>
        }
        confirmLabel="Remove"
        pending={remove.isPending}
        error={remove.error}
        testId="schedule-remove-dialog"
        confirmTestId="schedule-remove-confirm"
      />
    </Card>
  );
}

function ScheduleEditor({
  jobId,
  schedule,
  taken,
  onDone,
}: {
  jobId: string;
  schedule: JobSchedule | null;
  taken: string[];
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const invalidate = useInvalidateJobs();
  const [form, setForm] = useState<ScheduleForm>(() =>
    schedule
      ? scheduleToForm(schedule)
      : { ...initialSchedule, id: taken.includes('default') ? `schedule-${taken.length + 1}` : 'default' },
  );
  const [issues, setIssues] = useState<ScheduleIssues & { general?: string[] }>({});
  const onError = (err: unknown) => {
    const next: ScheduleIssues & { general?: string[] } = {};
    for (const i of fieldIssues(err)) {
      const f = scheduleFieldForIssue(i.path);
      if (f) (next[f] ??= []).push(i.message);
      else (next.general ??= []).push(`${i.path}: ${i.message}`);
    }
    if (Object.keys(next).length === 0)
      next[errorCode(err) === 'CONFLICT' ? 'scheduleId' : 'general'] = [errorMessage(err)];
    setIssues(next);
  };
  const done = async () => {
    await invalidate();
    onDone();
  };
  const create = useMutation(trpc.jobs.createSchedule.mutationOptions({ onSuccess: done, onError }));
  const update = useMutation(trpc.jobs.updateSchedule.mutationOptions({ onSuccess: done, onError }));
  const pending = create.isPending || update.isPending;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setIssues({});
        if (schedule)
          update.mutate({ id: jobId, scheduleId: schedule.id, schedule: scheduleToJson(form, schedule) });
        else create.mutate({ id: jobId, schedule: scheduleToJson(form) });
      }}
      noValidate
    >
      <ScheduleFields
        value={form}
        issues={issues}
        idReadOnly={schedule !== null}
        onChange={(patch, field) => {
          setForm((f) => ({ ...f, ...patch }));
          if (field) setIssues(({ [field]: _dropped, ...rest }) => rest);
        }}
      />
      {issues.general?.map((m) => (
        <FieldError key={m}>{m}</FieldError>
      ))}
      <div className="mt-5 flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={pending} data-testid="schedule-save">
          {pending ? 'Saving…' : schedule ? 'Save schedule' : 'Add schedule'}
        </Button>
      </div>
    </form>
  );
}

// ---- configuration ------------------------------------------------------------------------------

function ConfigurationTab({ job }: { job: Job }) {
  const router = useRouter();
  return (
    <Card
      title="Job definition (Metronome JSON)"
      actions={
        <div className="flex gap-2">
          <Button size="sm" onClick={() => router.push(jobEditHref(job.id))} data-testid="config-edit-form">
            Edit as form
          </Button>
          <Button
            size="sm"
            onClick={() => router.push(`${jobEditHref(job.id)}&tab=json`)}
            data-testid="config-edit-json"
          >
            Edit as JSON
          </Button>
        </div>
      }
    >
      <div className="h-[28rem] overflow-hidden" data-testid="job-json">
        <JsonEditor value={toJsonText(jobDefinition(job))} readOnly ariaLabel="Job definition (JSON)" />
      </div>
      <p className="border-t border-line px-4 py-2 text-xs text-muted">
        Schedules are kept apart from the definition (the Schedules tab); <code>GET /v1/jobs/{job.id}</code>{' '}
        answers the same.{' '}
        <Link href={jobHref(job.id, { tab: 'schedules' })} className="text-accent hover:underline">
          Schedules
        </Link>
      </p>
    </Card>
  );
}
