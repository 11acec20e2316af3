import { isTerminal, type AppDefinition, type TaskState } from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { visibleTo } from './access';
import type { EventInput } from './events';

type Tx = Pick<Services['db']['prisma'], 'deployment'>;

export type DeploymentAction =
  'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

/**
 * Records a deployment for one app change. `original` is the app's version before the change
 * (absent for a new app), which a cancel rolls back to.
 */
export async function createDeployment(
  tx: Tx,
  appId: string,
  version: string,
  action: DeploymentAction,
  original?: string,
): Promise<string> {
  const d = await tx.deployment.create({
    data: {
      affectedApps: [appId],
      steps: [{ actions: [{ action, app: appId }] }],
      version,
      original: original ? { [appId]: original } : {},
    },
  });
  return d.id;
}

/**
 * Marathon's deployment lock: a change to an app under deployment answers 409 unless forced; a
 * forced change cancels the running deployments (without rollback) and proceeds.
 */
export async function takeDeploymentLock(
  tx: Tx,
  appId: string,
  force: boolean,
  now: Date,
): Promise<string[]> {
  const running = await tx.deployment.findMany({
    where: { status: 'RUNNING', affectedApps: { has: appId } },
    select: { id: true },
  });
  if (running.length === 0) return [];
  if (!force) {
    throw new AppError(
      'LOCKED',
      `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${running[0]!.id}'.`,
      { deployments: running.map((d) => ({ id: d.id })) },
    );
  }
  await tx.deployment.updateMany({
    where: { id: { in: running.map((d) => d.id) } },
    data: { status: 'CANCELED', finishedAt: now },
  });
  return running.map((d) => d.id);
}

/** Marathon's deployment_failed for deployments a forced change canceled. */
export function canceledEvents(appId: string, ids: string[]): EventInput[] {
  return ids.map((id) => ({
    type: 'deployment_failed',
    subject: appId,
    payload: { id, reason: 'canceled by a forced change' },
  }));
}

export interface DeploymentView {
  id: string;
  version: string;
  affectedApps: string[];
  affectedPods: string[];
  steps: Array<{ actions: Array<{ action: string; app: string }> }>;
  currentActions: Array<{ action: string; app: string; readinessCheckResults: unknown[] }>;
  currentStep: number;
  totalSteps: number;
  /** Atoll: progress per app, for the console's progress bar. */
  progress: Array<{ appId: string; instances: number; updated: number; old: number; healthy: number }>;
}

export async function listDeployments(s: Pick<Services, 'db'>): Promise<DeploymentView[]> {
  // A scoped user sees the deployments whose every app lies in the scope.
  const rows = (
    await s.db.prisma.deployment.findMany({
      where: { status: 'RUNNING' },
      orderBy: { createdAt: 'asc' },
    })
  ).filter((d) => d.affectedApps.every((appId) => visibleTo(s, appId)));
  if (rows.length === 0) return [];
  const appIds = [...new Set(rows.flatMap((d) => d.affectedApps))];
  const [apps, tasks] = await Promise.all([
    s.db.prisma.app.findMany({ where: { id: { in: appIds } } }),
    s.db.prisma.task.findMany({ where: { appId: { in: appIds } } }),
  ]);
  return rows.map((d) => {
    const steps = d.steps as DeploymentView['steps'];
    const progress = d.affectedApps.map((appId) => {
      const app = apps.find((a) => a.id === appId);
      const def = app?.definition as AppDefinition | undefined;
      const live = tasks.filter(
        (t) => t.appId === appId && !isTerminal(t.state as TaskState) && !t.killRequestedAt,
      );
      const healthy = (t: (typeof live)[number]) =>
        t.state === 'TASK_RUNNING' &&
        (!def?.healthChecks.length || t.healthy === true) &&
        (!def?.readinessChecks.length || t.ready === true);
      return {
        appId,
        instances: app?.deleting ? 0 : (def?.instances ?? 0),
        updated: live.filter((t) => t.appVersion === app?.configVersion && healthy(t)).length,
        old: live.filter((t) => t.appVersion !== app?.configVersion).length,
        healthy: live.filter(healthy).length,
      };
    });
    return {
      id: d.id,
      version: d.version,
      affectedApps: d.affectedApps,
      affectedPods: [],
      steps,
      currentActions: (steps[d.currentStep]?.actions ?? []).map((a) => ({
        ...a,
        readinessCheckResults: tasks
          .filter((t) => t.appId === a.app && t.readiness !== null && !isTerminal(t.state as TaskState))
          .flatMap((t) => t.readiness as unknown[]),
      })),
      currentStep: d.currentStep + 1,
      totalSteps: steps.length,
      progress,
    };
  });
}

/**
 * Closes deployments whose apps reached their target: every wanted task of the current
 * configuration running (healthy and ready where checked) and nothing else left.
 */
export async function finishDeployments(
  s: Pick<Services, 'db' | 'now'>,
  events: EventInput[],
): Promise<void> {
  const running = await s.db.prisma.deployment.findMany({ where: { status: 'RUNNING' } });
  for (const d of running) {
    let done = true;
    for (const appId of d.affectedApps) {
      const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
      if (!app) continue; // a stop, completed
      if (app.deleting) {
        done = false;
        continue;
      }
      const def = app.definition as unknown as AppDefinition;
      const active = await s.db.prisma.task.findMany({
        where: { appId, state: { notIn: ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE'] } },
      });
      const ok = active.filter(
        (t) =>
          t.state === 'TASK_RUNNING' &&
          t.appVersion === app.configVersion &&
          !t.killRequestedAt &&
          (def.healthChecks.length === 0 || t.healthy === true) &&
          (def.readinessChecks.length === 0 || t.ready === true),
      ).length;
      if (ok !== def.instances || active.length !== def.instances) done = false;
    }
    if (done) {
      await s.db.prisma.deployment.update({
        where: { id: d.id },
        data: { status: 'FINISHED', finishedAt: s.now() },
      });
      const plan = await deploymentPlan(s, d);
      events.push({
        type: 'deployment_step_success',
        subject: d.affectedApps[0],
        payload: { plan, currentStep: plan.steps.at(-1) ?? { actions: [] } },
      });
      events.push({
        type: 'deployment_success',
        subject: d.affectedApps[0],
        payload: { id: d.id, plan },
      });
    }
  }
}

/** A group as a deployment plan names it: Marathon's root group, here holding just the affected apps. */
export interface PlanGroup {
  id: string;
  apps: Array<Record<string, unknown>>;
  groups: PlanGroup[];
  pods: unknown[];
  dependencies: string[];
  version: string;
}

/** Marathon's DeploymentPlan as its deployment events carry it. */
export interface MarathonPlan {
  id: string;
  version: string;
  original: PlanGroup;
  target: PlanGroup;
  steps: DeploymentView['steps'];
}

type DeploymentRow = Awaited<ReturnType<Services['db']['prisma']['deployment']['findUniqueOrThrow']>>;

/**
 * The plan of a deployment in Marathon's shape: `original` and `target` are the root group before
 * and after, holding the definitions of the apps the deployment changes (Marathon put the whole
 * group tree there; the apps left alone are left out here). A new app is missing from `original`,
 * a stopped one from `target`.
 */
export async function deploymentPlan(
  s: Pick<Services, 'db'>,
  d: Pick<DeploymentRow, 'id' | 'version' | 'steps' | 'affectedApps' | 'original'>,
): Promise<MarathonPlan> {
  const before = (d.original ?? {}) as Record<string, string>;
  const wanted = [
    ...Object.entries(before).map(([appId, version]) => ({ appId, version })),
    ...d.affectedApps.map((appId) => ({ appId, version: d.version })),
  ];
  const rows = await s.db.prisma.appVersion.findMany({ where: { OR: wanted } });
  const defOf = (appId: string, version: string | undefined) => {
    const row = rows.find((r) => r.appId === appId && r.version === version);
    return row ? [{ ...(row.definition as Record<string, unknown>), version: row.version }] : [];
  };
  const group = (apps: Array<Record<string, unknown>>, version: string): PlanGroup => ({
    id: '/',
    apps,
    groups: [],
    pods: [],
    dependencies: [],
    version,
  });
  const originalVersion = Object.values(before).sort().at(-1) ?? d.version;
  return {
    id: d.id,
    version: d.version,
    original: group(
      d.affectedApps.flatMap((a) => defOf(a, before[a])),
      originalVersion,
    ),
    target: group(
      d.affectedApps.flatMap((a) => defOf(a, d.version)),
      d.version,
    ),
    steps: d.steps as DeploymentView['steps'],
  };
}

/** Marathon's deployment_info for a deployment just created: its plan and first step. */
export async function deploymentInfoEvent(
  s: Pick<Services, 'db'>,
  deploymentId: string,
): Promise<EventInput> {
  const d = await s.db.prisma.deployment.findUniqueOrThrow({ where: { id: deploymentId } });
  const plan = await deploymentPlan(s, d);
  return {
    type: 'deployment_info',
    subject: d.affectedApps[0],
    payload: { plan, currentStep: plan.steps[0] ?? { actions: [] } },
  };
}

export async function getRunningDeployment(s: Pick<Services, 'db'>, id: string) {
  const d = await s.db.prisma.deployment.findUnique({ where: { id } });
  if (!d || d.status !== 'RUNNING') throw new AppError('NOT_FOUND', `DeploymentPlan ${id} does not exist`);
  return d;
}
