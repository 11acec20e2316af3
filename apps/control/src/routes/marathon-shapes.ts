import type { appsService, deploymentsService, groupsService, queueService } from '@atoll/api';

/**
 * Marathon's response shapes, from the service layer's views. Only Marathon's fields leave `/v2`:
 * Marathon's clients read its JSON into fixed models (marathon-python passes every field as a
 * keyword argument, so an unknown one is a TypeError), and Atoll's additions (`atoll`, deployment
 * `progress`, a task's `agentId`/`portMappings`/`message`, the queue's reasons) are served by
 * `/api/v1` instead.
 */

type AppView = appsService.AppView;
type Task = appsService.MarathonTask;

/** What `embed` asks of an app (Marathon's AppInfo.Embed). */
export type AppEmbed = 'tasks' | 'deployments' | 'counts' | 'lastTaskFailure' | 'taskStats' | 'readiness';

/**
 * Marathon's InfoEmbedResolver: `app.`, `apps.` and `group.apps.` prefixes (or none) are read
 * alike, `tasks` also embeds deployments, `failures` is tasks + lastTaskFailure + deployments;
 * unknown values are ignored.
 */
export function resolveAppEmbed(values: string[]): Set<AppEmbed> {
  const out = new Set<AppEmbed>();
  for (const value of values) {
    const name = value.replace(/^(group\.apps\.|apps\.|app\.)/, '');
    if (name === 'tasks') out.add('tasks').add('deployments');
    else if (name === 'failures') out.add('tasks').add('lastTaskFailure').add('deployments');
    else if (name === 'deployments' || name === 'counts' || name === 'lastTaskFailure') out.add(name);
    else if (name === 'taskStats' || name === 'readiness') out.add(name);
  }
  return out;
}

/** What GET /v2/apps always embeds (counts and deployments), plus what was asked. */
export function listEmbed(values: string[]): Set<AppEmbed> {
  return resolveAppEmbed(values).add('counts').add('deployments');
}

/** What GET /v2/apps/{id} always embeds: Marathon 1.x shows tasks and the last failure too. */
export function singleEmbed(values: string[]): Set<AppEmbed> {
  return listEmbed(values).add('tasks').add('lastTaskFailure');
}

/** Marathon's EnrichedTask. */
export function marathonTask(t: Task): Record<string, unknown> {
  return {
    id: t.id,
    appId: t.appId,
    host: t.host,
    state: t.state,
    ports: t.ports,
    servicePorts: t.servicePorts,
    slaveId: t.slaveId,
    stagedAt: t.stagedAt,
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    version: t.version,
    // A task's checks report in any order; a check that has not reported yet leaves no entry.
    healthCheckResults: (t.healthCheckResults as Array<Record<string, unknown> | null>)
      .filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object')
      .map((r) => ({ ...r, instanceId: r.taskId })),
  };
}

interface TaskStatsCounts {
  staged: number;
  running: number;
  healthy: number;
  unhealthy: number;
}

/** One category of Marathon's taskStats: counts, and life times of the tasks that started. */
function statsOf(
  tasks: Task[],
  now: Date,
): { stats: { counts: TaskStatsCounts; lifeTime?: unknown } } | null {
  if (tasks.length === 0) return null;
  const running = tasks.filter((t) => t.state === 'TASK_RUNNING');
  const alive = (t: Task) => (t.healthCheckResults as Array<{ alive?: boolean } | null>).filter(Boolean);
  const counts: TaskStatsCounts = {
    staged: tasks.filter((t) => t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING').length,
    running: running.length,
    healthy: running.filter((t) => alive(t).length > 0 && alive(t).every((r) => r?.alive === true)).length,
    unhealthy: running.filter((t) => alive(t).some((r) => r?.alive === false)).length,
  };
  const lives = tasks
    .flatMap((t) => (t.startedAt ? [(now.getTime() - Date.parse(t.startedAt)) / 1000] : []))
    .sort((a, b) => a - b);
  const median =
    lives.length % 2 === 1
      ? lives[(lives.length - 1) / 2]!
      : (lives[lives.length / 2 - 1]! + lives[lives.length / 2]!) / 2;
  return {
    stats: {
      counts,
      ...(lives.length > 0
        ? {
            lifeTime: {
              averageSeconds: lives.reduce((a, b) => a + b, 0) / lives.length,
              medianSeconds: median,
            },
          }
        : {}),
    },
  };
}

/** Marathon's taskStats (embed=app.taskStats): a category is left out when no task falls in it. */
export function taskStats(app: AppView, tasks: Task[], now: Date): Record<string, unknown> {
  const { lastScalingAt, lastConfigChangeAt } = app.versionInfo;
  const categories: Array<[string, Task[]]> = [
    ['startedAfterLastScaling', tasks.filter((t) => t.stagedAt >= lastScalingAt)],
    ['withLatestConfig', tasks.filter((t) => t.version >= lastConfigChangeAt)],
    ['withOutdatedConfig', tasks.filter((t) => t.version < lastConfigChangeAt)],
    ['totalSummary', tasks],
  ];
  return Object.fromEntries(
    categories.flatMap(([name, ts]) => {
      const stats = statsOf(ts, now);
      return stats ? [[name, stats]] : [];
    }),
  );
}

/**
 * Marathon's app JSON: the definition with its version and versionInfo, then what `embed` asked
 * for. `app.tasks` must be loaded (listApps with embedTasks) when tasks, taskStats or readiness
 * are embedded.
 */
export function marathonApp(app: AppView, embed: Set<AppEmbed>, now: Date): Record<string, unknown> {
  const {
    atoll: _atoll,
    tasks,
    lastTaskFailure,
    tasksStaged,
    tasksRunning,
    tasksHealthy,
    tasksUnhealthy,
    deployments,
    ...definition
  } = app;
  const failure = lastTaskFailure as Record<string, unknown> | undefined;
  return {
    ...definition,
    ...(embed.has('counts') ? { tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy } : {}),
    ...(embed.has('deployments') ? { deployments } : {}),
    ...(embed.has('tasks') ? { tasks: (tasks ?? []).map(marathonTask) } : {}),
    ...(embed.has('lastTaskFailure') && failure
      ? { lastTaskFailure: { appId: app.id, ...failure, message: failure.message ?? '' } }
      : {}),
    ...(embed.has('taskStats') ? { taskStats: taskStats(app, tasks ?? [], now) } : {}),
    ...(embed.has('readiness')
      ? { readinessCheckResults: (tasks ?? []).flatMap((t) => t.readinessCheckResults ?? []) }
      : {}),
  };
}

/** Marathon's deployment (GET /v2/deployments); Atoll's `progress` stays in /api/v1. */
export function marathonDeployment(d: deploymentsService.DeploymentView): Record<string, unknown> {
  return {
    id: d.id,
    version: d.version,
    affectedApps: d.affectedApps,
    affectedPods: d.affectedPods,
    steps: d.steps,
    currentActions: d.currentActions,
    currentStep: d.currentStep,
    totalSteps: d.totalSteps,
  };
}

/** Marathon's queue item; `lastUnusedOffers` only with embed=lastUnusedOffers, as Marathon. */
export function marathonQueueItem(
  q: queueService.QueueItem,
  opts: { lastUnusedOffers: boolean; now: Date },
): Record<string, unknown> {
  return {
    app: marathonApp(q.app, listEmbed([]), opts.now),
    count: q.count,
    delay: q.delay,
    since: q.since,
    processedOffersSummary: q.processedOffersSummary,
    ...(opts.lastUnusedOffers ? { lastUnusedOffers: q.lastUnusedOffers } : {}),
  };
}

/** Marathon's group tree, its apps shaped as in GET /v2/apps and its pods under `pods`. */
export function marathonGroup(g: groupsService.GroupView, now: Date): Record<string, unknown> {
  const podOf = (a: AppView) => (a as { pod?: Record<string, unknown> }).pod;
  return {
    id: g.id,
    apps: g.apps.filter((a) => !podOf(a)).map((a) => marathonApp(a, listEmbed([]), now)),
    groups: g.groups.map((sub) => marathonGroup(sub, now)),
    pods: [
      ...g.pods,
      ...g.apps.flatMap((a) => {
        const pod = podOf(a);
        return pod ? [{ ...pod, version: a.version }] : [];
      }),
    ],
    dependencies: g.dependencies,
    version: g.version,
  };
}

/**
 * The event types of Marathon's event bus (Events.scala). `/v2/events` streams these; Atoll's own
 * event types (nodes, packages, placement, kill orders) only when asked for.
 */
export const MARATHON_EVENT_TYPES: ReadonlySet<string> = new Set([
  'api_post_event',
  'status_update_event',
  'framework_message_event',
  'subscribe_event',
  'unsubscribe_event',
  'event_stream_attached',
  'event_stream_detached',
  'add_health_check_event',
  'remove_health_check_event',
  'failed_health_check_event',
  'health_status_changed_event',
  'unhealthy_task_kill_event',
  'unhealthy_instance_kill_event',
  'group_change_success',
  'group_change_failed',
  'deployment_success',
  'deployment_failed',
  'deployment_info',
  'deployment_step_success',
  'deployment_step_failure',
  'app_terminated_event',
  'instance_changed_event',
  'unknown_instance_terminated_event',
  'instance_health_changed_event',
  'pod_created_event',
  'pod_updated_event',
  'pod_deleted_event',
]);

/**
 * Whether `/v2/events` sends an event: the types named by `event_type` when there are any;
 * otherwise Marathon's, and Atoll's own too with `atoll_events=true` (Atoll's CLI watches them).
 */
export function streamsEvent(
  type: string,
  opts: { wanted: ReadonlySet<string>; atollEvents: boolean },
): boolean {
  if (opts.wanted.size > 0) return opts.wanted.has(type);
  return opts.atollEvents || MARATHON_EVENT_TYPES.has(type);
}

/**
 * Marathon's label selector (`GET /v2/apps?label=`): comma-separated terms, all of which must
 * hold: `key` (present), `key==value`, `key!=value`, `key in (a, b)`, `key notin (a, b)`.
 */
export function matchesLabelSelector(selector: string, labels: Record<string, string>): boolean {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms
    .map((t) => t.trim())
    .filter(Boolean)
    .every((term) => {
      let m = /^(.+?)\s*(==|!=)\s*(.*)$/.exec(term);
      if (m) return m[2] === '==' ? labels[m[1]!] === m[3] : labels[m[1]!] !== m[3];
      m = /^(.+?)\s+(in|notin)\s*\((.*)\)$/.exec(term);
      if (m) {
        const values = m[3]!.split(',').map((v) => v.trim());
        const value = labels[m[1]!];
        const inSet = value !== undefined && values.includes(value);
        return m[2] === 'in' ? inSet : !inSet;
      }
      return term in labels;
    });
}
