'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { HostPorts } from '../../../../components/host-ports';
import { TaskLogs } from '../../../../components/task-logs';
import { TaskTerminal } from '../../../../components/task-terminal';
import { ErrorBox, Loading, PageHeader, TaskStateBadge, Tabs } from '../../../../components/ui';
import { fmtAgo } from '../../../../lib/format';
import { serviceHref } from '../../../../lib/links';
import { useNow, useTRPC } from '../../../../lib/trpc';

type Tab = 'logs' | 'terminal';

export default function TaskPage() {
  return (
    <Suspense fallback={<Loading />}>
      <TaskDetail />
    </Suspense>
  );
}

function TaskDetail() {
  const params = useSearchParams();
  const id = params.get('id') ?? '';
  const [tab, setTab] = useState<Tab>(params.get('tab') === 'terminal' ? 'terminal' : 'logs');
  const trpc = useTRPC();
  const now = useNow();
  const task = useQuery(trpc.tasks.get.queryOptions({ taskId: id }, { enabled: id !== '' }));
  const crumbs = [{ href: '/services', label: 'Services' }];
  if (task.error) {
    return (
      <div>
        <PageHeader title="Task" crumbs={crumbs} />
        <ErrorBox error={task.error} />
      </div>
    );
  }
  if (!task.data) return <Loading what="Loading task" />;
  const t = task.data;
  return (
    <div>
      <PageHeader
        crumbs={[...crumbs, { href: serviceHref(t.appId, 'tasks'), label: t.appId }]}
        title={
          <span className="font-mono text-base" data-testid="task-id">
            {t.id}
          </span>
        }
        subtitle={
          <span className="inline-flex flex-wrap items-center gap-2">
            <TaskStateBadge state={t.state} />
            on
            <Link href={`/nodes/${t.agentId}`} className="hover:text-accent hover:underline">
              {t.host}
            </Link>
            <HostPorts task={t} />
            {t.startedAt ? `started ${fmtAgo(t.startedAt, now)}` : `staged ${fmtAgo(t.stagedAt, now)}`}
            {t.message ? <span className="text-xs">· {t.message}</span> : null}
          </span>
        }
      />
      <Tabs
        tabs={[
          { key: 'logs', label: 'Logs' },
          { key: 'terminal', label: 'Terminal' },
        ]}
        active={tab}
        onChange={setTab}
      />
      {tab === 'logs' ? (
        <TaskLogs taskId={t.id} />
      ) : t.state === 'TASK_RUNNING' ? (
        <TaskTerminal taskId={t.id} />
      ) : (
        <p className="text-sm text-muted">A terminal needs a running task; this one is {t.state}.</p>
      )}
    </div>
  );
}
