'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useMemo, useState } from 'react';
import { HostPorts } from '../../../../components/host-ports';
import { JsonEditor } from '../../../../components/json-editor';
import {
  Button,
  Card,
  ConfirmDialog,
  Dialog,
  Empty,
  ErrorBox,
  FieldError,
  KeyValue,
  Loading,
  PageHeader,
  StatusBadge,
  Table,
  Tabs,
  TaskStateBadge,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from '../../../../components/ui';
import { fmtAgo, fmtCpus, fmtMem, fmtTime, plural } from '../../../../lib/format';
import { errorCode, errorMessage, fieldIssues, useNow, useTRPC } from '../../../../lib/trpc';
import { isObject } from '../../../../lib/service-form';
import { parentPath } from '../../../../lib/tree';
import type { AppDetail, Task } from '../../../../lib/types';
import { useUrlParams } from '../../../../lib/url-state';

const tabKeys = ['tasks', 'configuration', 'debug'] as const;
type TabKey = (typeof tabKeys)[number];

/** Status fields Marathon adds to an app; the Configuration tab shows the definition without them. */
const readOnlyFields = [
  'version',
  'versionInfo',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'tasks',
  'lastTaskFailure',
  'atoll',
];

export default function ServiceDetailPage() {
  return (
    <Suspense fallback={<Loading />}>
      <ServiceDetail />
    </Suspense>
  );
}

type Dialogs = 'scale' | 'stop' | 'destroy' | null;

function ServiceDetail() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [params, setParams] = useUrlParams();
  const id = params.get('id') ?? '';
  const tabParam = params.get('tab');
  const tab: TabKey = (tabKeys as readonly string[]).includes(tabParam ?? '')
    ? (tabParam as TabKey)
    : 'tasks';
  const [dialog, setDialog] = useState<Dialogs>(null);

  const app = useQuery(trpc.apps.get.queryOptions({ id }, { enabled: id !== '' }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() });

  const destroy = useMutation(
    trpc.apps.delete.mutationOptions({
      onSuccess: async () => {
        setDialog(null);
        await invalidate();
        router.push('/services');
      },
    }),
  );
  const stop = useMutation(
    trpc.apps.scale.mutationOptions({
      onSuccess: async () => {
        setDialog(null);
        await invalidate();
      },
    }),
  );

  if (!id) {
    return (
      <div>
        <PageHeader title="Service" crumbs={[{ href: '/services', label: 'Services' }]} />
        <ErrorBox title="No service" error="the address names no service (?id=/…)" />
      </div>
    );
  }
  if (app.error) {
    return (
      <div>
        <PageHeader title={id} crumbs={[{ href: '/services', label: 'Services' }]} />
        {errorCode(app.error) === 'NOT_FOUND' ? (
          <Card>
            <Empty>
              Service {id} does not exist (any more).{' '}
              <Link href="/services" className="text-accent hover:underline">
                Back to services
              </Link>
            </Empty>
          </Card>
        ) : (
          <ErrorBox error={app.error} />
        )}
      </div>
    );
  }
  if (!app.data) return <Loading what="Loading service" />;

  const a = app.data;
  const tasks: Task[] = Array.isArray(a.tasks) ? (a.tasks as Task[]) : [];
  const deleting = a.atoll.status === 'Deleting';
  const group = parentPath(a.id);
  const image =
    isObject(a.container) && isObject(a.container.docker) ? String(a.container.docker.image ?? '') : '';
  const cmd = typeof a.cmd === 'string' ? a.cmd : '';

  return (
    <div>
      <PageHeader
        crumbs={[
          { href: '/services', label: 'Services' },
          ...(group !== '/'
            ? [{ href: `/services?group=${encodeURIComponent(group)}`, label: group.slice(1) }]
            : []),
        ]}
        title={
          <span className="flex items-center gap-3">
            <span data-testid="service-id">{a.id}</span>
            <StatusBadge status={a.atoll.status} testId="service-status" />
          </span>
        }
        subtitle={
          <span className="flex flex-wrap gap-x-4 gap-y-1">
            <span data-testid="service-instances">
              <strong className="font-semibold text-fg tabular-nums">
                {a.tasksRunning}/{a.instances}
              </strong>{' '}
              instances running
              {a.tasksStaged > 0 && `, ${a.tasksStaged} staged`}
            </span>
            <span>
              {fmtCpus(a.cpus)} CPU · {fmtMem(a.mem)}
              {a.disk > 0 && ` · ${fmtMem(a.disk)} disk`} each
            </span>
            <span title={a.version}>version {fmtTime(a.version)}</span>
            {image ? (
              <span className="font-mono text-xs">{image}</span>
            ) : cmd ? (
              <span className="max-w-96 truncate font-mono text-xs">{cmd}</span>
            ) : null}
          </span>
        }
        actions={
          <>
            <Button onClick={() => setDialog('scale')} disabled={deleting} data-testid="scale-button">
              {a.instances === 0 ? 'Resume' : 'Scale'}
            </Button>
            {a.instances > 0 && (
              <Button onClick={() => setDialog('stop')} disabled={deleting} data-testid="stop-button">
                Stop
              </Button>
            )}
            <Button
              variant="danger"
              onClick={() => setDialog('destroy')}
              disabled={deleting}
              data-testid="destroy-button"
            >
              Destroy
            </Button>
          </>
        }
      />

      {a.atoll.placementIssue && (
        <div
          role="status"
          data-testid="placement-issue"
          className="mb-4 rounded-md border border-amber-500/40 bg-amber-500/10 px-4 py-3 text-sm text-amber-900 dark:text-amber-200"
        >
          <strong className="font-semibold">Waiting:</strong> {a.atoll.placementIssue}
        </div>
      )}
      {a.atoll.delayUntil && (
        <div
          role="status"
          data-testid="delay-banner"
          className="mb-4 rounded-md border border-orange-500/40 bg-orange-500/10 px-4 py-3 text-sm text-orange-900 dark:text-orange-200"
        >
          <strong className="font-semibold">Delayed:</strong> launches back off until{' '}
          {fmtTime(a.atoll.delayUntil)} after {plural(a.atoll.backoffFailures, 'failure')}.
        </div>
      )}

      <Tabs
        tabs={[
          { key: 'tasks', label: `Tasks (${tasks.length})` },
          { key: 'configuration', label: 'Configuration' },
          { key: 'debug', label: 'Debug' },
        ]}
        active={tab}
        onChange={(k) => setParams({ tab: k === 'tasks' ? null : k })}
      />

      {tab === 'tasks' && <TasksTab app={a} tasks={tasks} />}
      {tab === 'configuration' && <ConfigurationTab app={a} />}
      {tab === 'debug' && <DebugTab app={a} />}

      <ScaleDialog app={a} open={dialog === 'scale'} onClose={() => setDialog(null)} />
      <ConfirmDialog
        open={dialog === 'stop'}
        onClose={() => {
          setDialog(null);
          stop.reset();
        }}
        onConfirm={() => stop.mutate({ id: a.id, instances: 0 })}
        title={`Stop ${a.id}`}
        message={
          <>
            Scale <strong>{a.id}</strong> from {a.instances} to 0 instances
            {tasks.length > 0 ? ` and kill its ${plural(tasks.length, 'task')}` : ''}. Its configuration
            stays; Resume brings it back.
          </>
        }
        confirmLabel="Stop"
        pending={stop.isPending}
        error={stop.error}
        testId="stop-dialog"
        confirmTestId="stop-confirm"
      />
      <ConfirmDialog
        open={dialog === 'destroy'}
        onClose={() => {
          setDialog(null);
          destroy.reset();
        }}
        onConfirm={() => destroy.mutate({ id: a.id, force: true })}
        title={`Destroy ${a.id}`}
        message={
          <span data-testid="destroy-message">
            {tasks.length > 0
              ? `Destroy ${a.id} and kill its ${plural(tasks.length, 'task')}`
              : `Destroy ${a.id}; it has no tasks to kill`}
            . This removes the service and its version history.
          </span>
        }
        confirmLabel="Destroy"
        pending={destroy.isPending}
        error={destroy.error}
        testId="destroy-dialog"
        confirmTestId="destroy-confirm"
      />
    </div>
  );
}

function ScaleDialog({ app, open, onClose }: { app: AppDetail; open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title={`Scale ${app.id}`} testId="scale-dialog">
      {/* Mounted on each opening, so it starts from the current instances and a clean error. */}
      <ScaleForm app={app} onDone={onClose} />
    </Dialog>
  );
}

function ScaleForm({ app, onDone }: { app: AppDetail; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [value, setValue] = useState(() => String(app.instances === 0 ? 1 : app.instances));
  const scale = useMutation(
    trpc.apps.scale.mutationOptions({
      onSuccess: async () => {
        onDone();
        await queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() });
      },
    }),
  );

  const n = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(n) && n >= 0;
  const issue = scale.error ? (fieldIssues(scale.error)[0]?.message ?? errorMessage(scale.error)) : null;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) scale.mutate({ id: app.id, instances: n });
      }}
    >
      <label className="block">
        <span className="mb-1 block text-xs font-medium text-muted">Instances (now {app.instances})</span>
        <input
          type="number"
          min={0}
          step={1}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          className={inputClass}
          data-autofocus
          data-testid="scale-input"
          aria-invalid={!!issue || (value !== '' && !valid)}
        />
      </label>
      {value !== '' && !valid && <FieldError>instances must be a whole number, 0 or more</FieldError>}
      {issue && <FieldError>{issue}</FieldError>}
      <div className="mt-5 flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button
          type="submit"
          variant="primary"
          disabled={!valid || scale.isPending}
          data-testid="scale-confirm"
        >
          {scale.isPending ? 'Scaling…' : valid && n !== app.instances ? `Scale to ${n}` : 'Scale'}
        </Button>
      </div>
    </form>
  );
}

function TasksTab({ app, tasks }: { app: AppDetail; tasks: Task[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow();
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [confirm, setConfirm] = useState<null | 'kill' | 'kill-scale'>(null);

  // Forget selected tasks that are gone.
  const live = useMemo(() => new Set(tasks.map((t) => t.id)), [tasks]);
  const chosen = [...selected].filter((t) => live.has(t));
  const allChosen = tasks.length > 0 && chosen.length === tasks.length;

  const kill = useMutation(
    trpc.tasks.kill.mutationOptions({
      onSuccess: async () => {
        setConfirm(null);
        setSelected(new Set());
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() }),
        ]);
      },
    }),
  );

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const count = plural(chosen.length, 'task');
  const after = Math.max(0, app.instances - chosen.length);

  return (
    <Card>
      <div className="flex items-center gap-2 border-b border-line p-3">
        <span className="mr-auto text-xs text-muted">
          {chosen.length > 0 ? `${count} selected` : 'Select tasks to kill them.'}
        </span>
        <Button
          size="sm"
          disabled={chosen.length === 0}
          onClick={() => setConfirm('kill')}
          data-testid="kill-button"
        >
          Kill
        </Button>
        <Button
          size="sm"
          disabled={chosen.length === 0}
          onClick={() => setConfirm('kill-scale')}
          data-testid="kill-scale-button"
        >
          Kill and scale
        </Button>
      </div>
      {tasks.length === 0 ? (
        <Empty>{app.instances === 0 ? 'The service is stopped: no tasks.' : 'No task yet.'}</Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={cx(thClass, 'w-8')}>
                <input
                  type="checkbox"
                  aria-label="Select all tasks"
                  checked={allChosen}
                  ref={(el) => {
                    if (el) el.indeterminate = chosen.length > 0 && !allChosen;
                  }}
                  onChange={() => setSelected(allChosen ? new Set() : new Set(tasks.map((t) => t.id)))}
                  data-testid="task-select-all"
                />
              </th>
              <th className={thClass}>Task</th>
              <th className={thClass}>Node</th>
              <th className={thClass}>State</th>
              <th className={thClass}>Host ports</th>
              <th className={thClass}>Started</th>
              <th className={thClass}>Staged</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.id} className={rowClass} data-testid="task-row" data-state={t.state} data-id={t.id}>
                <td className={tdClass}>
                  <input
                    type="checkbox"
                    aria-label={`Select task ${t.id}`}
                    checked={selected.has(t.id)}
                    onChange={() => toggle(t.id)}
                    data-testid="task-select"
                  />
                </td>
                <td className={`${tdClass} max-w-72 truncate font-mono text-xs`} title={t.id}>
                  {t.id}
                </td>
                <td className={tdClass}>
                  <Link
                    href={`/nodes/${t.agentId}`}
                    className="hover:text-accent hover:underline"
                    data-testid="task-host"
                  >
                    {t.host}
                  </Link>
                </td>
                <td className={tdClass}>
                  <TaskStateBadge state={t.state} />
                  {t.message && (
                    <div className="mt-0.5 max-w-64 truncate text-xs text-muted" title={t.message}>
                      {t.message}
                    </div>
                  )}
                </td>
                <td className={tdClass}>
                  <HostPorts task={t} />
                </td>
                <td className={`${tdClass} whitespace-nowrap text-muted`} title={t.startedAt ?? undefined}>
                  {t.startedAt ? fmtAgo(t.startedAt, now) : '—'}
                </td>
                <td className={`${tdClass} whitespace-nowrap text-muted`} title={t.stagedAt}>
                  {fmtAgo(t.stagedAt, now)}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <ConfirmDialog
        open={confirm !== null}
        onClose={() => {
          setConfirm(null);
          kill.reset();
        }}
        onConfirm={() => kill.mutate({ taskIds: chosen, scale: confirm === 'kill-scale' })}
        title={confirm === 'kill-scale' ? 'Kill and scale' : 'Kill tasks'}
        message={
          <span data-testid="kill-message">
            {confirm === 'kill-scale'
              ? `Kill ${count} of ${app.id} and scale it from ${app.instances} to ${after} ${after === 1 ? 'instance' : 'instances'}.`
              : `Kill ${count} of ${app.id}. Atoll starts ${chosen.length === 1 ? 'a replacement' : 'replacements'}.`}
          </span>
        }
        confirmLabel={`Kill ${count}`}
        pending={kill.isPending}
        error={kill.error}
        testId="kill-dialog"
        confirmTestId="kill-confirm"
      />
    </Card>
  );
}

function definitionOf(app: AppDetail): Record<string, unknown> {
  const def: Record<string, unknown> = { ...app };
  for (const k of readOnlyFields) delete def[k];
  return def;
}

function ConfigurationTab({ app }: { app: AppDetail }) {
  const trpc = useTRPC();
  const versions = useQuery(trpc.apps.versions.queryOptions({ id: app.id }));
  const text = useMemo(() => JSON.stringify(definitionOf(app), null, 2), [app]);
  return (
    <div className="grid gap-4 lg:grid-cols-[3fr_1fr]">
      <Card title="Definition">
        <div className="h-[60vh] overflow-hidden" data-testid="config-json">
          <JsonEditor value={text} readOnly ariaLabel="App definition (read-only)" />
        </div>
      </Card>
      <Card title="Versions">
        {versions.error ? (
          <div className="p-4">
            <ErrorBox error={versions.error} />
          </div>
        ) : versions.isPending ? (
          <Loading />
        ) : (
          <ol className="divide-y divide-line text-sm" data-testid="versions">
            {(versions.data ?? []).map((v) => (
              <li key={v} className="flex items-center justify-between gap-2 px-4 py-2" title={v}>
                <span className="text-xs whitespace-nowrap tabular-nums">{fmtTime(v)}</span>
                {v === app.versionInfo.lastConfigChangeAt && (
                  <span className="rounded bg-accent/15 px-1.5 py-0.5 text-[11px] font-medium text-accent">
                    current config
                  </span>
                )}
                {v === app.version && v !== app.versionInfo.lastConfigChangeAt && (
                  <span className="rounded bg-surface-2 px-1.5 py-0.5 text-[11px] text-muted">
                    latest scale
                  </span>
                )}
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}

function DebugTab({ app }: { app: AppDetail }) {
  const failure = app.lastTaskFailure;
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title="Placement">
        <div className="p-4 text-sm" data-testid="debug-placement">
          {app.atoll.placementIssue ? (
            <p className="text-amber-800 dark:text-amber-300">
              <strong>Not placed:</strong> {app.atoll.placementIssue}
            </p>
          ) : app.tasksRunning + app.tasksStaged >= app.instances ? (
            <p className="text-muted">All {plural(app.instances, 'instance')} placed.</p>
          ) : (
            <p className="text-muted">No placement problem reported.</p>
          )}
        </div>
      </Card>
      <Card title="Launch back-off">
        <div className="p-4" data-testid="debug-backoff">
          <KeyValue
            items={[
              ['Delayed until', app.atoll.delayUntil ? fmtTime(app.atoll.delayUntil) : 'not delayed'],
              ['Failures in a row', String(app.atoll.backoffFailures)],
              [
                'Back-off',
                `${String(app.backoffSeconds ?? 1)}s × ${String(app.backoffFactor ?? 1.15)}, at most ${String(app.maxLaunchDelaySeconds ?? 300)}s`,
              ],
            ]}
          />
        </div>
      </Card>
      <Card title="Last task failure" className="lg:col-span-2">
        <div className="p-4" data-testid="last-task-failure">
          {failure === undefined || failure === null ? (
            <p className="text-sm text-muted">No task of this service has failed.</p>
          ) : isObject(failure) ? (
            <KeyValue
              items={Object.entries(failure).map(([k, v]) => [
                k,
                <span key={k} className="font-mono text-xs break-all">
                  {typeof v === 'string'
                    ? /At$|timestamp|version/i.test(k) && !Number.isNaN(Date.parse(v))
                      ? `${v} (${fmtTime(v)})`
                      : v
                    : JSON.stringify(v)}
                </span>,
              ])}
            />
          ) : (
            <pre className="text-xs">{JSON.stringify(failure, null, 2)}</pre>
          )}
        </div>
      </Card>
    </div>
  );
}
