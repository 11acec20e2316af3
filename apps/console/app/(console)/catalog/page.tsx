'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { Suspense, useMemo, useState } from 'react';
import {
  Button,
  Card,
  ConfirmDialog,
  Empty,
  ErrorBox,
  FilterInput,
  Loading,
  PageHeader,
  StatusBadge,
  Table,
  Tabs,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { iconOf, matchesQuery, packageHref } from '../../../lib/catalog';
import { serviceHref } from '../../../lib/links';
import { useTRPC } from '../../../lib/trpc';
import type { RouterOutputs, ServiceStatus } from '../../../lib/types';
import { useUrlParams } from '../../../lib/url-state';

type Summary = RouterOutputs['catalog']['search'][number];
type Installed = RouterOutputs['catalog']['installed'][number];

export default function CatalogPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Catalog />
    </Suspense>
  );
}

function Catalog() {
  const trpc = useTRPC();
  const [params, setParams] = useUrlParams();
  const tab = params.get('tab') === 'installed' ? 'installed' : 'packages';
  const installed = useQuery(trpc.catalog.installed.queryOptions({}));
  return (
    <>
      <PageHeader
        title="Catalog"
        subtitle="Services installed in one click from Universe-format packages"
        actions={
          <Link href="/settings" className="text-sm text-accent hover:underline">
            Repositories
          </Link>
        }
      />
      <Tabs
        tabs={[
          { key: 'packages', label: 'Packages' },
          { key: 'installed', label: `Installed${installed.data ? ` (${installed.data.length})` : ''}` },
        ]}
        active={tab}
        onChange={(k) => setParams({ tab: k === 'packages' ? null : k })}
      />
      <div className="mt-4">{tab === 'packages' ? <PackageGrid /> : <InstalledList query={installed} />}</div>
    </>
  );
}

function PackageGrid() {
  const trpc = useTRPC();
  const [params, setParams] = useUrlParams();
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const search = useQuery(trpc.catalog.search.queryOptions({ query: '' }, { staleTime: 60_000 }));
  const shown = useMemo(
    () => (search.data ?? []).filter((p) => matchesQuery(p, q) && (!tag || p.tags.includes(tag))),
    [search.data, q, tag],
  );
  return (
    <div>
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <FilterInput
          value={q}
          onChange={(v) => setParams({ q: v })}
          placeholder="Search by name, tag or text"
          testId="catalog-search"
        />
        {tag && (
          <button
            type="button"
            className="rounded-full bg-accent/15 px-2.5 py-0.5 text-xs text-accent"
            onClick={() => setParams({ tag: null })}
            title="Clear the tag filter"
          >
            tag: {tag} ✕
          </button>
        )}
        {search.data && (
          <span className="text-xs text-muted">
            {shown.length} of {search.data.length} packages
          </span>
        )}
      </div>
      {search.error ? (
        <ErrorBox error={search.error} />
      ) : search.isPending ? (
        <Loading what="Loading the catalog" />
      ) : shown.length === 0 ? (
        <Card>
          <Empty>No package matches.</Empty>
        </Card>
      ) : (
        <ul className="grid grid-cols-[repeat(auto-fill,minmax(16rem,1fr))] gap-3" data-testid="package-grid">
          {shown.map((p) => (
            <PackageCard key={p.name} pkg={p} onTag={(t) => setParams({ tag: t })} />
          ))}
        </ul>
      )}
    </div>
  );
}

function PackageCard({ pkg, onTag }: { pkg: Summary; onTag: (tag: string) => void }) {
  const icon = iconOf(pkg.images);
  return (
    <li
      className="flex flex-col rounded-lg border border-line bg-surface p-4 transition-colors hover:border-accent/60"
      data-testid={`package-${pkg.name}`}
    >
      <Link href={packageHref(pkg.name)} className="flex items-start gap-3">
        {icon ? (
          <img src={icon} alt="" className="size-10 shrink-0 rounded-md" />
        ) : (
          <span className="grid size-10 shrink-0 place-items-center rounded-md bg-surface-2 text-lg font-semibold">
            {pkg.name[0]?.toUpperCase()}
          </span>
        )}
        <span className="min-w-0">
          <span className="flex items-center gap-1.5 font-semibold">
            {pkg.name}
            {pkg.selected && (
              <span className="text-amber-500" title="Selected by the catalog's maintainers">
                ★
              </span>
            )}
          </span>
          <span className="block truncate text-xs text-muted">
            {pkg.currentVersion} · {pkg.repository}
          </span>
        </span>
      </Link>
      <p className="mt-2 line-clamp-3 text-sm text-muted">{pkg.description}</p>
      <div className="mt-auto flex flex-wrap gap-1 pt-3">
        {pkg.tags.slice(0, 4).map((t) => (
          <button
            key={t}
            type="button"
            onClick={() => onTag(t)}
            className="rounded-full bg-surface-2 px-2 py-0.5 text-[11px] text-muted hover:text-fg"
          >
            {t}
          </button>
        ))}
      </div>
    </li>
  );
}

const statusOf = (s: string): ServiceStatus =>
  (['Running', 'Deploying', 'Delayed', 'Waiting', 'Stopped', 'Deleting'] as const).find((x) => x === s) ??
  'Deploying';

function InstalledList({ query }: { query: { data?: Installed[]; error: unknown; isPending: boolean } }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [removing, setRemoving] = useState<Installed | null>(null);
  const uninstall = useMutation(
    trpc.catalog.uninstall.mutationOptions({
      onSuccess: async () => {
        setRemoving(null);
        await queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() });
      },
    }),
  );
  if (query.error) return <ErrorBox error={query.error} />;
  if (query.isPending) return <Loading what="Loading installed packages" />;
  const rows = query.data ?? [];
  return (
    <Card>
      {rows.length === 0 ? (
        <Empty>Nothing installed from the catalog yet.</Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Service</th>
              <th className={thClass}>Package</th>
              <th className={thClass}>Status</th>
              <th className={thClass}>Tasks healthy</th>
              <th className={thClass}>Apps</th>
              <th className={thClass}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => {
              const healthy = i.apps.reduce((n, a) => n + a.tasksHealthy, 0);
              const wanted = i.apps.reduce((n, a) => n + a.instances, 0);
              return (
                <tr key={i.appId} className={rowClass} data-testid={`installed-${i.appId}`}>
                  <td className={tdClass}>
                    <Link
                      href={serviceHref(i.apps[0]?.id ?? i.appId)}
                      className="font-medium hover:underline"
                    >
                      {i.appId}
                    </Link>
                  </td>
                  <td className={tdClass}>
                    <Link href={packageHref(i.packageName)} className="hover:underline">
                      {i.packageName}
                    </Link>{' '}
                    <span className="text-muted">{i.packageVersion}</span>
                  </td>
                  <td className={tdClass} data-testid="installed-status">
                    {i.status === 'Unhealthy' ? (
                      <span className="text-red-600 dark:text-red-400">Unhealthy</span>
                    ) : (
                      <StatusBadge status={statusOf(i.status)} />
                    )}
                  </td>
                  <td className={`${tdClass} tabular-nums`}>
                    {healthy}/{wanted}
                  </td>
                  <td className={`${tdClass} text-xs text-muted`}>{i.apps.map((a) => a.id).join(', ')}</td>
                  <td className={`${tdClass} text-right whitespace-nowrap`}>
                    <Link
                      href={packageHref(i.packageName, { appId: i.appId })}
                      className="mr-2 text-sm text-accent hover:underline"
                    >
                      Upgrade
                    </Link>
                    <Button
                      size="sm"
                      variant="danger"
                      onClick={() => setRemoving(i)}
                      data-testid="uninstall-button"
                    >
                      Uninstall
                    </Button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      )}
      <ConfirmDialog
        open={removing !== null}
        onClose={() => {
          setRemoving(null);
          uninstall.reset();
        }}
        onConfirm={() =>
          removing &&
          uninstall.mutate({ packageName: removing.packageName, appId: removing.appId, all: false })
        }
        title={`Uninstall ${removing?.packageName ?? ''}`}
        message={
          <>
            This removes {removing?.apps.map((a) => a.id).join(', ')} and their tasks. Nothing else is
            touched.
          </>
        }
        confirmLabel="Uninstall"
        pending={uninstall.isPending}
        error={uninstall.error}
        danger
        confirmTestId="confirm-uninstall"
      />
    </Card>
  );
}
