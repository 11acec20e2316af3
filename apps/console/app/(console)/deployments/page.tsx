'use client';

import Link from 'next/link';
import { Suspense, useMemo } from 'react';
import { DeploymentsTable, useDeployments } from '../../../components/deployments';
import { FilterInput, Loading, PageHeader, SortTh, thClass, cx, ListCard } from '../../../components/ui';
import { actionLabel, progressPercent } from '../../../lib/deployments';
import { matchesFilter, plural, sortBy } from '../../../lib/format';
import type { Deployment } from '../../../lib/types';
import { useUrlSort, useUrlText } from '../../../lib/url-state';

const sortKeys = ['started', 'apps', 'progress'] as const;
type SortKey = (typeof sortKeys)[number];

const sortValue: Record<SortKey, (d: Deployment) => string | number> = {
  started: (d) => d.version,
  apps: (d) => d.affectedApps.join(','),
  // Least advanced first when ascending.
  progress: (d) => (d.progress.length === 0 ? 0 : Math.min(...d.progress.map((p) => progressPercent(p)))),
};

/** /deployments: every running deployment, with progress, Roll back and Stop (?q= &sort= &dir=). */
export default function DeploymentsPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Deployments />
    </Suspense>
  );
}

function Deployments() {
  const deployments = useDeployments();
  const [q, setQ] = useUrlText('q');
  const sort = useUrlSort(sortKeys, 'started');
  const rows = useMemo(() => {
    const matching = (deployments.data ?? []).filter((d) =>
      matchesFilter(
        q,
        d.id,
        ...d.affectedApps,
        ...d.steps.flatMap((s) => s.actions.map((a) => `${a.action} ${actionLabel(a.action)}`)),
      ),
    );
    return sortBy(matching, sortValue[sort.key], sort.dir);
  }, [deployments.data, q, sort.key, sort.dir]);
  const total = deployments.data?.length ?? 0;

  return (
    <div>
      <PageHeader
        title="Deployments"
        subtitle={
          deployments.data
            ? total === 0
              ? 'Nothing is deploying.'
              : rows.length === total
                ? `${plural(total, 'deployment')} running`
                : `${rows.length} of ${plural(total, 'deployment')} running`
            : undefined
        }
      />
      <ListCard
        toolbar={
          <>
            <FilterInput
              value={q}
              onChange={setQ}
              placeholder="Filter by service, action, id"
              testId="deployments-filter"
            />
          </>
        }
        query={deployments}
        loading="Loading deployments"
        empty={
          rows.length === 0 ? (
            <>
              {total === 0 ? (
                <span data-testid="no-deployments">
                  No deployment is running. Changing a{' '}
                  <Link href="/services" className="text-accent hover:underline">
                    service
                  </Link>{' '}
                  starts one; it shows here until it finishes.
                </span>
              ) : (
                'No deployment matches the filter.'
              )}
            </>
          ) : null
        }
      >
        {() => (
          <DeploymentsTable
            deployments={rows}
            header={
              <tr>
                <SortTh k="started" sort={sort}>
                  Deployment
                </SortTh>
                <SortTh k="apps" sort={sort}>
                  Services
                </SortTh>
                <th className={thClass}>Steps</th>
                <SortTh k="progress" sort={sort}>
                  Progress
                </SortTh>
                <th className={cx(thClass, 'text-right')}>Actions</th>
              </tr>
            }
          />
        )}
      </ListCard>
    </div>
  );
}
