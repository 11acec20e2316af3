'use client';

import { auditCsv } from '@atoll/spec';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Suspense, useEffect, useMemo, useState } from 'react';
import {
  Button,
  FilterInput,
  ListCard,
  Loading,
  PageHeader,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { fmtAgo, fmtTime, plural } from '../../../lib/format';
import { jobHref, serviceHref } from '../../../lib/links';
import { useNow, useTRPC } from '../../../lib/trpc';
import { useUrlParams, useUrlText } from '../../../lib/url-state';

/**
 * The audit trail (docs/audit.md): every write request with who, what, target, result and from
 * where, newest first, admins only. Filters live in the URL; the first pages refresh every few
 * seconds and older ones come with "Load more".
 */
export default function AuditPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Audit />
    </Suspense>
  );
}

const SINCE = {
  '': 'Any time',
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
} as const;
type Since = keyof typeof SINCE;
const SINCE_SECONDS: Record<Exclude<Since, ''>, number> = {
  '15m': 900,
  '1h': 3600,
  '24h': 86400,
  '7d': 7 * 86400,
  '30d': 30 * 86400,
};
const STATUS = ['', '2xx', '3xx', '4xx', '5xx'] as const;
type Status = (typeof STATUS)[number];

interface AuditRecord {
  id: string;
  at: string;
  actorId: string | null;
  actor: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  ip: string | null;
  status: number;
  requestId: string;
}

/** A text filter that reaches the query only once typing pauses. */
function useSettled(value: string, ms = 300): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value.trim()), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

function Audit() {
  const trpc = useTRPC();
  const now = useNow();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const [params, setParams] = useUrlParams();
  const [actorText, setActor] = useUrlText('actor');
  const [actionText, setAction] = useUrlText('action');
  const actor = useSettled(actorText);
  const action = useSettled(actionText);
  const status = (STATUS as readonly string[]).includes(params.get('status') ?? '')
    ? (params.get('status') as Status)
    : '';
  const sinceKey = (Object.keys(SINCE) as Since[]).includes((params.get('since') ?? '') as Since)
    ? (params.get('since') as Since)
    : '';
  // The window's start moves only when the filter changes, so pages stay one consistent list.
  const since = useMemo(
    () => (sinceKey ? new Date(Date.now() - SINCE_SECONDS[sinceKey] * 1000).toISOString() : undefined),
    [sinceKey],
  );
  const isAdmin = me.data?.role === 'admin';

  const input = {
    limit: 100,
    ...(actor ? { actor } : {}),
    ...(action ? (action.startsWith('/') ? { path: action } : { action }) : {}),
    ...(status ? { status } : {}),
    ...(since ? { since } : {}),
  };
  const list = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(input, {
      enabled: isAdmin,
      getNextPageParam: (last) => last.nextCursor ?? undefined,
      // Live-ish: writes are not change events, so the list polls while the page is open.
      refetchInterval: 5000,
      staleTime: 2000,
    }),
  );
  const records: AuditRecord[] = useMemo(
    () => (list.data?.pages ?? []).flatMap((p) => p.records),
    [list.data],
  );
  const filtered = Boolean(actor || action || status || since);

  if (me.isPending) return <Loading />;
  if (!isAdmin) {
    return (
      <div>
        <PageHeader title="Audit" />
        <div
          className="rounded-lg border border-line bg-surface p-6 text-sm text-muted"
          data-testid="audit-admins-only"
        >
          The audit log is for admins. Ask an admin of this cluster for what you need.
        </div>
      </div>
    );
  }

  return (
    <div>
      <PageHeader
        title="Audit"
        actions={
          <Button
            onClick={() => downloadCsv(records)}
            disabled={records.length === 0}
            title="The records shown (load more first for older ones), as CSV"
            data-testid="audit-export"
          >
            Export CSV
          </Button>
        }
        subtitle={
          list.data
            ? `${plural(records.length, 'write')}${list.hasNextPage ? ' (more below)' : ''} — who changed what, when and from where; refreshed every 5 s`
            : undefined
        }
      />
      <ListCard
        toolbar={
          <>
            <FilterInput value={actorText} onChange={setActor} placeholder="User" testId="audit-actor" />
            <FilterInput
              value={actionText}
              onChange={setAction}
              placeholder="Action or path (apps., /v2/apps)"
              testId="audit-action"
            />
            <select
              value={status}
              onChange={(e) => setParams({ status: e.target.value })}
              className={cx(inputClass.replace('w-full', ''), 'w-36')}
              aria-label="Result"
              data-testid="audit-status"
            >
              <option value="">All results</option>
              <option value="2xx">2xx succeeded</option>
              <option value="3xx">3xx redirected</option>
              <option value="4xx">4xx refused</option>
              <option value="5xx">5xx failed</option>
            </select>
            <select
              value={sinceKey}
              onChange={(e) => setParams({ since: e.target.value })}
              className={cx(inputClass.replace('w-full', ''), 'w-44')}
              aria-label="Time"
              data-testid="audit-since"
            >
              {(Object.keys(SINCE) as Since[]).map((k) => (
                <option key={k} value={k}>
                  {SINCE[k]}
                </option>
              ))}
            </select>
          </>
        }
        query={list}
        loading="Loading the audit log"
        empty={
          records.length === 0 ? (
            <>{filtered ? 'No write matches the filters.' : 'No write has been recorded yet.'}</>
          ) : null
        }
      >
        {() => (
          <>
            <Table>
              <thead>
                <tr>
                  <th className={thClass}>When</th>
                  <th className={thClass}>User</th>
                  <th className={thClass}>Action</th>
                  <th className={thClass}>Target</th>
                  <th className={thClass}>Result</th>
                  <th className={thClass}>From</th>
                  <th className={thClass}>Request</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <tr
                    key={r.id}
                    className={rowClass}
                    data-testid="audit-row"
                    data-action={r.action}
                    data-status={r.status}
                  >
                    <td className={`${tdClass} whitespace-nowrap text-muted`} title={fmtTime(r.at)}>
                      {fmtAgo(r.at, now)}
                    </td>
                    <td className={tdClass} data-testid="audit-actor-cell">
                      {r.actor ? (
                        <span
                          title={r.actorId ? `user ${r.actorId}` : 'not signed in (the name that was tried)'}
                        >
                          {r.actor}
                          {!r.actorId && <span className="ml-1 text-xs text-muted">(not signed in)</span>}
                        </span>
                      ) : (
                        <span className="text-muted">anonymous</span>
                      )}
                    </td>
                    <td className={tdClass}>
                      <div className="font-mono text-xs" data-testid="audit-action-cell">
                        {r.action}
                      </div>
                      {!r.action.includes(r.path) && (
                        <div className="font-mono text-[11px] break-all text-muted" title="request path">
                          {r.method} {r.path}
                        </div>
                      )}
                    </td>
                    <td className={`${tdClass} max-w-[22rem] break-all`} data-testid="audit-target">
                      <Target r={r} />
                    </td>
                    <td className={tdClass}>
                      <ResultBadge status={r.status} />
                    </td>
                    <td className={`${tdClass} font-mono text-xs whitespace-nowrap text-muted`}>
                      {r.ip ?? '—'}
                    </td>
                    <td className={`${tdClass} font-mono text-[11px] text-muted`} title={r.requestId}>
                      <button
                        type="button"
                        className="hover:text-fg"
                        onClick={() => void navigator.clipboard?.writeText(r.requestId)}
                        aria-label={`Copy request id ${r.requestId}`}
                        data-testid="audit-request-id"
                      >
                        {r.requestId.slice(0, 8)}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <div className="flex items-center justify-center border-t border-line p-3">
              {list.hasNextPage ? (
                <Button
                  onClick={() => void list.fetchNextPage()}
                  disabled={list.isFetchingNextPage}
                  data-testid="audit-load-more"
                >
                  {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
                </Button>
              ) : (
                <span className="text-xs text-muted">
                  That is everything{filtered ? ' matching the filters' : ''}.
                </span>
              )}
            </div>
          </>
        )}
      </ListCard>
    </div>
  );
}

/** The records as RFC 4180 CSV (formula-looking cells get a leading '), saved by the browser. */
function downloadCsv(records: AuditRecord[]): void {
  const text = auditCsv(records);
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `atoll-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function ResultBadge({ status }: { status: number }) {
  const [label, tone] =
    status < 300
      ? ['ok', 'text-emerald-700 dark:text-emerald-300 bg-emerald-500/12']
      : status < 400
        ? ['redirect', 'text-sky-700 dark:text-sky-300 bg-sky-500/12']
        : status === 401 || status === 403
          ? ['denied', 'text-red-700 dark:text-red-300 bg-red-500/12']
          : status < 500
            ? ['refused', 'text-orange-700 dark:text-orange-300 bg-orange-500/15']
            : ['failed', 'text-red-700 dark:text-red-300 bg-red-500/12'];
  return (
    <span
      className={cx(
        'inline-flex gap-1 rounded px-1.5 py-0.5 font-mono text-[11px] font-medium whitespace-nowrap',
        tone,
      )}
      data-testid="audit-result"
    >
      {status} {label}
    </span>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The target, linked to its page when it has one: an app, pod or group, a job, a node. */
function Target({ r }: { r: AuditRecord }) {
  const t = r.target;
  if (!t) return <span className="text-muted">—</span>;
  const single = !t.includes(',');
  const link = (href: string) => (
    <Link href={href} className="hover:text-accent hover:underline" data-testid="audit-target-link">
      {t}
    </Link>
  );
  if (single && (/^jobs\./.test(r.action) || /\/v1\/jobs|\/api\/v1\/jobs/.test(r.path)))
    return link(jobHref(t));
  if (single && t.startsWith('/') && (/^groups\./.test(r.action) || /^\/(v2|api\/v1)\/groups/.test(r.path)))
    return link(`/services?group=${encodeURIComponent(t).replace(/%2F/gi, '/')}`);
  if (
    single &&
    t.startsWith('/') &&
    (/^(apps|pods|queue|catalog)\./.test(r.action) || /^\/(v2|api\/v1)\/(apps|pods|queue)/.test(r.path))
  )
    return link(serviceHref(t));
  if (single && UUID.test(t) && (/^nodes\./.test(r.action) || r.path.startsWith('/api/v1/nodes')))
    return link(`/nodes/${t}`);
  return <span className="font-mono text-xs">{t}</span>;
}
