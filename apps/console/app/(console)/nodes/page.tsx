'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useMemo } from 'react';
import {
  Dot,
  FilterInput,
  Loading,
  PageHeader,
  SortTh,
  Table,
  UsageBar,
  rowClass,
  tdClass,
  thClass,
  ListCard,
} from '../../../components/ui';
import { fmtAgo, fmtCpus, fmtMem, matchesFilter, pct, plural, sortBy } from '../../../lib/format';
import { useNow, useTRPC } from '../../../lib/trpc';
import { Attributes } from '../../../components/attributes';
import { NodeModeBadge } from '../../../components/node-ops';
import { AddNodeButton, JoinTokens } from '../../../components/add-node';
import type { ClusterNode } from '../../../lib/types';
import { useUrlSort, useUrlText } from '../../../lib/url-state';

const sortKeys = [
  'hostname',
  'address',
  'status',
  'runtime',
  'cpu',
  'mem',
  'disk',
  'tasks',
  'heartbeat',
] as const;
type SortKey = (typeof sortKeys)[number];

const sortValue: Record<SortKey, (n: ClusterNode) => string | number | null> = {
  hostname: (n) => n.hostname,
  address: (n) => n.address,
  status: (n) => `${n.connected ? 0 : 1}${n.status}${n.mode}`,
  runtime: (n) => n.runtime,
  cpu: (n) => pct(n.allocated.cpus, n.resources.cpus),
  mem: (n) => pct(n.allocated.memMb, n.resources.memMb),
  disk: (n) => pct(n.allocated.diskMb, n.resources.diskMb),
  tasks: (n) => n.tasks,
  heartbeat: (n) => n.lastHeartbeatAt,
};

export default function NodesPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Nodes />
    </Suspense>
  );
}

function Nodes() {
  const trpc = useTRPC();
  const router = useRouter();
  const now = useNow();
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { refetchInterval: 15_000 }));
  const [q, setQ] = useUrlText('q');
  const sort = useUrlSort(sortKeys, 'hostname');

  const rows = useMemo(() => {
    const filtered = (nodes.data ?? []).filter((n) =>
      matchesFilter(
        q,
        n.hostname,
        n.address,
        n.status,
        n.mode,
        n.runtime,
        n.connected ? 'connected' : 'disconnected',
        ...Object.entries(n.attributes).map(([k, v]) => `${k}:${v}`),
      ),
    );
    return sortBy(filtered, sortValue[sort.key], sort.dir);
  }, [nodes.data, q, sort.key, sort.dir]);

  const total = nodes.data?.length ?? 0;

  return (
    <div>
      <PageHeader
        title="Nodes"
        subtitle={
          nodes.data
            ? rows.length === total
              ? plural(total, 'node')
              : `${rows.length} of ${plural(total, 'node')}`
            : undefined
        }
        actions={<AddNodeButton />}
      />
      <ListCard
        toolbar={
          <>
            <FilterInput
              value={q}
              onChange={setQ}
              placeholder="Filter by host, address, status, attribute"
              testId="nodes-filter"
            />
          </>
        }
        query={nodes}
        loading="Loading nodes"
        empty={
          rows.length === 0 ? (
            <>
              {total === 0
                ? 'No node has joined yet. Install the agent on a host to add one.'
                : 'No node matches the filter.'}
            </>
          ) : null
        }
      >
        {() => (
          <Table>
            <thead>
              <tr>
                <SortTh k="hostname" sort={sort}>
                  Hostname
                </SortTh>
                <SortTh k="address" sort={sort}>
                  Address
                </SortTh>
                <SortTh k="status" sort={sort}>
                  Status
                </SortTh>
                <SortTh k="runtime" sort={sort}>
                  Runtime
                </SortTh>
                <SortTh k="cpu" sort={sort}>
                  CPU
                </SortTh>
                <SortTh k="mem" sort={sort}>
                  Memory
                </SortTh>
                <SortTh k="disk" sort={sort}>
                  Disk
                </SortTh>
                <SortTh k="tasks" sort={sort} className="text-right">
                  Tasks
                </SortTh>
                <th className={thClass}>Attributes</th>
                <SortTh k="heartbeat" sort={sort}>
                  Last heartbeat
                </SortTh>
              </tr>
            </thead>
            <tbody>
              {rows.map((n) => (
                <tr
                  key={n.id}
                  data-testid="node-row"
                  data-id={n.id}
                  data-hostname={n.hostname}
                  className={`${rowClass} cursor-pointer`}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest('a')) return;
                    router.push(`/nodes/${n.id}`);
                  }}
                >
                  <td className={tdClass}>
                    <Link href={`/nodes/${n.id}`} className="font-medium hover:text-accent hover:underline">
                      {n.hostname}
                    </Link>
                  </td>
                  <td className={`${tdClass} font-mono text-xs`}>{n.address}</td>
                  <td className={tdClass}>
                    <span className="inline-flex items-center gap-1.5">
                      <Dot on={n.connected} title={n.connected ? 'connected' : 'disconnected'} />
                      {n.status}
                      {n.mode !== 'ACTIVE' && <NodeModeBadge node={n} />}
                    </span>
                  </td>
                  <td className={tdClass}>{n.runtime}</td>
                  <td className={tdClass}>
                    <UsageBar
                      used={n.allocated.cpus}
                      total={n.resources.cpus}
                      label={`${fmtCpus(n.allocated.cpus)} / ${fmtCpus(n.resources.cpus)}`}
                    />
                  </td>
                  <td className={tdClass}>
                    <UsageBar
                      used={n.allocated.memMb}
                      total={n.resources.memMb}
                      label={`${fmtMem(n.allocated.memMb)} / ${fmtMem(n.resources.memMb)}`}
                    />
                  </td>
                  <td className={tdClass}>
                    <UsageBar
                      used={n.allocated.diskMb}
                      total={n.resources.diskMb}
                      label={`${fmtMem(n.allocated.diskMb)} / ${fmtMem(n.resources.diskMb)}`}
                    />
                  </td>
                  <td className={`${tdClass} text-right tabular-nums`}>{n.tasks}</td>
                  <td className={tdClass}>
                    <Attributes attributes={n.attributes} />
                  </td>
                  <td
                    className={`${tdClass} whitespace-nowrap text-muted`}
                    title={n.lastHeartbeatAt ?? undefined}
                  >
                    {fmtAgo(n.lastHeartbeatAt, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </ListCard>
      <JoinTokens />
    </div>
  );
}
