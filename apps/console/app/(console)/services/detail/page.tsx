'use client';

import { PackageBadge } from '../../../../components/package-badge';
import { AppCharts } from '../../../../components/metrics/panels';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useMemo, useState } from 'react';
import { DeploymentBanner, DeploymentsTable, useAppDeployments } from '../../../../components/deployments';
import { DiffStats, DiffView } from '../../../../components/diff-view';
import { HostPorts } from '../../../../components/host-ports';
import { JsonEditor } from '../../../../components/json-editor';
import { PodContainers } from '../../../../components/pod-editor';
import { definitionOf } from '../../../../components/service-editor';
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
  MutationError,
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
import { canonicalJson, diffText } from '../../../../lib/diff';
import { fmtAgo, fmtCpus, fmtDuration, fmtMem, fmtTime, plural } from '../../../../lib/format';
import { taskHealth, type TaskHealth } from '../../../../lib/health';
import { editHref } from '../../../../lib/links';
import { isObject } from '../../../../lib/service-form';
import { errorCode, errorMessage, fieldIssues, isLocked, useNow, useTRPC } from '../../../../lib/trpc';
import { parentPath } from '../../../../lib/tree';
import type { AppDetail, Task } from '../../../../lib/types';
import { useUrlParams } from '../../../../lib/url-state';
import { useAccess } from '../../../../components/access';

const tabKeys = ['tasks', 'configuration', 'debug', 'deployments'] as const;
type TabKey = (typeof tabKeys)[number];

export default function ServiceDetailPage() {
  return (
    <Suspense fallback={<Loading />}>
      <ServiceDetail />
    </Suspense>
  );
}

type Dialogs = 'scale' | 'restart' | 'stop' | 'destroy' | null;

function useInvalidateApps() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.deployments.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.queue.pathKey() }),
    ]);
}

/** upgradeStrategy.minimumHealthCapacity as a percentage (Marathon's default is 1). */
function minHealthPercent(app: AppDetail): number {
  const s = app.upgradeStrategy;
  const v = isObject(s) && typeof s.minimumHealthCapacity === 'number' ? s.minimumHealthCapacity : 1;
  return Math.round(v * 100);
}

function healthCheckCount(app: AppDetail): number {
  return Array.isArray(app.healthChecks) ? app.healthChecks.length : 0;
}

function ServiceDetail() {
  const trpc = useTRPC();
  const router = useRouter();
  const invalidate = useInvalidateApps();
  const [params, setParams] = useUrlParams();
  const id = params.get('id') ?? '';
  const tabParam = params.get('tab');
  const tab: TabKey = (tabKeys as readonly string[]).includes(tabParam ?? '')
    ? (tabParam as TabKey)
    : 'tasks';
  const [dialog, setDialog] = useState<Dialogs>(null);

  const app = useQuery(trpc.apps.get.queryOptions({ id }, { enabled: id !== '' }));
  // Whether the service answers under /service/<name>/ (DCOS_SERVICE_NAME, a vhost or a web port).
  const serviceLink = useQuery(trpc.services.link.queryOptions({ appId: id }, { enabled: id !== '' }));
  const deployments = useAppDeployments(id);
  const access = useAccess();
  const closeDialog = async () => {
    setDialog(null);
    await invalidate();
  };

  const destroy = useMutation(
    trpc.apps.delete.mutationOptions({
      onSuccess: async () => {
        await closeDialog();
        router.push('/services');
      },
    }),
  );
  // Stop and restart go through Marathon's deployment lock: refused while a deployment runs,
  // unless the operator forces them from the error.
  const stop = useMutation(trpc.apps.scale.mutationOptions({ onSuccess: closeDialog }));
  const restart = useMutation(trpc.apps.restart.mutationOptions({ onSuccess: closeDialog }));
  const destroyPod = useMutation(
    trpc.pods.delete.mutationOptions({
      onSuccess: async () => {
        await closeDialog();
        router.push('/services');
      },
    }),
  );
  const resetDelay = useMutation(trpc.queue.resetDelay.mutationOptions({ onSuccess: () => invalidate() }));

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
  const isPod = 'pod' in a && !!a.pod;
  const tasks: Task[] = Array.isArray(a.tasks) ? (a.tasks as Task[]) : [];
  const deleting = a.atoll.status === 'Deleting';
  // Viewers, and operators scoped elsewhere, see the actions disabled (docs/access.md).
  const mayChange = access.canOperate(a.id);
  const group = parentPath(a.id);
  const image =
    isObject(a.container) && isObject(a.container.docker) ? String(a.container.docker.image ?? '') : '';
  const cmd = typeof a.cmd === 'string' ? a.cmd : '';
  const running = deployments.list;

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
            <PackageBadge labels={a.labels} />
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
            {healthCheckCount(a) > 0 && (
              <span data-testid="service-health-summary">
                {a.tasksHealthy} healthy{a.tasksUnhealthy > 0 && `, ${a.tasksUnhealthy} unhealthy`}
              </span>
            )}
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
            {serviceLink.data && (
              <a
                href={serviceLink.data.path}
                target="_blank"
                rel="noopener noreferrer"
                title={`Open ${serviceLink.data.path} in a new tab`}
                className="inline-flex h-8 items-center justify-center gap-1.5 rounded-md border border-line bg-surface px-3 text-sm font-medium whitespace-nowrap text-fg transition-colors hover:bg-surface-2"
                data-testid="open-service"
              >
                Open service ↗
              </a>
            )}
            <Button
              onClick={() => router.push(editHref(a.id))}
              disabled={deleting || !mayChange}
              data-testid="edit-button"
            >
              Edit
            </Button>
            <Button
              onClick={() => setDialog('scale')}
              disabled={deleting || !mayChange}
              data-testid="scale-button"
            >
              {a.instances === 0 ? 'Resume' : 'Scale'}
            </Button>
            {a.instances > 0 && (
              <Button
                onClick={() => setDialog('restart')}
                disabled={deleting || !mayChange}
                data-testid="restart-button"
              >
                Restart
              </Button>
            )}
            {a.instances > 0 && (
              <Button
                onClick={() => setDialog('stop')}
                disabled={deleting || !mayChange}
                data-testid="stop-button"
              >
                Stop
              </Button>
            )}
            <Button
              variant="danger"
              onClick={() => setDialog('destroy')}
              disabled={deleting || !mayChange}
              data-testid="destroy-button"
            >
              Destroy
            </Button>
          </>
        }
      />

      {tab !== 'deployments' && (
        <DeploymentBanner
          appId={a.id}
          deployments={running}
          onOpen={() => setParams({ tab: 'deployments' }, { push: true })}
        />
      )}
      {a.atoll.placementIssue && (
        <div
          role="status"
          data-testid="placement-issue"
          className="mb-4 rounded-md border border-amber-500/40 bg-amber-500/10 px-4 py-3 text-sm text-amber-900 dark:text-amber-200"
        >
          <strong className="font-semibold">Waiting:</strong> {a.atoll.placementIssue}{' '}
          {tab !== 'debug' && (
            <button
              type="button"
              className="font-medium text-accent hover:underline"
              onClick={() => setParams({ tab: 'debug' }, { push: true })}
            >
              Why?
            </button>
          )}
        </div>
      )}
      {a.atoll.delayUntil && (
        <div
          role="status"
          data-testid="delay-banner"
          className="mb-4 flex flex-wrap items-center gap-3 rounded-md border border-orange-500/40 bg-orange-500/10 px-4 py-3 text-sm text-orange-900 dark:text-orange-200"
        >
          <span>
            <strong className="font-semibold">Delayed:</strong> launches back off until{' '}
            {fmtTime(a.atoll.delayUntil)} after {plural(a.atoll.backoffFailures, 'failure')}.
          </span>
          <Button
            size="sm"
            onClick={() => resetDelay.mutate({ id: a.id })}
            disabled={resetDelay.isPending}
            data-testid="delay-reset"
          >
            Reset delay
          </Button>
          {resetDelay.error && (
            <span className="text-red-700 dark:text-red-300">{errorMessage(resetDelay.error)}</span>
          )}
        </div>
      )}

      <Tabs
        tabs={[
          { key: 'tasks', label: `Tasks (${tasks.length})` },
          { key: 'configuration', label: 'Configuration' },
          { key: 'debug', label: 'Debug' },
          {
            key: 'deployments',
            label: (
              <span className="inline-flex items-center gap-1.5">
                Deployments
                {running.length > 0 && (
                  <span className="rounded-full bg-sky-500/15 px-1.5 text-[11px] text-sky-700 tabular-nums dark:text-sky-300">
                    {running.length}
                  </span>
                )}
              </span>
            ),
          },
        ]}
        active={tab}
        onChange={(k) => setParams({ tab: k === 'tasks' ? null : k })}
      />

      {tab === 'tasks' && <TasksTab app={a} tasks={tasks} />}
      {tab === 'tasks' && <AppCharts appId={a.id} />}
      {tab === 'configuration' && <ConfigurationTab app={a} />}
      {tab === 'debug' && <DebugTab app={a} />}
      {tab === 'deployments' && <DeploymentsTab app={a} />}

      <ScaleDialog app={a} open={dialog === 'scale'} onClose={() => setDialog(null)} />
      <ConfirmDialog
        open={dialog === 'restart'}
        onClose={() => {
          setDialog(null);
          restart.reset();
        }}
        onConfirm={() => restart.mutate({ id: a.id })}
        onForce={() => restart.mutate({ id: a.id, force: true })}
        title={`Restart ${a.id}`}
        message={
          <>
            Replace the {plural(tasks.length, 'task')} of <strong>{a.id}</strong> with new ones, rolling: a
            deployment starts new tasks and kills old ones as the new become healthy, keeping at least{' '}
            {minHealthPercent(a)}% of {plural(a.instances, 'instance')} healthy.
          </>
        }
        confirmLabel="Restart"
        danger={false}
        pending={restart.isPending}
        error={restart.error}
        testId="restart-dialog"
        confirmTestId="restart-confirm"
      />
      <ConfirmDialog
        open={dialog === 'stop'}
        onClose={() => {
          setDialog(null);
          stop.reset();
        }}
        onConfirm={() => stop.mutate({ id: a.id, instances: 0 })}
        onForce={() => stop.mutate({ id: a.id, instances: 0, force: true })}
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
          destroyPod.reset();
        }}
        // Destroying overrides a running deployment (as DC/OS does): the confirmation names it.
        onConfirm={() =>
          isPod ? destroyPod.mutate({ id: a.id, force: true }) : destroy.mutate({ id: a.id, force: true })
        }
        title={`Destroy ${a.id}`}
        message={
          <span data-testid="destroy-message">
            {tasks.length > 0
              ? `Destroy ${a.id} and kill its ${plural(tasks.length, 'task')}`
              : `Destroy ${a.id}; it has no tasks to kill`}
            . This removes the service and its version history
            {running.length > 0
              ? `, and cancels its running ${running.length === 1 ? 'deployment' : 'deployments'}`
              : ''}
            .
          </span>
        }
        confirmLabel="Destroy"
        pending={destroy.isPending || destroyPod.isPending}
        error={destroy.error ?? destroyPod.error}
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
  const invalidate = useInvalidateApps();
  const [value, setValue] = useState(() => String(app.instances === 0 ? 1 : app.instances));
  const scale = useMutation(
    trpc.apps.scale.mutationOptions({
      onSuccess: async () => {
        onDone();
        await invalidate();
      },
    }),
  );

  const n = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(n) && n >= 0;
  const locked = isLocked(scale.error);
  const issue =
    scale.error && !locked ? (fieldIssues(scale.error)[0]?.message ?? errorMessage(scale.error)) : null;

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
          onChange={(e) => {
            setValue(e.target.value);
            if (scale.error) scale.reset();
          }}
          className={inputClass}
          data-autofocus
          data-testid="scale-input"
          aria-invalid={!!issue || (value !== '' && !valid)}
        />
      </label>
      {value !== '' && !valid && <FieldError>instances must be a whole number, 0 or more</FieldError>}
      {issue && <FieldError>{issue}</FieldError>}
      {locked && (
        <div className="mt-3">
          <MutationError
            error={scale.error}
            pending={scale.isPending}
            onForce={() => valid && scale.mutate({ id: app.id, instances: n, force: true })}
          />
        </div>
      )}
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

const healthTone: Record<TaskHealth['state'], string> = {
  healthy: 'bg-emerald-500',
  unhealthy: 'bg-red-500',
  unknown: 'bg-slate-400',
  none: '',
};

function healthTitle(h: TaskHealth): string {
  const lines = [
    h.state === 'healthy'
      ? 'Every health check passes'
      : h.state === 'unhealthy'
        ? `Failing: ${h.cause ?? 'health check failed'}`
        : 'No health check result yet',
  ];
  if (h.consecutiveFailures > 0) lines.push(`${plural(h.consecutiveFailures, 'consecutive failure')}`);
  if (h.lastSuccess) lines.push(`last success ${fmtTime(h.lastSuccess)}`);
  if (h.lastFailure) lines.push(`last failure ${fmtTime(h.lastFailure)}`);
  return lines.join('\n');
}

/** healthy / unhealthy / unknown, with the last failure's cause as tooltip. */
function HealthCell({ task, checks }: { task: Task; checks: number }) {
  const h = taskHealth(task.healthCheckResults, checks);
  if (h.state === 'none')
    return (
      <span
        className="text-muted"
        data-testid="task-health"
        data-health="none"
        title="No health checks defined"
      >
        —
      </span>
    );
  return (
    <span
      className="inline-flex max-w-56 items-center gap-1.5 text-xs"
      data-testid="task-health"
      data-health={h.state}
      title={healthTitle(h)}
    >
      <span aria-hidden className={cx('size-2 shrink-0 rounded-full', healthTone[h.state])} />
      <span className="capitalize">{h.state}</span>
      {h.state === 'unhealthy' && h.cause && <span className="truncate text-muted">· {h.cause}</span>}
    </span>
  );
}

function TasksTab({ app, tasks }: { app: AppDetail; tasks: Task[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow();
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [confirm, setConfirm] = useState<null | 'kill' | 'kill-scale'>(null);
  const checks = healthCheckCount(app);

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
              <th className={thClass}>Health</th>
              <th className={thClass}>Host ports</th>
              <th className={thClass}>Version</th>
              <th className={thClass}>Started</th>
              <th className={thClass}>Staged</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => {
              const old = t.version !== app.versionInfo.lastConfigChangeAt;
              return (
                <tr
                  key={t.id}
                  className={rowClass}
                  data-testid="task-row"
                  data-state={t.state}
                  data-id={t.id}
                  data-version={t.version}
                >
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
                    <Link
                      href={`/services/task?id=${encodeURIComponent(t.id)}`}
                      className="hover:text-accent hover:underline"
                      data-testid="task-link"
                    >
                      {t.id}
                    </Link>
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
                    <HealthCell task={t} checks={checks} />
                  </td>
                  <td className={tdClass}>
                    <HostPorts task={t} />
                  </td>
                  <td className={`${tdClass} whitespace-nowrap text-xs text-muted`} title={t.version}>
                    {fmtTime(t.version)}
                    {old && (
                      <span className="ml-1.5 rounded bg-amber-500/15 px-1 text-[10px] font-medium text-amber-800 dark:text-amber-300">
                        old
                      </span>
                    )}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap text-muted`} title={t.startedAt ?? undefined}>
                    {t.startedAt ? fmtAgo(t.startedAt, now) : '—'}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap text-muted`} title={t.stagedAt}>
                    {fmtAgo(t.stagedAt, now)}
                  </td>
                </tr>
              );
            })}
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

/** A stored version without its own `version` stamp, which always differs and says nothing. */
function versionText(def: Record<string, unknown> | undefined): string {
  if (!def) return '';
  const { version: _v, ...rest } = def;
  return canonicalJson(rest);
}

function VersionTags({ app, v }: { app: AppDetail; v: string }) {
  return (
    <>
      {v === app.version && (
        <span className="rounded bg-accent/15 px-1.5 py-0.5 text-[11px] font-medium text-accent">
          current
        </span>
      )}
      {v === app.versionInfo.lastConfigChangeAt && v !== app.version && (
        <span className="rounded bg-surface-2 px-1.5 py-0.5 text-[11px] text-muted">current config</span>
      )}
    </>
  );
}

function ConfigurationTab({ app }: { app: AppDetail }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateApps();
  const [params, setParams] = useUrlParams();
  const [rollbackTo, setRollbackTo] = useState<string | null>(null);
  const versions = useQuery(trpc.apps.versions.queryOptions({ id: app.id }));
  const list = useMemo(() => versions.data ?? [], [versions.data]);

  // Compare the previous version with the newest unless the URL picks others (?from=&to=).
  const pick = (key: string, fallback: string | undefined) => {
    const v = params.get(key);
    return v && list.includes(v) ? v : fallback;
  };
  const from = pick('from', list[1] ?? list[0]);
  const to = pick('to', list[0]);
  // Stored versions never change: fetch each once.
  const defFrom = useQuery(
    trpc.apps.version.queryOptions(
      { id: app.id, version: from ?? '' },
      { enabled: !!from, staleTime: Infinity },
    ),
  );
  const defTo = useQuery(
    trpc.apps.version.queryOptions({ id: app.id, version: to ?? '' }, { enabled: !!to, staleTime: Infinity }),
  );
  const diff = useMemo(
    () => (defFrom.data && defTo.data ? diffText(versionText(defFrom.data), versionText(defTo.data)) : null),
    [defFrom.data, defTo.data],
  );

  const rollback = useMutation(
    trpc.apps.rollback.mutationOptions({
      onSuccess: async () => {
        setRollbackTo(null);
        await invalidate();
      },
    }),
  );
  const text = useMemo(() => JSON.stringify(definitionOf(app), null, 2), [app]);
  const label = (v: string) =>
    `${fmtTime(v)}${v === app.version ? ' (current)' : v === app.versionInfo.lastConfigChangeAt ? ' (current config)' : ''}`;

  return (
    <>
      {'pod' in app && app.pod ? <PodContainers pod={app.pod} /> : null}
      <div className="grid gap-4 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
        <Card title={`Versions${list.length > 0 ? ` (${list.length})` : ''}`}>
          {versions.error ? (
            <div className="p-4">
              <ErrorBox error={versions.error} />
            </div>
          ) : versions.isPending ? (
            <Loading />
          ) : (
            <ol className="max-h-[60vh] divide-y divide-line overflow-y-auto text-sm" data-testid="versions">
              {list.map((v) => (
                <li
                  key={v}
                  className="flex flex-wrap items-center gap-2 px-4 py-2"
                  data-testid="version-row"
                  data-version={v}
                >
                  <span className="text-xs whitespace-nowrap tabular-nums" title={v}>
                    {fmtTime(v)}
                  </span>
                  <VersionTags app={app} v={v} />
                  <span className="ml-auto flex items-center gap-1">
                    <CompareToggle
                      label="A"
                      active={v === from}
                      onClick={() => setParams({ from: v })}
                      version={v}
                    />
                    <CompareToggle
                      label="B"
                      active={v === to}
                      onClick={() => setParams({ to: v })}
                      version={v}
                    />
                    {v !== app.version && (
                      <Button
                        size="sm"
                        variant="ghost"
                        onClick={() => setRollbackTo(v)}
                        data-testid="version-rollback"
                        title={`Deploy the definition of ${v} again`}
                      >
                        Roll back to this version
                      </Button>
                    )}
                  </span>
                </li>
              ))}
            </ol>
          )}
        </Card>

        <Card
          title="Compare versions"
          actions={diff && diff.some((l) => l.op !== 'same') ? <DiffStats lines={diff} /> : undefined}
        >
          <div className="grid gap-3 border-b border-line p-3 sm:grid-cols-2">
            <label className="block">
              <span className="mb-1 block text-xs font-medium text-muted">A (old)</span>
              <select
                className={inputClass}
                value={from ?? ''}
                onChange={(e) => setParams({ from: e.target.value })}
                data-testid="version-compare-a"
                disabled={list.length === 0}
              >
                {list.map((v) => (
                  <option key={v} value={v}>
                    {label(v)}
                  </option>
                ))}
              </select>
            </label>
            <label className="block">
              <span className="mb-1 block text-xs font-medium text-muted">B (new)</span>
              <select
                className={inputClass}
                value={to ?? ''}
                onChange={(e) => setParams({ to: e.target.value })}
                data-testid="version-compare-b"
                disabled={list.length === 0}
              >
                {list.map((v) => (
                  <option key={v} value={v}>
                    {label(v)}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {defFrom.error || defTo.error ? (
            <div className="p-4">
              <ErrorBox error={defFrom.error ?? defTo.error} />
            </div>
          ) : diff === null ? (
            <Loading what="Loading versions" />
          ) : (
            <DiffView
              lines={diff}
              testId="version-diff"
              emptyText={
                from === to ? 'Pick two different versions.' : 'The two versions have the same definition.'
              }
            />
          )}
        </Card>

        <Card title="Current definition" className="lg:col-span-2">
          <div className="h-[50vh] overflow-hidden" data-testid="config-json">
            <JsonEditor value={text} readOnly ariaLabel="App definition (read-only)" />
          </div>
        </Card>

        <ConfirmDialog
          open={rollbackTo !== null}
          onClose={() => {
            setRollbackTo(null);
            rollback.reset();
          }}
          onConfirm={() => rollbackTo && rollback.mutate({ id: app.id, version: rollbackTo })}
          onForce={() => rollbackTo && rollback.mutate({ id: app.id, version: rollbackTo, force: true })}
          title={`Roll back ${app.id}`}
          message={
            rollbackTo && (
              <span data-testid="rollback-message">
                Roll <strong>{app.id}</strong> back to the version of {fmtTime(rollbackTo)} (
                <span className="font-mono text-xs">{rollbackTo}</span>): its stored definition is deployed
                again as a new version, and a deployment replaces the{' '}
                {plural(app.tasksRunning + app.tasksStaged, 'task')}.
              </span>
            )
          }
          confirmLabel="Roll back"
          danger={false}
          pending={rollback.isPending}
          error={rollback.error}
          testId="rollback-dialog"
          confirmTestId="rollback-confirm"
        />
      </div>
    </>
  );
}

function CompareToggle({
  label,
  active,
  onClick,
  version,
}: {
  label: 'A' | 'B';
  active: boolean;
  onClick: () => void;
  version: string;
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      aria-pressed={active}
      title={`Compare as ${label === 'A' ? 'old' : 'new'}: ${version}`}
      className={cx(
        'inline-flex size-6 items-center justify-center rounded border text-[11px] font-semibold',
        active ? 'border-accent bg-accent text-accent-fg' : 'border-line text-muted hover:bg-surface-2',
      )}
    >
      {label}
    </button>
  );
}

function DebugTab({ app }: { app: AppDetail }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateApps();
  const now = useNow(1_000);
  const queue = useQuery(trpc.queue.list.queryOptions());
  const entry = queue.data?.find((q) => q.app.id === app.id);
  const resetDelay = useMutation(trpc.queue.resetDelay.mutationOptions({ onSuccess: () => invalidate() }));
  // The queue says how long was left when it answered; count down from there.
  const delayLeft = entry
    ? Math.max(0, Math.ceil(entry.delay.timeLeftSeconds - (now - queue.dataUpdatedAt) / 1000))
    : app.atoll.delayUntil
      ? Math.max(0, Math.ceil((Date.parse(app.atoll.delayUntil) - now) / 1000))
      : 0;
  const reasons = entry ? Object.entries(entry.atoll.reasons).sort((x, y) => y[1] - x[1]) : [];
  const failure = app.lastTaskFailure;

  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title="Launch queue" className="lg:col-span-2">
        <div
          className="space-y-4 p-4 text-sm"
          data-testid="debug-queue"
          data-waiting={entry?.count ?? 0}
          data-delay={delayLeft}
        >
          {queue.error ? (
            <ErrorBox error={queue.error} />
          ) : queue.isPending ? (
            <Loading what="Loading the launch queue" />
          ) : !entry ? (
            <p className="text-muted" data-testid="debug-placement">
              Not waiting:{' '}
              {app.instances === 0
                ? 'the service is stopped'
                : `all ${plural(app.instances, 'instance')} are placed`}
              .
            </p>
          ) : (
            <>
              <div className="flex flex-wrap items-start gap-x-10 gap-y-3">
                <KeyValue
                  items={[
                    [
                      'Waiting',
                      <span key="w" data-testid="queue-count">
                        {plural(entry.count, 'instance')} to launch
                      </span>,
                    ],
                    [
                      'Since',
                      <span key="s" title={entry.since}>
                        {fmtAgo(entry.since, now)}
                      </span>,
                    ],
                    [
                      'Back-off delay',
                      <span key="d" data-testid="queue-delay">
                        {delayLeft > 0
                          ? `${fmtDuration(delayLeft)} left`
                          : 'none: launches at the next offer'}
                      </span>,
                    ],
                  ]}
                />
                <div className="flex flex-col items-start gap-1">
                  <Button
                    size="sm"
                    onClick={() => resetDelay.mutate({ id: app.id })}
                    disabled={resetDelay.isPending || (delayLeft === 0 && app.atoll.backoffFailures === 0)}
                    data-testid="reset-delay"
                    title="Forget the launch back-off and launch at once"
                  >
                    {resetDelay.isPending ? 'Resetting…' : 'Reset delay'}
                  </Button>
                  {resetDelay.error && <FieldError>{errorMessage(resetDelay.error)}</FieldError>}
                </div>
              </div>
              {entry.atoll.placementIssue && (
                <p className="text-amber-800 dark:text-amber-300" data-testid="debug-placement">
                  <strong>Not placed:</strong> {entry.atoll.placementIssue}
                </p>
              )}
              <div className="grid gap-4 lg:grid-cols-2">
                <div>
                  <h3 className="mb-1 text-xs font-semibold text-muted">
                    Declined offers (last round,{' '}
                    {plural(entry.processedOffersSummary.processedOffersCount, 'node')})
                  </h3>
                  {entry.processedOffersSummary.rejectSummaryLastOffers.length === 0 ? (
                    <p className="text-muted">No node declined.</p>
                  ) : (
                    <Table>
                      <thead>
                        <tr>
                          <th className={thClass}>Reason</th>
                          <th className={cx(thClass, 'text-right')}>Declined</th>
                          <th className={cx(thClass, 'text-right')}>Processed</th>
                        </tr>
                      </thead>
                      <tbody>
                        {entry.processedOffersSummary.rejectSummaryLastOffers.map((r) => (
                          <tr key={r.reason} data-testid="queue-reject" data-reason={r.reason}>
                            <td className={cx(tdClass, 'font-mono text-xs')}>{r.reason}</td>
                            <td className={cx(tdClass, 'text-right tabular-nums')}>{r.declined}</td>
                            <td className={cx(tdClass, 'text-right tabular-nums')}>{r.processed}</td>
                          </tr>
                        ))}
                      </tbody>
                    </Table>
                  )}
                </div>
                <div>
                  <h3 className="mb-1 text-xs font-semibold text-muted">Why nodes were excluded</h3>
                  {reasons.length === 0 ? (
                    <p className="text-muted">The scheduler excluded no node.</p>
                  ) : (
                    <Table>
                      <thead>
                        <tr>
                          <th className={thClass}>Reason</th>
                          <th className={cx(thClass, 'text-right')}>Nodes excluded</th>
                        </tr>
                      </thead>
                      <tbody>
                        {reasons.map(([reason, n]) => (
                          <tr key={reason} data-testid="queue-reason" data-reason={reason}>
                            <td className={tdClass}>{reason}</td>
                            <td className={cx(tdClass, 'text-right tabular-nums')}>{n}</td>
                          </tr>
                        ))}
                      </tbody>
                    </Table>
                  )}
                </div>
              </div>
            </>
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
      <Card title="Last task failure">
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

function DeploymentsTab({ app }: { app: AppDetail }) {
  const { list, error, pending } = useAppDeployments(app.id);
  return (
    <Card title="Running deployments">
      {error ? (
        <div className="p-4">
          <ErrorBox error={error} />
        </div>
      ) : pending ? (
        <Loading what="Loading deployments" />
      ) : list.length === 0 ? (
        <Empty>
          <span data-testid="no-deployments">
            No deployment is changing {app.id}. Editing, scaling, restarting or rolling back starts one.{' '}
            <Link href="/deployments" className="text-accent hover:underline">
              All deployments
            </Link>
          </span>
        </Empty>
      ) : (
        <DeploymentsTable deployments={list} showApps={list.some((d) => d.affectedApps.length > 1)} />
      )}
    </Card>
  );
}
