'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type ReactNode } from 'react';
import {
  actionLabel,
  deploymentsOf,
  progressLabel,
  progressPercent,
  type AppProgress,
} from '../lib/deployments';
import { fmtAgo, fmtTime, plural } from '../lib/format';
import { serviceHref } from '../lib/links';
import { useNow, useTRPC } from '../lib/trpc';
import type { Deployment } from '../lib/types';
import { Button, ConfirmDialog, Table, cx, rowClass, tdClass, thClass } from './ui';

/**
 * Running deployments, shared by the nav badge, the Deployments page and each service page (one
 * query). Live updates invalidate it on every app, task or deployment change; while something
 * runs it also polls, so progress moves even if the stream hiccups.
 */
export function useDeployments() {
  const trpc = useTRPC();
  return useQuery(
    trpc.deployments.list.queryOptions(undefined, {
      refetchInterval: (q) => ((q.state.data?.length ?? 0) > 0 ? 5_000 : 30_000),
    }),
  );
}

/** The deployments affecting one app. */
export function useAppDeployments(appId: string): { list: Deployment[]; error: unknown; pending: boolean } {
  const q = useDeployments();
  return { list: deploymentsOf(q.data ?? [], appId), error: q.error, pending: q.isPending };
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * How far one app of a deployment is: the bar is the share of wanted instances already on the
 * new version (healthy and ready), the text adds the old tasks still to be replaced.
 */
export function DeploymentProgress({
  progress: p,
  testId = 'deployment-progress',
  compact,
}: {
  progress: AppProgress;
  testId?: string;
  compact?: boolean;
}) {
  const percent = progressPercent(p);
  const label = progressLabel(p);
  return (
    <div
      className={cx('flex min-w-40 flex-col gap-1', compact ? 'w-56' : 'w-full max-w-sm')}
      data-testid={testId}
      data-app={p.appId}
      data-updated={p.updated}
      data-instances={p.instances}
      data-old={p.old}
      data-healthy={p.healthy}
    >
      <div
        className="h-2 w-full overflow-hidden rounded-full bg-track"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={p.instances}
        aria-valuenow={Math.min(p.updated, p.instances)}
        aria-valuetext={label}
        aria-label={`Deployment progress of ${p.appId}`}
      >
        <div
          className="h-full rounded-full bg-sky-500 transition-[width] duration-500"
          style={{ width: `${percent}%` }}
        />
      </div>
      <span className="text-[11px] text-muted tabular-nums">
        {label}
        {p.instances > 0 && ` · ${p.healthy} healthy`}
      </span>
    </div>
  );
}

function StepList({ d }: { d: Deployment }) {
  return (
    <ol className="space-y-0.5 text-xs" data-testid="deployment-steps">
      {d.steps.map((step, i) => {
        const n = i + 1;
        const state = n < d.currentStep ? 'done' : n === d.currentStep ? 'current' : 'pending';
        return (
          <li key={i} data-state={state} className={cx('flex gap-1.5', state === 'pending' && 'text-muted')}>
            <span
              aria-hidden
              className={cx(
                'mt-1 size-1.5 shrink-0 rounded-full',
                state === 'done' && 'bg-emerald-500',
                state === 'current' && 'animate-pulse bg-sky-500',
                state === 'pending' && 'bg-line',
              )}
            />
            <span>
              <span className="text-muted">Step {n}:</span>{' '}
              {step.actions.map((a, j) => (
                <span key={j}>
                  {j > 0 && ', '}
                  {actionLabel(a.action)} <span className="font-mono">{a.app}</span>
                </span>
              ))}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

type Pending = { d: Deployment; force: boolean } | null;

/**
 * Running deployments as a table: apps, steps with the current one marked, a live progress bar
 * per app, and Roll back (cancel with a rollback deployment) / Stop (cancel without rollback),
 * each behind a confirmation that says what it does.
 */
export function DeploymentsTable({
  deployments,
  showApps = true,
  header,
}: {
  deployments: readonly Deployment[];
  showApps?: boolean;
  /** Replaces the plain column headers, e.g. with sortable ones. */
  header?: ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(5_000);
  const [pending, setPending] = useState<Pending>(null);
  const cancel = useMutation(
    trpc.deployments.cancel.mutationOptions({
      onSuccess: async () => {
        setPending(null);
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.deployments.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
        ]);
      },
    }),
  );
  const close = () => {
    setPending(null);
    cancel.reset();
  };
  // The dialog keeps naming its deployment even if the row vanishes meanwhile.
  const target = pending?.d;
  const apps = target ? target.affectedApps.join(', ') : '';

  return (
    <>
      <Table>
        <thead>
          {header ?? (
            <tr>
              <th className={thClass}>Deployment</th>
              {showApps && <th className={thClass}>Services</th>}
              <th className={thClass}>Steps</th>
              <th className={thClass}>Progress</th>
              <th className={cx(thClass, 'text-right')}>Actions</th>
            </tr>
          )}
        </thead>
        <tbody>
          {deployments.map((d) => (
            <tr key={d.id} className={rowClass} data-testid="deployment-row" data-id={d.id}>
              <td className={cx(tdClass, 'align-top whitespace-nowrap')}>
                <div className="font-mono text-xs" title={d.id}>
                  {shortId(d.id)}
                </div>
                <div className="text-xs text-muted" title={`version ${d.version} (${fmtTime(d.version)})`}>
                  started {fmtAgo(d.version, now)}
                </div>
                <div className="text-xs text-muted">
                  step {d.currentStep} of {d.totalSteps}
                </div>
              </td>
              {showApps && (
                <td className={cx(tdClass, 'align-top')}>
                  <ul className="space-y-0.5">
                    {d.affectedApps.map((a) => (
                      <li key={a}>
                        <Link
                          href={serviceHref(a, 'deployments')}
                          className="font-medium hover:text-accent hover:underline"
                        >
                          {a}
                        </Link>
                      </li>
                    ))}
                  </ul>
                </td>
              )}
              <td className={cx(tdClass, 'align-top')}>
                <StepList d={d} />
              </td>
              <td className={cx(tdClass, 'align-top')}>
                <div className="space-y-2">
                  {d.progress.map((p) => (
                    <div key={p.appId}>
                      {d.progress.length > 1 && <div className="mb-0.5 font-mono text-[11px]">{p.appId}</div>}
                      <DeploymentProgress progress={p} />
                    </div>
                  ))}
                </div>
              </td>
              <td className={cx(tdClass, 'align-top')}>
                <div className="flex justify-end gap-2">
                  <Button
                    size="sm"
                    onClick={() => setPending({ d, force: false })}
                    data-testid="deployment-rollback"
                    title="Cancel this deployment and deploy the previous version again"
                  >
                    Roll back
                  </Button>
                  <Button
                    size="sm"
                    variant="danger"
                    onClick={() => setPending({ d, force: true })}
                    data-testid="deployment-stop"
                    title="Cancel this deployment and leave the tasks as they are"
                  >
                    Stop
                  </Button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      <ConfirmDialog
        open={target !== undefined}
        onClose={close}
        onConfirm={() => target && cancel.mutate({ id: target.id, force: pending?.force ?? false })}
        title={
          pending?.force
            ? `Stop deployment ${target ? shortId(target.id) : ''}`
            : `Roll back deployment ${target ? shortId(target.id) : ''}`
        }
        message={
          target && (
            <span data-testid="deployment-confirm-message">
              {pending?.force ? (
                <>
                  Stop deployment <span className="font-mono">{shortId(target.id)}</span> of{' '}
                  <strong>{apps}</strong> without rolling back: the new definition stays and its tasks are
                  left as they are now ({target.progress.map((p) => progressLabel(p)).join('; ')}).
                </>
              ) : (
                <>
                  Roll back deployment <span className="font-mono">{shortId(target.id)}</span>: cancel it and
                  deploy <strong>{apps}</strong> again at the version{' '}
                  {target.affectedApps.length === 1 ? 'it' : 'they'} had before. This starts a new deployment
                  that replaces the{' '}
                  {plural(
                    target.progress.reduce((s, p) => s + p.updated, 0),
                    'updated task',
                  )}
                  .
                </>
              )}
            </span>
          )
        }
        confirmLabel={pending?.force ? 'Stop deployment' : 'Roll back'}
        pending={cancel.isPending}
        error={cancel.error}
        testId="deployment-dialog"
        confirmTestId="deployment-confirm"
      />
    </>
  );
}

/** Shown on a service page while a deployment changes it: what it does and how far it is. */
export function DeploymentBanner({
  appId,
  deployments,
  onOpen,
}: {
  appId: string;
  deployments: readonly Deployment[];
  onOpen?: () => void;
}) {
  if (deployments.length === 0) return null;
  return (
    <div
      role="status"
      data-testid="deployment-banner"
      className="mb-4 flex flex-wrap items-center gap-x-6 gap-y-2 rounded-md border border-sky-500/40 bg-sky-500/10 px-4 py-3 text-sm text-sky-950 dark:text-sky-100"
    >
      <span>
        <strong className="font-semibold">Deploying:</strong>{' '}
        {deployments
          .map((d) => {
            const actions = d.steps[d.currentStep - 1]?.actions ?? d.currentActions;
            const mine = actions.filter((a) => a.app === appId);
            return `${(mine.length > 0 ? mine : actions).map((a) => actionLabel(a.action)).join(', ') || 'deployment'} (step ${d.currentStep} of ${d.totalSteps})`;
          })
          .join('; ')}
      </span>
      {deployments.flatMap((d) =>
        d.progress
          .filter((p) => p.appId === appId)
          .map((p) => (
            <DeploymentProgress
              key={`${d.id}:${p.appId}`}
              progress={p}
              compact
              testId="deployment-banner-progress"
            />
          )),
      )}
      {onOpen && (
        <button
          type="button"
          onClick={onOpen}
          className="ml-auto text-sm font-medium text-accent hover:underline"
          data-testid="deployment-banner-open"
        >
          {deployments.length === 1 ? 'View deployment' : `View ${deployments.length} deployments`}
        </button>
      )}
    </div>
  );
}
