'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Suspense, useMemo } from 'react';
import {
  FilterInput,
  Loading,
  PageHeader,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
  ListCard,
} from '../../../components/ui';
import { fmtAgo, fmtTime, matchesFilter, plural } from '../../../lib/format';
import { jobHref, serviceHref } from '../../../lib/links';
import { useNow, useTRPC } from '../../../lib/trpc';
import type { ClusterEvent } from '../../../lib/types';
import { useUrlParams, useUrlText } from '../../../lib/url-state';

export default function EventsPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Events />
    </Suspense>
  );
}

function tone(type: string): string {
  if (/fail|lost|error|unreachable|gone|disconnect|waiting/i.test(type))
    return 'text-red-700 dark:text-red-300 bg-red-500/10';
  if (/kill|terminat|remov|delet|skipped|stop/i.test(type))
    return 'text-orange-700 dark:text-orange-300 bg-orange-500/10';
  if (/success|running|joined|connected|job_run_finished/i.test(type))
    return 'text-emerald-700 dark:text-emerald-300 bg-emerald-500/10';
  return 'text-sky-700 dark:text-sky-300 bg-sky-500/10';
}

function Subject({ e }: { e: ClusterEvent }) {
  if (!e.subject) return <span className="text-muted">—</span>;
  if (e.subject.startsWith('/')) {
    return (
      <Link href={serviceHref(e.subject)} className="hover:text-accent hover:underline">
        {e.subject}
      </Link>
    );
  }
  // Job events (Metronome's job_* types) name the job; a run's events also name the run.
  if (e.type.startsWith('job_')) {
    const run = typeof e.payload.jobRunId === 'string' ? e.payload.jobRunId : null;
    return (
      <Link
        href={jobHref(e.subject, run ? { run } : {})}
        className="hover:text-accent hover:underline"
        data-testid="event-job-link"
      >
        {e.subject}
      </Link>
    );
  }
  if (e.type.startsWith('node_')) {
    const host = typeof e.payload.hostname === 'string' ? e.payload.hostname : null;
    return (
      <Link href={`/nodes/${e.subject}`} className="hover:text-accent hover:underline" title={e.subject}>
        {host ?? <span className="font-mono text-xs">{e.subject}</span>}
      </Link>
    );
  }
  return <span className="font-mono text-xs">{e.subject}</span>;
}

function Payload({ payload }: { payload: Record<string, unknown> }) {
  const keys = Object.keys(payload);
  if (keys.length === 0) return <span className="text-muted">—</span>;
  const compact = JSON.stringify(payload);
  if (compact.length <= 90) return <code className="font-mono text-xs break-all text-muted">{compact}</code>;
  return (
    <details>
      <summary className="cursor-pointer font-mono text-xs text-muted">{compact.slice(0, 80)}…</summary>
      <pre className="mt-1 max-h-80 overflow-auto rounded bg-surface-2 p-2 font-mono text-[11px]">
        {JSON.stringify(payload, null, 2)}
      </pre>
    </details>
  );
}

function Events() {
  const trpc = useTRPC();
  const now = useNow();
  const events = useQuery(trpc.cluster.events.queryOptions({ limit: 200 }));
  const [params, setParams] = useUrlParams();
  const type = params.get('type') ?? '';
  const [q, setQ] = useUrlText('q');

  const types = useMemo(() => [...new Set((events.data ?? []).map((e) => e.type))].sort(), [events.data]);
  const rows = useMemo(
    () =>
      (events.data ?? []).filter(
        (e) => (!type || e.type === type) && matchesFilter(q, e.type, e.subject, JSON.stringify(e.payload)),
      ),
    [events.data, type, q],
  );
  const total = events.data?.length ?? 0;

  return (
    <div>
      <PageHeader
        title="Events"
        subtitle={
          events.data
            ? `${rows.length === total ? plural(total, 'event') : `${rows.length} of ${plural(total, 'event')}`} (latest 200, live)`
            : undefined
        }
      />
      <ListCard
        toolbar={
          <>
            <FilterInput
              value={q}
              onChange={setQ}
              placeholder="Filter by subject or content"
              testId="events-filter"
            />
            <select
              value={type}
              onChange={(e) => setParams({ type: e.target.value })}
              className={cx(inputClass.replace('w-full', ''), 'w-56')}
              aria-label="Event type"
              data-testid="events-type"
            >
              <option value="">All types</option>
              {type && !types.includes(type) && <option value={type}>{type}</option>}
              {types.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </>
        }
        query={events}
        loading="Loading events"
        empty={
          rows.length === 0 ? <>{total === 0 ? 'No events yet.' : 'No event matches the filter.'}</> : null
        }
      >
        {() => (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>When</th>
                <th className={thClass}>Type</th>
                <th className={thClass}>Subject</th>
                <th className={thClass}>Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} className={rowClass} data-testid="event-row" data-type={e.type}>
                  <td className={`${tdClass} whitespace-nowrap text-muted`} title={fmtTime(e.at)}>
                    {fmtAgo(e.at, now)}
                  </td>
                  <td className={tdClass}>
                    <span
                      className={cx('rounded px-1.5 py-0.5 font-mono text-[11px] font-medium', tone(e.type))}
                    >
                      {e.type}
                    </span>
                  </td>
                  <td className={tdClass}>
                    <Subject e={e} />
                  </td>
                  <td className={`${tdClass} max-w-[36rem]`}>
                    <Payload payload={e.payload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </ListCard>
    </div>
  );
}
