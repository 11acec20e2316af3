'use client';

import { ClusterCharts, HealthSummary } from '../../components/metrics/panels';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { Card, Empty, ErrorBox, Loading, StatusBadge, UsageBar, tdClass, thClass } from '../../components/ui';
import { fmtAgo, fmtCpus, fmtMem, pct } from '../../lib/format';
import { serviceHref } from '../../lib/links';
import { useNow, useTRPC } from '../../lib/trpc';
import type { App, ServiceStatus } from '../../lib/types';

/** Worst first: what an operator should look at. */
const severity: Record<ServiceStatus, number> = {
  Waiting: 0,
  Delayed: 1,
  Deploying: 2,
  Deleting: 3,
  Stopped: 4,
  Running: 5,
};

export default function DashboardPage() {
  const trpc = useTRPC();
  const nodes = useQuery(trpc.nodes.list.queryOptions());
  const apps = useQuery(trpc.apps.list.queryOptions({ embedTasks: false }));
  const events = useQuery(trpc.cluster.events.queryOptions({ limit: 8 }));
  const now = useNow();

  const totals = (nodes.data ?? []).reduce(
    (acc, n) => ({
      cpus: acc.cpus + n.resources.cpus,
      mem: acc.mem + n.resources.memMb,
      disk: acc.disk + n.resources.diskMb,
      cpusUsed: acc.cpusUsed + n.allocated.cpus,
      memUsed: acc.memUsed + n.allocated.memMb,
      diskUsed: acc.diskUsed + n.allocated.diskMb,
    }),
    { cpus: 0, mem: 0, disk: 0, cpusUsed: 0, memUsed: 0, diskUsed: 0 },
  );
  const connected = (nodes.data ?? []).filter((n) => n.connected).length;
  const staged = (apps.data ?? []).reduce((s, a) => s + a.tasksStaged, 0);
  const running = (apps.data ?? []).reduce((s, a) => s + a.tasksRunning, 0);
  const unhealthy: App[] = (apps.data ?? [])
    .filter((a) => a.atoll.status !== 'Running')
    .sort((a, b) => severity[a.atoll.status] - severity[b.atoll.status] || a.id.localeCompare(b.id))
    .slice(0, 8);

  return (
    <div>
      <h1 className="mb-5 text-xl font-semibold tracking-tight">Dashboard</h1>
      {(nodes.error ?? apps.error) && (
        <div className="mb-4">
          <ErrorBox error={nodes.error ?? apps.error} />
        </div>
      )}

      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <Stat label="Nodes" value={nodes.data ? String(nodes.data.length) : '—'} testId="stat-nodes">
          {nodes.data && (
            <span>
              {connected} connected
              {nodes.data.length - connected > 0 && (
                <span className="text-red-600 dark:text-red-400">, {nodes.data.length - connected} not</span>
              )}
            </span>
          )}
        </Stat>
        <Stat label="Services" value={apps.data ? String(apps.data.length) : '—'} testId="stat-services">
          {apps.data && <span>{apps.data.filter((a) => a.atoll.status === 'Running').length} running</span>}
        </Stat>
        <Stat label="Tasks running" value={apps.data ? String(running) : '—'} testId="stat-tasks-running" />
        <Stat label="Tasks staged" value={apps.data ? String(staged) : '—'} testId="stat-tasks-staged" />
      </div>

      <Card title="Cluster resources (allocated of total)" className="mt-4">
        <div className="grid gap-6 p-4 md:grid-cols-3">
          <Resource
            name="CPU"
            used={totals.cpusUsed}
            total={totals.cpus}
            fmt={(n) => `${fmtCpus(n)} cores`}
          />
          <Resource name="Memory" used={totals.memUsed} total={totals.mem} fmt={fmtMem} />
          <Resource name="Disk" used={totals.diskUsed} total={totals.disk} fmt={fmtMem} />
        </div>
      </Card>

      <ClusterCharts />
      <HealthSummary />

      <div className="mt-4 grid gap-4 lg:grid-cols-[3fr_2fr]">
        <Card
          title="Services needing attention"
          actions={
            <Link href="/services" className="text-xs text-accent hover:underline">
              All services
            </Link>
          }
        >
          {apps.isPending ? (
            <Loading />
          ) : unhealthy.length === 0 ? (
            <Empty>
              {apps.data && apps.data.length > 0 ? 'All services are running as wanted.' : 'No services yet.'}
            </Empty>
          ) : (
            <table className="w-full text-sm" data-testid="unhealthy-services">
              <thead>
                <tr>
                  <th className={thClass}>Service</th>
                  <th className={thClass}>Status</th>
                  <th className={thClass}>Instances</th>
                </tr>
              </thead>
              <tbody>
                {unhealthy.map((a) => (
                  <tr key={a.id} className="hover:bg-surface-2">
                    <td className={tdClass}>
                      <Link
                        href={serviceHref(a.id)}
                        className="font-medium hover:text-accent hover:underline"
                      >
                        {a.id}
                      </Link>
                      {a.atoll.placementIssue && (
                        <div className="text-xs text-amber-700 dark:text-amber-400">
                          {a.atoll.placementIssue}
                        </div>
                      )}
                    </td>
                    <td className={tdClass}>
                      <StatusBadge status={a.atoll.status} />
                    </td>
                    <td className={`${tdClass} tabular-nums`}>
                      {a.tasksRunning}/{a.instances}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card
          title="Recent events"
          actions={
            <Link href="/events" className="text-xs text-accent hover:underline">
              All events
            </Link>
          }
        >
          {events.isPending ? (
            <Loading />
          ) : (events.data ?? []).length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <ul className="divide-y divide-line text-sm">
              {(events.data ?? []).map((e) => (
                <li key={e.id} className="flex items-baseline justify-between gap-3 px-4 py-2">
                  <span className="min-w-0 truncate">
                    <span className="font-mono text-xs">{e.type}</span>
                    {e.subject && (
                      <span className="ml-2 text-muted">
                        {typeof e.payload.hostname === 'string' ? e.payload.hostname : e.subject}
                      </span>
                    )}
                  </span>
                  <span className="shrink-0 text-xs text-muted" title={e.at}>
                    {fmtAgo(e.at, now)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </div>
  );
}

function Stat({
  label,
  value,
  children,
  testId,
}: {
  label: string;
  value: string;
  children?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="rounded-lg border border-line bg-surface px-4 py-3" data-testid={testId}>
      <div className="text-xs font-medium text-muted">{label}</div>
      <div className="mt-1 text-2xl font-semibold tabular-nums">{value}</div>
      <div className="mt-0.5 min-h-4 text-xs text-muted">{children}</div>
    </div>
  );
}

function Resource({
  name,
  used,
  total,
  fmt,
}: {
  name: string;
  used: number;
  total: number;
  fmt: (n: number) => string;
}) {
  return (
    <div>
      <div className="mb-2 flex items-baseline justify-between">
        <span className="text-sm font-medium">{name}</span>
        <span className="text-xs text-muted tabular-nums">{Math.round(pct(used, total))}%</span>
      </div>
      <UsageBar used={used} total={total} wide />
      <div className="mt-1.5 text-xs text-muted tabular-nums">
        {fmt(used)} of {fmt(total)}
      </div>
    </div>
  );
}
