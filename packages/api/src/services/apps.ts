import {
  isTerminal,
  normalizeAppId,
  terminalTaskStates,
  parseAppDefinition,
  type AppDefinition,
  type TaskPort,
  type TaskState,
} from '@atoll/spec';
import { Prisma, type App } from '@atoll/db';
import { AppError } from '../errors';
import type { Services } from '../context';
import { assertInScope, filterVisible } from './access';
import { groupBy } from './group-by';
import { recordEvents } from './events';
import { checkAppSecrets } from './secrets';
import { orderTaskKill } from './kill';
import {
  canceledEvents,
  createDeployment,
  deploymentInfoEvent,
  deploymentPlan,
  getRunningDeployment,
  takeDeploymentLock,
} from './deployments';

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>;

/** Status words the console shows (DC/OS's): derived, never stored. */
export type ServiceStatus = 'Running' | 'Deploying' | 'Delayed' | 'Waiting' | 'Stopped' | 'Deleting';

export interface MarathonTask {
  id: string;
  appId: string;
  host: string;
  ports: number[];
  servicePorts: number[];
  stagedAt: string;
  startedAt: string | null;
  version: string;
  state: TaskState;
  slaveId: string;
  agentId: string;
  healthCheckResults: unknown[];
  readinessCheckResults?: unknown[];
  /** Atoll: full port mapping (host/container/protocol/name) and last message. */
  portMappings: TaskPort[];
  message: string | null;
}

export interface AppView extends Record<string, unknown> {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  version: string;
  versionInfo: { lastScalingAt: string; lastConfigChangeAt: string };
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
  deployments: Array<{ id: string }>;
  tasks?: MarathonTask[];
  lastTaskFailure?: unknown;
  /** Atoll's additions: what the console needs beyond Marathon's fields. */
  atoll: {
    status: ServiceStatus;
    placementIssue: string | null;
    delayUntil: string | null;
    backoffFailures: number;
  };
}

type AppRow = Awaited<ReturnType<S['db']['prisma']['app']['findMany']>>[number];
type TaskRow = Awaited<ReturnType<S['db']['prisma']['task']['findMany']>>[number];

const TERMINAL_STATES = [...terminalTaskStates];

/**
 * A task row's columns named as Prisma names them, so raw SQL returns TaskRow objects. The read
 * path lists up to every task of the cluster, where Prisma's row mapping cost more than the query.
 */
const TASK_COLUMNS = `id, app_id AS "appId", run_id AS "runId", app_version AS "appVersion", node_id AS "nodeId",
  state, host, ports, cpus, mem_mb AS "memMb", disk_mb AS "diskMb", runtime_id AS "runtimeId", message,
  exit_code AS "exitCode", healthy, health, ready, readiness, staged_at AS "stagedAt",
  started_at AS "startedAt", updated_at AS "updatedAt", kill_requested_at AS "killRequestedAt"`;

/** An app row's columns named as Prisma names them (raw SQL for the list, as for tasks). */
const APP_COLUMNS = `id, version, config_version AS "configVersion", definition, deleting,
  backoff_failures AS "backoffFailures", delay_until AS "delayUntil", last_failure AS "lastFailure",
  placement_issue AS "placementIssue", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** App tasks (not a job run's), by app id then staging time; active ones unless `includeTerminal`. */
async function appTaskRows(
  s: Pick<S, 'db'>,
  opts: { appId?: string | undefined; includeTerminal?: boolean | undefined },
): Promise<TaskRow[]> {
  const { rows } = await s.db.pool.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM tasks
      WHERE ${opts.appId ? 'app_id = $1' : 'app_id IS NOT NULL'}
        ${opts.includeTerminal ? '' : `AND state <> ALL($${opts.appId ? 2 : 1}::text[])`}
      ORDER BY app_id, staged_at`,
    [...(opts.appId ? [opts.appId] : []), ...(opts.includeTerminal ? [] : [TERMINAL_STATES])],
  );
  return rows;
}

/**
 * The reconciler's snapshot, read with raw SQL in Prisma's shapes: every app, and every task not in
 * a terminal state (job runs' too). Each pass reads them; at 10,000 tasks Prisma's row mapping was
 * most of a pass.
 */
export async function snapshotRows(s: Pick<S, 'db'>): Promise<{ apps: AppRow[]; tasks: TaskRow[] }> {
  const [apps, tasks] = await Promise.all([
    s.db.pool.query<AppRow>(`SELECT ${APP_COLUMNS} FROM apps`),
    s.db.pool.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE state <> ALL($1::text[])`, [TERMINAL_STATES]),
  ]);
  return { apps: apps.rows, tasks: tasks.rows };
}

/** What an app's view counts of its active tasks. */
interface TaskCounts {
  active: number;
  staged: number;
  running: number;
  healthy: number;
  unhealthy: number;
}

function countTasks(active: TaskRow[]): TaskCounts {
  const c: TaskCounts = { active: active.length, staged: 0, running: 0, healthy: 0, unhealthy: 0 };
  for (const t of active) {
    if (t.state === 'TASK_RUNNING') {
      c.running++;
      if (t.healthy === true) c.healthy++;
      else if (t.healthy === false) c.unhealthy++;
    } else if (t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING') c.staged++;
  }
  return c;
}

/** Every app's counts in one aggregate query: a list without tasks reads no task row. */
async function taskCountsByApp(s: Pick<S, 'db'>): Promise<Map<string, TaskCounts>> {
  const { rows } = await s.db.pool.query<TaskCounts & { app_id: string }>(
    `SELECT app_id, count(*)::int AS active,
            count(*) FILTER (WHERE state IN ('TASK_STAGING', 'TASK_STARTING'))::int AS staged,
            count(*) FILTER (WHERE state = 'TASK_RUNNING')::int AS running,
            count(*) FILTER (WHERE state = 'TASK_RUNNING' AND healthy)::int AS healthy,
            count(*) FILTER (WHERE state = 'TASK_RUNNING' AND NOT healthy)::int AS unhealthy
       FROM tasks WHERE app_id IS NOT NULL AND state <> ALL($1::text[])
      GROUP BY app_id`,
    [TERMINAL_STATES],
  );
  return new Map(rows.map(({ app_id, ...counts }) => [app_id, counts]));
}

const NO_TASKS: TaskCounts = { active: 0, staged: 0, running: 0, healthy: 0, unhealthy: 0 };

/**
 * The app's service ports, one per port its tasks get (as `requestedPorts` orders them): a port
 * mapping's `servicePort`, a port definition's `port`. Atoll assigns none of its own (0 stays 0).
 */
export function servicePortsOf(def: AppDefinition | undefined): number[] {
  if (!def) return [];
  const mappings = def.container?.portMappings;
  if (mappings) {
    const bridge = def.networks.some((n) => n.mode === 'container/bridge');
    return mappings.filter((m) => m.hostPort !== undefined || bridge).map((m) => m.servicePort ?? 0);
  }
  return (def.portDefinitions ?? []).map((p) => p.port);
}

async function servicePortsByApp(s: Pick<S, 'db'>, tasks: TaskRow[]): Promise<Map<string, number[]>> {
  const ids = [...new Set(tasks.flatMap((t) => (t.appId ? [t.appId] : [])))];
  if (ids.length === 0) return new Map();
  const { rows: apps } = await s.db.pool.query<{ id: string; definition: unknown }>(
    'SELECT id, definition FROM apps WHERE id = ANY($1::text[])',
    [ids],
  );
  return new Map(apps.map((a) => [a.id, servicePortsOf(a.definition as unknown as AppDefinition)]));
}

export function toMarathonTask(t: TaskRow, servicePorts: number[] = []): MarathonTask {
  const ports = t.ports as TaskPort[];
  return {
    id: t.id,
    appId: t.appId ?? '',
    host: t.host,
    ports: ports.map((p) => p.hostPort),
    // Marathon's clients pair ports with servicePorts by index.
    servicePorts: ports.map((_, i) => servicePorts[i] ?? 0),
    stagedAt: t.stagedAt.toISOString(),
    startedAt: t.startedAt?.toISOString() ?? null,
    version: t.appVersion,
    state: t.state as TaskState,
    slaveId: t.nodeId,
    agentId: t.nodeId,
    healthCheckResults: (t.health as unknown[] | null) ?? [],
    ...(t.readiness ? { readinessCheckResults: t.readiness as unknown[] } : {}),
    portMappings: ports,
    message: t.message,
  };
}

/**
 * An app's view from its row, the counts of its active tasks and, to embed them, those tasks
 * (active only, in staging order).
 */
function toAppView(
  app: AppRow,
  counts: TaskCounts,
  active: TaskRow[] | null,
  deploymentIds: string[],
  now: Date,
): AppView {
  const def = app.definition as unknown as AppDefinition;
  const delayed = app.delayUntil !== null && app.delayUntil > now && counts.active < def.instances;
  const status: ServiceStatus = app.deleting
    ? 'Deleting'
    : def.instances === 0 && counts.active === 0
      ? 'Stopped'
      : delayed
        ? 'Delayed'
        : app.placementIssue
          ? 'Waiting'
          : deploymentIds.length > 0 || counts.running !== def.instances
            ? 'Deploying'
            : 'Running';
  const issue = app.placementIssue as { summary?: string } | null;
  return {
    ...def,
    version: app.version,
    versionInfo: { lastScalingAt: app.version, lastConfigChangeAt: app.configVersion },
    tasksStaged: counts.staged,
    tasksRunning: counts.running,
    tasksHealthy: counts.healthy,
    tasksUnhealthy: counts.unhealthy,
    deployments: deploymentIds.map((id) => ({ id })),
    ...(active ? { tasks: active.map((t) => toMarathonTask(t, servicePortsOf(def))) } : {}),
    ...(app.lastFailure ? { lastTaskFailure: app.lastFailure } : {}),
    atoll: {
      status,
      placementIssue: issue?.summary ?? null,
      delayUntil: delayed ? app.delayUntil!.toISOString() : null,
      backoffFailures: app.backoffFailures,
    },
  };
}

async function runningDeployments(s: Pick<S, 'db'>): Promise<Array<{ id: string; affectedApps: string[] }>> {
  return s.db.prisma.deployment.findMany({
    where: { status: 'RUNNING' },
    select: { id: true, affectedApps: true },
  });
}

export async function listApps(
  s: S,
  opts: { embedTasks?: boolean; prefix?: string } = {},
): Promise<AppView[]> {
  // Three queries whatever the number of apps; tasks are read only to embed them, else counted.
  const [apps, tasks, counts, deployments] = await Promise.all([
    s.db.pool.query<AppRow>(`SELECT ${APP_COLUMNS} FROM apps ORDER BY id`).then((r) => r.rows),
    opts.embedTasks ? appTaskRows(s, {}).then((rows) => groupBy(rows, (t) => t.appId)) : null,
    opts.embedTasks ? null : taskCountsByApp(s),
    runningDeployments(s),
  ]);
  const deploymentsByApp = new Map<string, string[]>();
  for (const d of deployments)
    for (const appId of d.affectedApps)
      deploymentsByApp.set(appId, [...(deploymentsByApp.get(appId) ?? []), d.id]);
  const now = s.now();
  return filterVisible(s, apps, (a) => a.id)
    .filter((a) => !opts.prefix || a.id === opts.prefix || a.id.startsWith(opts.prefix.replace(/\/?$/, '/')))
    .map((a) => {
      const active = tasks ? (tasks.get(a.id) ?? []) : null;
      return toAppView(
        a,
        active ? countTasks(active) : (counts!.get(a.id) ?? NO_TASKS),
        active,
        deploymentsByApp.get(a.id) ?? [],
        now,
      );
    });
}

export async function getApp(s: S, id: string, opts: { embedTasks?: boolean } = {}): Promise<AppView> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
  if (!app) throw AppError.notFound(`App '${appId}'`);
  const [tasks, deployments] = await Promise.all([appTaskRows(s, { appId }), runningDeployments(s)]);
  return toAppView(
    app,
    countTasks(tasks),
    (opts.embedTasks ?? true) ? tasks : null,
    deployments.filter((d) => d.affectedApps.includes(appId)).map((d) => d.id),
    s.now(),
  );
}

function parseOrThrow(raw: unknown): AppDefinition {
  const r = parseAppDefinition(raw);
  if (!r.ok) throw AppError.invalid(r.issues);
  return r.value;
}

/** Marathon versions are ISO timestamps; they must be unique per app, so never reuse a millisecond. */
function nextVersion(now: Date, previous?: string): string {
  const t = Math.max(now.getTime(), previous ? Date.parse(previous) + 1 : 0);
  return new Date(t).toISOString();
}

export interface DeploymentResult {
  version: string;
  deploymentId: string;
}

export async function createApp(s: S, raw: unknown): Promise<{ app: AppView; deploymentId: string }> {
  const def = parseOrThrow(raw);
  assertInScope(s, def.id);
  await checkAppSecrets(s, def);
  const version = nextVersion(s.now());
  const deploymentId = await s.db.prisma.$transaction(async (tx) => {
    const existing = await tx.app.findUnique({ where: { id: def.id } });
    if (existing) throw new AppError('CONFLICT', `An app with id [${def.id}] already exists.`);
    await tx.app.create({
      data: {
        id: def.id,
        version,
        configVersion: version,
        definition: def as object,
        versions: { create: { version, definition: def as object } },
      },
    });
    return createDeployment(tx, def.id, version, 'StartApplication');
  });
  await recordEvents(
    s,
    [
      { type: 'api_post_event', subject: def.id, payload: { appDefinition: def } },
      await deploymentInfoEvent(s, deploymentId),
    ],
    'app',
  );
  s.poke();
  return { app: await getApp(s, def.id), deploymentId };
}

/**
 * What updateApp would store, checked and without writing anything: the normalised id, the stored
 * app (null when the update creates it) and the new definition (valid, its secrets known).
 */
async function planAppUpdate(
  s: S,
  id: string,
  patch: Record<string, unknown>,
  opts: { partial?: boolean },
): Promise<
  | { appId: string; existing: null; current: null; def: AppDefinition }
  | {
      appId: string;
      existing: App;
      current: Record<string, unknown>;
      def: AppDefinition;
    }
> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const existing = await s.db.prisma.app.findUnique({ where: { id: appId } });
  if (!existing) {
    const def = parseOrThrow({ ...patch, id: appId });
    assertInScope(s, def.id);
    await checkAppSecrets(s, def);
    return { appId, existing: null, current: null, def };
  }
  if (existing.deleting) throw new AppError('CONFLICT', `App '${appId}' is being deleted`);
  const current = existing.definition as Record<string, unknown>;
  // Marathon: a body of just { version } rolls the app back to that stored version.
  const keys = Object.keys(patch).filter((k) => k !== 'id');
  let partial = opts.partial;
  if (keys.length === 1 && typeof patch.version === 'string') {
    patch = (await getAppVersion(s, appId, patch.version)) as unknown as Record<string, unknown>;
    partial = false;
  }
  const merged = partial === false ? { ...patch, id: appId } : { ...current, ...patch, id: appId };
  const def = parseOrThrow(merged);
  await checkAppSecrets(s, def, { previous: current });
  return { appId, existing, current, def };
}

/**
 * Marathon's PUT /v2/apps with a list: every update is checked (valid, each app once, not locked
 * by a deployment unless forced) before any is applied, so a refused list changes nothing. An
 * issue's path starts with the update's place in the list.
 */
export async function checkAppUpdates(
  s: S,
  updates: Array<Record<string, unknown> & { id: string }>,
  opts: { partial?: boolean; force?: boolean } = {},
): Promise<void> {
  const seen = new Set<string>();
  for (const [i, u] of updates.entries()) {
    try {
      const { appId } = await planAppUpdate(s, u.id, u, opts);
      if (seen.has(appId))
        throw AppError.invalid([{ path: 'id', message: `app '${appId}' is in the list twice` }]);
      seen.add(appId);
      if (!opts.force) await s.db.prisma.$transaction((tx) => takeDeploymentLock(tx, appId, false, s.now()));
    } catch (err) {
      if (err instanceof AppError && err.issues)
        throw AppError.invalid(err.issues.map((x) => ({ path: `${i}.${x.path}`, message: x.message })));
      throw err;
    }
  }
}

/**
 * Marathon's PUT /v2/apps/{id}: fields given replace the stored ones (partialUpdate, Marathon's
 * default); an unknown id creates the app. A change of `instances` alone is a scale, which keeps
 * the tasks' version; any other change is a new configuration whose tasks replace the old ones.
 */
export async function updateApp(
  s: S,
  id: string,
  patch: Record<string, unknown>,
  opts: { partial?: boolean; force?: boolean; restart?: boolean } = {},
): Promise<DeploymentResult & { created: boolean }> {
  const plan = await planAppUpdate(s, id, patch, opts);
  if (!plan.existing) {
    const { deploymentId, app } = await createApp(s, { ...patch, id: plan.appId });
    return { deploymentId, version: app.version, created: true };
  }
  const { appId, existing, current, def } = plan;
  const scaleOnly = !opts.restart && sameExceptInstances(current, def as unknown as Record<string, unknown>);
  const version = nextVersion(s.now(), existing.version);
  const configVersion = scaleOnly ? existing.configVersion : version;
  let canceled: string[] = [];
  const deploymentId = await s.db.prisma.$transaction(async (tx) => {
    canceled = await takeDeploymentLock(tx, appId, opts.force ?? false, s.now());
    await tx.app.update({
      where: { id: appId },
      data: {
        version,
        configVersion,
        definition: def as object,
        // A new definition resets the launch back-off, as in Marathon.
        ...(scaleOnly ? {} : { backoffFailures: 0, delayUntil: null, lastFailure: Prisma.DbNull }),
        placementIssue: Prisma.DbNull,
      },
    });
    await tx.appVersion.create({ data: { appId, version, definition: def as object } });
    return createDeployment(
      tx,
      appId,
      version,
      scaleOnly ? 'ScaleApplication' : 'RestartApplication',
      existing.version,
    );
  });
  await recordEvents(
    s,
    [
      ...canceledEvents(appId, canceled),
      // Marathon posts api_post_event for every change made through the API, updates too.
      { type: 'api_post_event', subject: appId, payload: { appDefinition: def } },
      await deploymentInfoEvent(s, deploymentId),
    ],
    'app',
  );
  s.poke();
  return { version, deploymentId, created: false };
}

function sameExceptInstances(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const strip = (o: Record<string, unknown>) =>
    JSON.stringify({ ...o, instances: 0 }, Object.keys({ ...o }).sort());
  return strip(a) === strip(b);
}

/** Marathon's POST /v2/apps/{id}/restart: a new version with the same definition, rolled out. */
export async function restartApp(
  s: S,
  id: string,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  if (!(await s.db.prisma.app.findUnique({ where: { id: appId }, select: { id: true } }))) {
    throw AppError.notFound(`App '${appId}'`);
  }
  const r = await updateApp(
    s,
    appId,
    {},
    { restart: true, ...(opts.force !== undefined ? { force: opts.force } : {}) },
  );
  return { version: r.version, deploymentId: r.deploymentId };
}

export async function scaleApp(
  s: S,
  id: string,
  instances: number,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult> {
  if (!Number.isInteger(instances) || instances < 0) {
    throw AppError.invalid([{ path: 'instances', message: 'instances must be a whole number, 0 or more' }]);
  }
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  if (!(await s.db.prisma.app.findUnique({ where: { id: appId }, select: { id: true } }))) {
    throw AppError.notFound(`App '${appId}'`);
  }
  const r = await updateApp(s, appId, { instances }, opts);
  return { version: r.version, deploymentId: r.deploymentId };
}

/** Marks the app for deletion; the reconciler kills its tasks and then removes it. */
export async function deleteApp(s: S, id: string, opts: { force?: boolean } = {}): Promise<DeploymentResult> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const existing = await s.db.prisma.app.findUnique({ where: { id: appId } });
  if (!existing) throw AppError.notFound(`App '${appId}'`);
  const version = nextVersion(s.now(), existing.version);
  let canceled: string[] = [];
  const deploymentId = await s.db.prisma.$transaction(async (tx) => {
    canceled = await takeDeploymentLock(tx, appId, opts.force ?? false, s.now());
    await tx.app.update({ where: { id: appId }, data: { deleting: true } });
    return createDeployment(tx, appId, version, 'StopApplication', existing.version);
  });
  await recordEvents(
    s,
    [
      ...canceledEvents(appId, canceled),
      { type: 'app_terminated_event', subject: appId, payload: { appId } },
      await deploymentInfoEvent(s, deploymentId),
    ],
    'app',
  );
  s.poke();
  return { version, deploymentId };
}

export async function listTasks(
  s: Pick<S, 'db'>,
  opts: { appId?: string | undefined; includeTerminal?: boolean } = {},
) {
  if (opts.appId) assertInScope(s, normalizeAppId(opts.appId));
  // Marathon's task list holds app tasks; a job run's tasks are listed with the run.
  const all = await appTaskRows(s, {
    appId: opts.appId ? normalizeAppId(opts.appId) : undefined,
    includeTerminal: opts.includeTerminal,
  });
  const rows = filterVisible(s, all, (t) => t.appId);
  const servicePorts = await servicePortsByApp(s, rows);
  return rows.map((t) => toMarathonTask(t, servicePorts.get(t.appId ?? '')));
}

/**
 * Kills tasks. With `scale`, the app's instances drop by the number killed (Marathon's
 * `?scale=true`); otherwise the reconciler replaces them.
 */
export async function killTasks(
  s: S,
  taskIds: string[],
  opts: { scale?: boolean } = {},
): Promise<MarathonTask[]> {
  const found = await s.db.prisma.task.findMany({ where: { id: { in: taskIds } } });
  // A job run's task is stopped through its run (POST /v1/jobs/{id}/runs/{run}/actions/stop).
  const tasks = found.flatMap((t) => (t.appId ? [{ ...t, appId: t.appId }] : []));
  if (tasks.length === 0) throw AppError.notFound(`task ${taskIds.join(', ')}`);
  for (const t of tasks) assertInScope(s, t.appId);
  const now = s.now();
  const apps = await s.db.prisma.app.findMany({
    where: { id: { in: [...new Set(tasks.map((t) => t.appId))] } },
  });
  const grace = (appId: string) =>
    (apps.find((a) => a.id === appId)?.definition as AppDefinition | undefined)?.taskKillGracePeriodSeconds ??
    3;
  for (const t of tasks) {
    if (!t.killRequestedAt && !isTerminal(t.state as TaskState))
      await orderTaskKill(s, t, grace(t.appId), now);
  }
  if (opts.scale) {
    const perApp = new Map<string, number>();
    for (const t of tasks)
      if (!isTerminal(t.state as TaskState)) perApp.set(t.appId, (perApp.get(t.appId) ?? 0) + 1);
    for (const [appId, n] of perApp) {
      const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
      if (!app) continue;
      const def = app.definition as unknown as AppDefinition;
      // Marathon's kill-and-scale is a scale that does not wait for running deployments.
      await updateApp(s, appId, { instances: Math.max(0, def.instances - n) }, { force: true });
    }
  }
  await recordEvents(
    s,
    tasks.map((t) => ({
      type: 'task_kill_requested',
      subject: t.appId,
      payload: { taskId: t.id, scale: !!opts.scale },
    })),
    'task',
  );
  s.poke();
  const servicePorts = await servicePortsByApp(s, tasks);
  return tasks.map((t) => toMarathonTask(t, servicePorts.get(t.appId)));
}

export async function listAppVersions(s: Pick<S, 'db'>, id: string): Promise<string[]> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const rows = await s.db.prisma.appVersion.findMany({ where: { appId }, orderBy: { version: 'desc' } });
  if (rows.length === 0) throw AppError.notFound(`App '${appId}'`);
  return rows.map((r) => r.version);
}

export async function getAppVersion(
  s: Pick<S, 'db'>,
  id: string,
  version: string,
): Promise<AppDefinition & { version: string }> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const row = await s.db.prisma.appVersion.findUnique({ where: { appId_version: { appId, version } } });
  if (!row) throw AppError.notFound(`Version '${version}' of app '${appId}'`);
  return { ...(row.definition as unknown as AppDefinition), version: row.version };
}

/**
 * Marathon's DELETE /v2/deployments/{id}: without `force`, cancels it and starts a rollback
 * deployment to each app's previous version (a new app is removed); with `force`, just stops it,
 * leaving the apps as they are.
 */
export async function cancelDeployment(
  s: S,
  id: string,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult | null> {
  const d = await getRunningDeployment(s, id);
  for (const appId of d.affectedApps) assertInScope(s, appId);
  await s.db.prisma.deployment.update({ where: { id }, data: { status: 'CANCELED', finishedAt: s.now() } });
  await recordEvents(
    s,
    [
      {
        type: 'deployment_failed',
        subject: d.affectedApps[0],
        payload: {
          id,
          plan: await deploymentPlan(s, d),
          reason: opts.force ? 'stopped' : 'canceled with rollback',
        },
      },
    ],
    'deployment',
  );
  if (opts.force) {
    s.poke();
    return null;
  }
  const original = d.original as Record<string, string>;
  let result: DeploymentResult | null = null;
  for (const appId of d.affectedApps) {
    const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
    if (!app) continue;
    const before = original[appId];
    if (!before) {
      result = await deleteApp(s, appId, { force: true });
      continue;
    }
    if (app.deleting) await s.db.prisma.app.update({ where: { id: appId }, data: { deleting: false } });
    const r = await updateApp(s, appId, { version: before }, { force: true });
    result = { version: r.version, deploymentId: r.deploymentId };
  }
  return result;
}
