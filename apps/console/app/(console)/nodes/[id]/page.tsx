'use client';

import { NodeCharts } from '../../../../components/metrics/panels';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useState } from 'react';
import {
  Button,
  Card,
  Dot,
  Empty,
  ErrorBox,
  KeyValue,
  Loading,
  PageHeader,
  Table,
  TaskStateBadge,
  UsageBar,
  rowClass,
  tdClass,
  thClass,
} from '../../../../components/ui';
import { HostPorts } from '../../../../components/host-ports';
import {
  AttributesDialog,
  DrainProgress,
  NodeActions,
  NodeModeBadge,
  ReservationDialog,
} from '../../../../components/node-ops';
import { fmtAgo, fmtCpus, fmtMem, fmtTime, plural } from '../../../../lib/format';
import { serviceHref } from '../../../../lib/links';
import { useNow, useTRPC } from '../../../../lib/trpc';

export default function NodeDetailPage() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const now = useNow();
  const node = useQuery(trpc.nodes.get.queryOptions({ id }, { refetchInterval: 15_000 }));
  const tasks = useQuery(trpc.tasks.list.queryOptions({}));
  const nodeTasks = (tasks.data ?? []).filter((t) => t.agentId === id);
  const [editing, setEditing] = useState<'attributes' | 'reservation' | null>(null);

  if (node.error) {
    return (
      <div>
        <PageHeader title="Node" crumbs={[{ href: '/nodes', label: 'Nodes' }]} />
        <ErrorBox error={node.error} />
      </div>
    );
  }
  if (!node.data) return <Loading what="Loading node" />;
  const n = node.data;

  return (
    <div>
      <PageHeader
        crumbs={[{ href: '/nodes', label: 'Nodes' }]}
        title={<span data-testid="node-hostname">{n.hostname}</span>}
        subtitle={
          <span className="inline-flex items-center gap-2">
            <Dot on={n.connected} title={n.connected ? 'connected' : 'disconnected'} />
            {n.status} · <NodeModeBadge node={n} /> · {n.address} · {n.runtime} · agent {n.agentVersion}
          </span>
        }
        actions={<NodeActions node={n} />}
      />
      {n.drain && (
        <div className="mb-4">
          <DrainProgress node={n} />
        </div>
      )}

      <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
        <Card title="Resources (allocated of total)">
          <div className="grid gap-6 p-4 sm:grid-cols-3">
            <Res
              name="CPU"
              used={n.allocated.cpus}
              total={n.resources.cpus}
              fmt={(x) => `${fmtCpus(x)} cores`}
            />
            <Res name="Memory" used={n.allocated.memMb} total={n.resources.memMb} fmt={fmtMem} />
            <Res name="Disk" used={n.allocated.diskMb} total={n.resources.diskMb} fmt={fmtMem} />
          </div>
          <div className="border-t border-line px-4 py-3 text-xs text-muted">
            Ports {n.resources.portRange[0]}–{n.resources.portRange[1]}, {n.allocated.ports} allocated
          </div>
        </Card>
        <Card title="Details">
          <div className="p-4">
            <KeyValue
              items={[
                [
                  'ID',
                  <span key="id" className="font-mono text-xs">
                    {n.id}
                  </span>,
                ],
                ['Registered', fmtTime(n.registeredAt)],
                [
                  'Last heartbeat',
                  <span key="hb" title={n.lastHeartbeatAt ?? undefined}>
                    {fmtAgo(n.lastHeartbeatAt, now)}
                  </span>,
                ],
                ['Tasks', String(n.tasks)],
                [
                  'Reserved for the host',
                  <span key="res" className="inline-flex items-center gap-2">
                    {fmtCpus(n.reserved.cpus)} cores, {fmtMem(n.reserved.memMb)}
                    <Button
                      size="sm"
                      onClick={() => setEditing('reservation')}
                      data-testid="edit-reservation"
                    >
                      Edit
                    </Button>
                  </span>,
                ],
              ]}
            />
          </div>
        </Card>
      </div>

      <NodeCharts nodeId={n.id} />

      <Card
        title="Attributes"
        className="mt-4"
        actions={
          <Button size="sm" onClick={() => setEditing('attributes')} data-testid="edit-attributes">
            Edit
          </Button>
        }
      >
        {Object.keys(n.attributes).length === 0 ? (
          <Empty>This node has no attributes.</Empty>
        ) : (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>Name</th>
                <th className={thClass}>Value</th>
                <th className={thClass}>Set by</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(n.attributes).map(([k, v]) => (
                <tr key={k} data-testid="node-attribute">
                  <td className={`${tdClass} font-mono text-xs`}>{k}</td>
                  <td className={`${tdClass} font-mono text-xs`}>{v}</td>
                  <td className={`${tdClass} text-xs text-muted`}>
                    {k in n.operatorAttributes ? 'operator' : 'agent'}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>

      {editing === 'attributes' && <AttributesDialog node={n} open onClose={() => setEditing(null)} />}
      {editing === 'reservation' && <ReservationDialog node={n} open onClose={() => setEditing(null)} />}

      <Card title={`Tasks on this node${tasks.data ? ` (${nodeTasks.length})` : ''}`} className="mt-4">
        {tasks.error ? (
          <div className="p-4">
            <ErrorBox error={tasks.error} />
          </div>
        ) : tasks.isPending ? (
          <Loading what="Loading tasks" />
        ) : nodeTasks.length === 0 ? (
          <Empty>No task runs on this node.</Empty>
        ) : (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>Task</th>
                <th className={thClass}>Service</th>
                <th className={thClass}>State</th>
                <th className={thClass}>Host ports</th>
                <th className={thClass}>Started</th>
              </tr>
            </thead>
            <tbody>
              {nodeTasks.map((t) => (
                <tr
                  key={t.id}
                  className={rowClass}
                  data-testid="task-row"
                  data-state={t.state}
                  data-id={t.id}
                >
                  <td className={`${tdClass} font-mono text-xs`}>{t.id}</td>
                  <td className={tdClass}>
                    <Link href={serviceHref(t.appId)} className="hover:text-accent hover:underline">
                      {t.appId}
                    </Link>
                  </td>
                  <td className={tdClass}>
                    <TaskStateBadge state={t.state} />
                  </td>
                  <td className={tdClass}>
                    <HostPorts task={t} />
                  </td>
                  <td className={`${tdClass} whitespace-nowrap text-muted`} title={t.startedAt ?? t.stagedAt}>
                    {t.startedAt ? fmtAgo(t.startedAt, now) : `staged ${fmtAgo(t.stagedAt, now)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {tasks.data && nodeTasks.length > 0 && (
          <div className="px-4 py-2 text-xs text-muted">{plural(nodeTasks.length, 'task')}</div>
        )}
      </Card>
    </div>
  );
}

function Res({
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
      <div className="mb-2 text-sm font-medium">{name}</div>
      <UsageBar used={used} total={total} wide label={`${fmt(used)} of ${fmt(total)}`} />
    </div>
  );
}
