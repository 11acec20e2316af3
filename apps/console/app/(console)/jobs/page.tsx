'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useMemo, useState } from 'react';
import { IconPlus } from '../../../components/icons';
import { JobStatusBadge, RunStatusBadge, fmtInZone, fmtSince } from '../../../components/jobs';
import {
  Button,
  FilterInput,
  ListCard,
  Loading,
  PageHeader,
  SortTh,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { fmtAgo, fmtTime, matchesFilter, plural, sortBy } from '../../../lib/format';
import { jobStatus, lastOutcome, nextRunOf, type JobStatus } from '../../../lib/job-form';
import { jobHref } from '../../../lib/links';
import { errorMessage, useNow, useTRPC } from '../../../lib/trpc';
import type { Job } from '../../../lib/types';
import { useUrlParams, useUrlSort, useUrlText } from '../../../lib/url-state';

const sortKeys = ['id', 'status', 'next', 'last'] as const;
type SortKey = (typeof sortKeys)[number];
const statusOrder: Record<JobStatus, number> = { Running: 0, Scheduled: 1, Idle: 2 };
const statuses: JobStatus[] = ['Running', 'Scheduled', 'Idle'];

/** The latest thing that happened to a job: its active run, else its last finished one. */
function lastRun(
  job: Job,
): { status: 'ACTIVE' | 'STARTING' | 'INITIAL' | 'SUCCESS' | 'FAILED'; at: string } | null {
  const active = job.activeRuns?.at(-1);
  if (active) return { status: active.status as 'ACTIVE', at: active.createdAt };
  return job.historySummary ? lastOutcome(job.historySummary) : null;
}

const sortValue: Record<SortKey, (j: Job) => string | number | null> = {
  id: (j) => j.id,
  status: (j) => statusOrder[jobStatus(j)],
  next: (j) => {
    const n = nextRunOf(j.schedules);
    return n ? Date.parse(n) : null;
  },
  last: (j) => {
    const l = lastRun(j);
    return l ? -Date.parse(l.at) : null;
  },
};

export default function JobsPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Jobs />
    </Suspense>
  );
}

function Jobs() {
  const trpc = useTRPC();
  const router = useRouter();
  const now = useNow();
  const jobs = useQuery(
    trpc.jobs.list.queryOptions({ embed: ['activeRuns', 'schedules', 'historySummary'] }),
  );
  const [params, setParams] = useUrlParams();
  const [q, setQ] = useUrlText('q');
  const status = params.get('status') ?? '';
  const sort = useUrlSort(sortKeys, 'id');

  const rows = useMemo(() => {
    const matching = (jobs.data ?? []).filter(
      (j) =>
        (!status || jobStatus(j) === status) &&
        matchesFilter(
          q,
          j.id,
          j.description,
          jobStatus(j),
          typeof j.run.cmd === 'string' ? j.run.cmd : null,
          ...(j.schedules ?? []).map((s) => s.cron),
        ),
    );
    return sortBy(matching, sortValue[sort.key], sort.dir);
  }, [jobs.data, q, status, sort.key, sort.dir]);
  const total = jobs.data?.length ?? 0;

  return (
    <div>
      <PageHeader
        title="Jobs"
        subtitle={
          jobs.data
            ? rows.length === total
              ? plural(total, 'job')
              : `${rows.length} of ${plural(total, 'job')}`
            : undefined
        }
        actions={
          <Button variant="primary" onClick={() => router.push('/jobs/new')} data-testid="new-job">
            <IconPlus className="size-4" />
            New job
          </Button>
        }
      />
      <ListCard
        toolbar={
          <>
            <FilterInput
              value={q}
              onChange={setQ}
              placeholder="Filter by id, description, command, cron"
              testId="jobs-filter"
            />
            <select
              value={status}
              onChange={(e) => setParams({ status: e.target.value })}
              className={cx(inputClass.replace('w-full', ''), 'w-40')}
              aria-label="Status"
              data-testid="jobs-status"
            >
              <option value="">All statuses</option>
              {statuses.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </>
        }
        query={jobs}
        loading="Loading jobs"
        empty={
          rows.length === 0 ? (
            total === 0 ? (
              <>
                No jobs yet.{' '}
                <Link href="/jobs/new" className="text-accent hover:underline">
                  Create your first job
                </Link>
                .
              </>
            ) : (
              'No job matches the filter.'
            )
          ) : null
        }
      >
        {() => (
          <Table>
            <thead>
              <tr>
                <SortTh k="id" sort={sort} className="w-[26%]">
                  Job
                </SortTh>
                <th className={thClass}>Schedule</th>
                <SortTh k="next" sort={sort}>
                  Next run
                </SortTh>
                <SortTh k="last" sort={sort}>
                  Last run
                </SortTh>
                <SortTh k="status" sort={sort}>
                  Status
                </SortTh>
                <th className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((j) => (
                <JobRow key={j.id} job={j} now={now} onOpen={() => router.push(jobHref(j.id))} />
              ))}
            </tbody>
          </Table>
        )}
      </ListCard>
    </div>
  );
}

function JobRow({ job: j, now, onOpen }: { job: Job; now: number; onOpen: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [started, setStarted] = useState(false);
  const runNow = useMutation(
    trpc.jobs.start.mutationOptions({
      onSuccess: async () => {
        setStarted(true);
        await queryClient.invalidateQueries({ queryKey: trpc.jobs.pathKey() });
      },
    }),
  );
  const schedules = j.schedules ?? [];
  const next = nextRunOf(schedules);
  const nextSchedule = schedules.find((s) => s.nextRunAt === next);
  const last = lastRun(j);
  const status = jobStatus(j);
  return (
    <tr
      data-testid="job-row"
      data-id={j.id}
      className={cx(rowClass, 'cursor-pointer')}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('a,button')) return;
        onOpen();
      }}
    >
      <td className={tdClass}>
        <Link
          href={jobHref(j.id)}
          className="font-medium hover:text-accent hover:underline"
          data-testid="job-link"
        >
          {j.id}
        </Link>
        {j.description && (
          <div className="mt-0.5 max-w-96 truncate text-xs text-muted" title={j.description}>
            {j.description}
          </div>
        )}
      </td>
      <td className={tdClass} data-testid="job-schedule">
        {schedules.length === 0 ? (
          <span className="text-muted">on demand</span>
        ) : (
          <div className="space-y-0.5">
            {schedules.map((s) => (
              <div key={s.id} className={cx('flex items-center gap-2', !s.enabled && 'text-muted')}>
                <code className="font-mono text-xs">{s.cron}</code>
                <span className="text-[11px] text-muted">{s.timezone}</span>
                {!s.enabled && (
                  <span className="rounded bg-slate-500/12 px-1 text-[10px] font-medium">disabled</span>
                )}
              </div>
            ))}
          </div>
        )}
      </td>
      <td
        className={`${tdClass} whitespace-nowrap`}
        title={
          next && nextSchedule
            ? `${fmtInZone(next, nextSchedule.timezone)} (${nextSchedule.timezone})`
            : undefined
        }
        data-testid="job-next"
      >
        {next ? fmtAgo(next, now) : <span className="text-muted">—</span>}
      </td>
      <td className={`${tdClass} whitespace-nowrap`} data-testid="job-last">
        {last ? (
          <span className="inline-flex items-center gap-2" title={fmtTime(last.at)}>
            <RunStatusBadge status={last.status} />
            <span className="text-muted">{fmtSince(last.at, now)}</span>
          </span>
        ) : (
          <span className="text-muted">never run</span>
        )}
      </td>
      <td className={tdClass}>
        <JobStatusBadge status={status} testId="job-status" />
      </td>
      <td className={`${tdClass} whitespace-nowrap text-right`}>
        {runNow.error && (
          <span className="mr-2 text-xs text-red-600 dark:text-red-400" role="alert">
            {errorMessage(runNow.error)}
          </span>
        )}
        <Button
          size="sm"
          onClick={() => runNow.mutate({ id: j.id })}
          disabled={runNow.isPending}
          data-testid="job-run-now"
          title={`Start a run of ${j.id} now`}
        >
          {runNow.isPending ? 'Starting…' : started && status === 'Running' ? 'Started' : 'Run now'}
        </Button>
      </td>
    </tr>
  );
}
