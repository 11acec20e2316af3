'use client';

import { PackageBadge } from '../../../components/package-badge';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useMemo, useState } from 'react';
import { useAccess } from '../../../components/access';
import { CreateGroupDialog, DeleteGroupDialog, ScaleGroupDialog } from '../../../components/groups';
import { IconChevron, IconFolder, IconPlus } from '../../../components/icons';
import {
  Button,
  FilterInput,
  Loading,
  PageHeader,
  SortTh,
  StatusBadge,
  Table,
  cx,
  rowClass,
  tdClass,
  thClass,
  ListCard,
} from '../../../components/ui';
import { fmtCpus, fmtMem, fmtTime, matchesFilter, plural, sortBy } from '../../../lib/format';
import { appHealth, appHealthRank, type AppHealth } from '../../../lib/health';
import { useTRPC } from '../../../lib/trpc';
import { serviceHref } from '../../../lib/links';
import { allApps, baseName, buildTree, findGroup, flattenTree, type GroupNode } from '../../../lib/tree';
import type { App, ServiceStatus } from '../../../lib/types';
import { useUrlParams, useUrlSort, useUrlText } from '../../../lib/url-state';

const sortKeys = ['id', 'status', 'version', 'instances', 'health', 'cpus', 'mem', 'disk'] as const;
type SortKey = (typeof sortKeys)[number];

const statusOrder: Record<ServiceStatus, number> = {
  Waiting: 0,
  Delayed: 1,
  Deploying: 2,
  Deleting: 3,
  Running: 4,
  Stopped: 5,
};

const sortValue: Record<SortKey, (a: App) => string | number | null> = {
  id: (a) => a.id,
  status: (a) => statusOrder[a.atoll.status],
  version: (a) => a.version,
  instances: (a) => a.instances,
  health: (a) => appHealthRank(appHealth(a)),
  cpus: (a) => a.cpus,
  mem: (a) => a.mem,
  disk: (a) => a.disk,
};

export default function ServicesPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Services />
    </Suspense>
  );
}

function Services() {
  const trpc = useTRPC();
  const router = useRouter();
  // A viewer cannot create: the buttons are disabled (the API would answer 403).
  const mayCreate = useAccess().canOperate();
  const apps = useQuery(trpc.apps.list.queryOptions({ embedTasks: false }));
  const [params, setParams] = useUrlParams();
  const [q, setQ] = useUrlText('q');
  const groupPath = params.get('group') ?? '/';
  const sort = useUrlSort(sortKeys, 'id');
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [creating, setCreating] = useState(false);
  const [groupAction, setGroupAction] = useState<{
    kind: 'scale' | 'delete';
    id: string;
    apps: number;
  } | null>(null);

  const { rows, shown, scope } = useMemo(() => {
    const matching = (apps.data ?? []).filter((a) =>
      matchesFilter(
        q,
        a.id,
        a.atoll.status,
        (a.container as { docker?: { image?: string } } | undefined)?.docker?.image,
        a.cmd as string | undefined,
      ),
    );
    const scope = findGroup(buildTree(matching), groupPath);
    if (!scope) return { rows: [], shown: 0, scope };
    const rows = flattenTree(scope, {
      // While filtering, show every match: collapsing would hide what was searched for.
      collapsed: q ? new Set<string>() : collapsed,
      sortApps: (list) => sortBy(list, sortValue[sort.key], sort.dir),
    });
    return { rows, shown: allApps(scope).length, scope };
  }, [apps.data, q, groupPath, collapsed, sort.key, sort.dir]);

  const toggle = (path: string) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });

  const total = apps.data?.length ?? 0;
  const crumbs = groupCrumbs(groupPath);

  return (
    <div>
      <PageHeader
        title={groupPath === '/' ? 'Services' : groupPath}
        crumbs={groupPath === '/' ? undefined : crumbs}
        subtitle={
          apps.data
            ? shown === total
              ? plural(total, 'service')
              : `${shown} of ${plural(total, 'service')}`
            : undefined
        }
        actions={
          <>
            <Button onClick={() => setCreating(true)} disabled={!mayCreate} data-testid="create-group">
              <IconFolder className="size-4" />
              Create group
            </Button>
            <Button
              variant="primary"
              onClick={() => router.push('/services/new')}
              disabled={!mayCreate}
              data-testid="run-service"
            >
              <IconPlus className="size-4" />
              Run a service
            </Button>
          </>
        }
      />
      <CreateGroupDialog open={creating} onClose={() => setCreating(false)} />
      <ScaleGroupDialog
        id={groupAction?.id ?? ''}
        open={groupAction?.kind === 'scale'}
        onClose={() => setGroupAction(null)}
      />
      <DeleteGroupDialog
        id={groupAction?.id ?? ''}
        apps={groupAction?.apps ?? 0}
        open={groupAction?.kind === 'delete'}
        onClose={() => setGroupAction(null)}
      />
      <ListCard
        toolbar={
          <>
            <FilterInput
              value={q}
              onChange={setQ}
              placeholder="Filter by id, status, image"
              testId="services-filter"
            />
          </>
        }
        query={apps}
        loading="Loading services"
        empty={
          rows.length === 0 ? (
            <>
              {total === 0 ? (
                <>
                  No services yet.{' '}
                  <Link href="/services/new" className="text-accent hover:underline">
                    Run your first service
                  </Link>
                  .
                </>
              ) : !scope ? (
                `No service lives under ${groupPath}.`
              ) : (
                'No service matches the filter.'
              )}
            </>
          ) : null
        }
      >
        {() => (
          <Table>
            <thead>
              <tr>
                <SortTh k="id" sort={sort} className="w-[32%]">
                  Name
                </SortTh>
                <SortTh k="status" sort={sort}>
                  Status
                </SortTh>
                <SortTh k="version" sort={sort}>
                  Version
                </SortTh>
                <SortTh k="instances" sort={sort} className="text-right">
                  Instances
                </SortTh>
                <SortTh k="health" sort={sort}>
                  Health
                </SortTh>
                <SortTh k="cpus" sort={sort} className="text-right">
                  CPU
                </SortTh>
                <SortTh k="mem" sort={sort} className="text-right">
                  Memory
                </SortTh>
                <SortTh k="disk" sort={sort} className="text-right">
                  Disk
                </SortTh>
                <th className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) =>
                r.kind === 'group' ? (
                  <GroupRow
                    key={`g:${r.group.path}`}
                    group={r.group}
                    depth={r.depth}
                    collapsed={r.collapsed && !q}
                    onToggle={() => toggle(r.group.path)}
                    onOpen={() => setParams({ group: r.group.path }, { push: true })}
                    onScale={() =>
                      setGroupAction({ kind: 'scale', id: r.group.path, apps: allApps(r.group).length })
                    }
                    onDelete={() =>
                      setGroupAction({ kind: 'delete', id: r.group.path, apps: allApps(r.group).length })
                    }
                  />
                ) : (
                  <tr
                    key={r.app.id}
                    data-testid="service-row"
                    data-id={r.app.id}
                    className={cx(rowClass, 'cursor-pointer')}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a,button')) return;
                      router.push(serviceHref(r.app.id));
                    }}
                  >
                    <td className={tdClass}>
                      <div className="flex items-center" style={{ paddingLeft: `${r.depth * 20 + 22}px` }}>
                        <Link
                          href={serviceHref(r.app.id)}
                          className="font-medium hover:text-accent hover:underline"
                          title={r.app.id}
                        >
                          {baseName(r.app.id)}
                        </Link>
                        <PackageBadge labels={r.app.labels} />
                        {'pod' in r.app && r.app.pod ? (
                          <span
                            className="ml-2 rounded bg-accent/10 px-1.5 py-0.5 text-[11px] font-medium text-accent"
                            data-testid="pod-badge"
                            title="A pod: several containers per instance"
                          >
                            pod
                          </span>
                        ) : null}
                      </div>
                    </td>
                    <td className={tdClass}>
                      <StatusBadge status={r.app.atoll.status} testId="service-status" />
                      {r.app.atoll.placementIssue && (
                        <div
                          className="mt-0.5 max-w-64 truncate text-xs text-amber-700 dark:text-amber-400"
                          title={r.app.atoll.placementIssue}
                        >
                          {r.app.atoll.placementIssue}
                        </div>
                      )}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-xs text-muted`} title={r.app.version}>
                      {fmtTime(r.app.version)}
                    </td>
                    <td className={`${tdClass} text-right tabular-nums`} data-testid="service-instances">
                      {r.app.tasksRunning}/{r.app.instances}
                    </td>
                    <td className={tdClass}>
                      <HealthSummary health={appHealth(r.app)} />
                    </td>
                    <td
                      className={`${tdClass} text-right tabular-nums`}
                      title={`${fmtCpus(r.app.cpus * r.app.instances)} in all`}
                    >
                      {fmtCpus(r.app.cpus)}
                    </td>
                    <td
                      className={`${tdClass} text-right tabular-nums`}
                      title={`${fmtMem(r.app.mem * r.app.instances)} in all`}
                    >
                      {fmtMem(r.app.mem)}
                    </td>
                    <td className={`${tdClass} text-right tabular-nums`}>
                      {r.app.disk ? fmtMem(r.app.disk) : '—'}
                    </td>
                    <td className={tdClass} />
                  </tr>
                ),
              )}
            </tbody>
          </Table>
        )}
      </ListCard>
    </div>
  );
}

function GroupRow({
  group,
  depth,
  collapsed,
  onToggle,
  onOpen,
  onScale,
  onDelete,
}: {
  group: GroupNode<App>;
  depth: number;
  collapsed: boolean;
  onToggle: () => void;
  onOpen: () => void;
  onScale: () => void;
  onDelete: () => void;
}) {
  const apps = allApps(group);
  const running = apps.reduce((s, a) => s + a.tasksRunning, 0);
  const wanted = apps.reduce((s, a) => s + a.instances, 0);
  const worst = apps.map((a) => a.atoll.status).sort((a, b) => statusOrder[a] - statusOrder[b])[0];
  return (
    <tr data-testid="group-row" data-id={group.path} className="bg-surface-2/50 hover:bg-surface-2">
      <td className={tdClass}>
        <div className="flex items-center gap-1" style={{ paddingLeft: `${depth * 20}px` }}>
          <button
            type="button"
            onClick={onToggle}
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? 'Expand' : 'Collapse'} ${group.path}`}
            className="inline-flex size-5 items-center justify-center rounded text-muted hover:bg-surface hover:text-fg"
          >
            <IconChevron className={cx('size-3.5 transition-transform', !collapsed && 'rotate-90')} />
          </button>
          <IconFolder className="size-4 text-muted" />
          <button
            type="button"
            onClick={onOpen}
            className="font-medium hover:text-accent hover:underline"
            title={`Show only ${group.path}`}
          >
            {group.name}
          </button>
          <span className="ml-1 text-xs text-muted">{plural(apps.length, 'service')}</span>
        </div>
      </td>
      <td className={tdClass}>{worst && worst !== 'Running' ? <StatusBadge status={worst} /> : null}</td>
      <td className={tdClass} />
      <td className={`${tdClass} text-right tabular-nums text-muted`}>
        {running}/{wanted}
      </td>
      <td className={tdClass}>
        <HealthSummary
          health={apps.map(appHealth).reduce<AppHealth>(
            (t, h) =>
              h.checked
                ? {
                    checked: true,
                    healthy: t.healthy + h.healthy,
                    unhealthy: t.unhealthy + h.unhealthy,
                    unknown: t.unknown + h.unknown,
                  }
                : t,
            { checked: false, healthy: 0, unhealthy: 0, unknown: 0 },
          )}
        />
      </td>
      <td className={`${tdClass} text-right tabular-nums text-muted`}>
        {fmtCpus(apps.reduce((s, a) => s + a.cpus * a.instances, 0))}
      </td>
      <td className={`${tdClass} text-right tabular-nums text-muted`}>
        {fmtMem(apps.reduce((s, a) => s + a.mem * a.instances, 0))}
      </td>
      <td className={tdClass} />
      <td className={`${tdClass} whitespace-nowrap text-right`}>
        <div className="inline-flex gap-1">
          <Button
            size="sm"
            onClick={onScale}
            data-testid="group-scale"
            title={`Scale every app of ${group.path}`}
          >
            Scale
          </Button>
          <Button
            size="sm"
            variant="ghost"
            onClick={onDelete}
            data-testid="group-delete"
            title={`Delete ${group.path} and its apps`}
          >
            Delete
          </Button>
        </div>
      </td>
    </tr>
  );
}

/** Healthy / unhealthy / not yet known task counts of services with health checks; a dash without. */
function HealthSummary({ health: h }: { health: AppHealth }) {
  if (!h.checked)
    return (
      <span className="text-muted" data-testid="service-health" data-checked="false" title="No health checks">
        —
      </span>
    );
  const parts = [
    { n: h.healthy, tone: 'bg-emerald-500', word: 'healthy' },
    { n: h.unhealthy, tone: 'bg-red-500', word: 'unhealthy' },
    { n: h.unknown, tone: 'bg-slate-400', word: 'unknown' },
  ].filter((p) => p.n > 0);
  return (
    <span
      className="inline-flex items-center gap-2.5 text-xs tabular-nums"
      data-testid="service-health"
      data-checked="true"
      data-healthy={h.healthy}
      data-unhealthy={h.unhealthy}
      title={`${h.healthy} healthy, ${h.unhealthy} unhealthy, ${h.unknown} unknown`}
    >
      {parts.length === 0 ? (
        <span className="text-muted">no tasks</span>
      ) : (
        parts.map((p) => (
          <span key={p.word} className="inline-flex items-center gap-1">
            <span aria-hidden className={cx('size-2 rounded-full', p.tone)} />
            {p.n} <span className="text-muted">{p.word}</span>
          </span>
        ))
      )}
    </span>
  );
}

function groupCrumbs(path: string): Array<{ href: string; label: string }> {
  const parts = path.split('/').filter(Boolean);
  const crumbs = [{ href: '/services', label: 'Services' }];
  for (let i = 0; i < parts.length - 1; i++) {
    const p = `/${parts.slice(0, i + 1).join('/')}`;
    crumbs.push({ href: `/services?group=${encodeURIComponent(p)}`, label: parts[i] ?? p });
  }
  return crumbs;
}
