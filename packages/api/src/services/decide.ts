import {
  chooseTasksToKill,
  demandFromApp,
  place,
  type ClusterSnapshot,
  type NodeSnapshot,
} from '@atoll/scheduler';
import { canonicalJson, requestedPorts, resolvePath, type AppDefinition, type TaskPort } from '@atoll/spec';
import { groupBy } from './group-by';

/**
 * The reconciler's decisions as a pure function of cluster state, so they can be tested as a
 * table: which tasks to kill, what to launch where, which apps to remove, and why an app waits.
 * `reconcile()` loads the state, calls this, and applies the result.
 */

/** Kill orders not acknowledged within this time are sent again. */
export const KILL_RESEND_MS = 10_000;

export interface AppState {
  id: string;
  configVersion: string;
  deleting: boolean;
  delayUntil: Date | null;
  placementIssue: unknown;
  definition: AppDefinition;
}

export interface TaskStateRow {
  id: string;
  appId: string;
  appVersion: string;
  nodeId: string;
  state: string;
  stagedAt: Date;
  /** When the task last changed state (for TASK_UNREACHABLE: since when). */
  updatedAt: Date;
  killRequestedAt: Date | null;
  cpus: number;
  memMb: number;
  diskMb: number;
  ports: TaskPort[];
  /** Health-check verdict (null: unknown or no check) and readiness (null: unknown or no check). */
  healthy: boolean | null;
  ready: boolean | null;
}

export interface NodeState {
  id: string;
  hostname: string;
  address: string;
  /** Stored status (ACTIVE, …); a node whose agent is not connected here is treated as not ACTIVE. */
  status: string;
  /** The operator's mode (ACTIVE, DRAINING, DRAINED, MAINTENANCE, DECOMMISSIONED): only ACTIVE is offered. */
  mode: string;
  /** Drain progress as stored (see `DrainProgress`). */
  drain: DrainProgress | null;
  connected: boolean;
  /** Effective attributes: the agent's, overlaid by the operator's. */
  attributes: Record<string, string>;
  cpus: number;
  memMb: number;
  diskMb: number;
  /** Kept for the host itself: subtracted from what is offered. */
  reservedCpus: number;
  reservedMemMb: number;
  portRange: [number, number];
}

/** Stored with a DRAINING node: how many tasks it had when the drain began, and what holds it up. */
export interface DrainProgress {
  total: number;
  /** Why the next task cannot move yet (null while moving normally). */
  blocked: string | null;
}

export interface NodeUpdate {
  nodeId: string;
  /** A drain that finished: the node becomes DRAINED. */
  mode?: 'DRAINED';
  drain: DrainProgress | null;
}

export interface ReconcileInput {
  now: Date;
  apps: AppState[];
  /** Non-terminal tasks only. */
  tasks: TaskStateRow[];
  nodes: NodeState[];
  /** For apps with persistent volumes: the nodes holding them (where their tasks have run). */
  volumeNodes?: ReadonlyMap<string, readonly string[]>;
}

export interface KillDecision {
  taskId: string;
  appId: string;
  nodeId: string;
  reason: string;
}

export interface LaunchDecision {
  appId: string;
  version: string;
  nodeId: string;
  ports: TaskPort[];
}

export interface PlacementIssue {
  summary: string;
  reasons: Record<string, number>;
  count: number;
  /** The nodes that were excluded and why (the first 50). */
  excluded?: Array<{ nodeId: string; hostname: string; reason: string }>;
}

export interface ReconcileDecisions {
  kills: KillDecision[];
  launches: LaunchDecision[];
  /** Deleted apps with no task left: remove their rows. */
  removeApps: string[];
  /** Unreachable tasks past expungeAfterSeconds: forget them (TASK_GONE). */
  expunge: Array<{ taskId: string; appId: string }>;
  /** Apps whose "why waiting" changed: the new value (null clears it). */
  placementIssues: Array<{ appId: string; issue: PlacementIssue | null }>;
  /** Draining nodes whose progress or mode changed. */
  nodeUpdates: NodeUpdate[];
}

/**
 * The scheduler's view of the cluster: each node's resources (less what is kept for the host) and
 * the tasks holding them. Tasks being killed still hold their resources until they are gone.
 */
export function clusterSnapshot(
  nodes: NodeState[],
  tasks: Array<Pick<TaskStateRow, 'id' | 'appId' | 'nodeId' | 'cpus' | 'memMb' | 'diskMb' | 'ports'>>,
): ClusterSnapshot {
  return {
    nodes: nodes.map((n): NodeSnapshot => ({
      id: n.id,
      hostname: n.hostname,
      status: !n.connected ? 'DISCONNECTED' : n.mode !== 'ACTIVE' ? n.mode : n.status,
      attributes: n.attributes,
      resources: {
        cpus: Math.max(0, n.cpus - n.reservedCpus),
        memMb: Math.max(0, n.memMb - n.reservedMemMb),
        diskMb: n.diskMb,
        portRange: n.portRange,
      },
      allocations: tasks
        .filter((t) => t.nodeId === n.id)
        .map((t) => ({
          taskId: t.id,
          appId: t.appId,
          cpus: t.cpus,
          memMb: t.memMb,
          diskMb: t.diskMb,
          hostPorts: t.ports.map((p) => p.hostPort).filter((p) => p > 0),
        })),
    })),
  };
}

/** A stable seed per app, so the same cluster state gives the same plan (reproducible debugging). */
export function seedFor(appId: string): number {
  let h = 2166136261;
  for (let i = 0; i < appId.length; i++) h = Math.imul(h ^ appId.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function decide(input: ReconcileInput): ReconcileDecisions {
  const { now, apps, tasks, nodes } = input;
  const out: ReconcileDecisions = {
    kills: [],
    launches: [],
    removeApps: [],
    placementIssues: [],
    expunge: [],
    nodeUpdates: [],
  };
  const kill = (t: TaskStateRow, reason: string) =>
    out.kills.push({ taskId: t.id, appId: t.appId, nodeId: t.nodeId, reason });

  for (const t of tasks) {
    if (t.killRequestedAt && now.getTime() - t.killRequestedAt.getTime() > KILL_RESEND_MS) {
      kill(t, 'kill not acknowledged, sent again');
    }
  }

  const snapshot = clusterSnapshot(nodes, tasks);

  // An app is "up" for its dependents when all its wanted tasks of the current configuration run
  // healthy (and ready, where it has readiness checks).
  // Each app's tasks, grouped once: filtering all tasks per app is apps × tasks (10 million
  // comparisons a pass at 1,000 apps and 10,000 tasks).
  const tasksByApp = groupBy(tasks, (t) => t.appId);
  const isUp = (a: AppState) =>
    (tasksByApp.get(a.id) ?? []).filter(
      (t) =>
        t.appVersion === a.configVersion &&
        !t.killRequestedAt &&
        t.state === 'TASK_RUNNING' &&
        (a.definition.healthChecks.length === 0 || t.healthy === true) &&
        (a.definition.readinessChecks.length === 0 || t.ready === true),
    ).length >= a.definition.instances;
  const waitingFor = (app: AppState): string[] =>
    app.definition.dependencies
      .map((d) => resolvePath(d, app.id))
      .filter((dep) =>
        apps.some((a) => (a.id === dep || a.id.startsWith(dep + '/')) && !a.deleting && !isUp(a)),
      );

  for (const app of apps) {
    const def = app.definition;
    const appTasks = tasksByApp.get(app.id) ?? [];
    // Unreachable tasks count until inactiveAfterSeconds (forever when the strategy is
    // "disabled"); then they are replaced, and after expungeAfterSeconds forgotten.
    const strategy = def.unreachableStrategy;
    const unreachableFor = (t: TaskStateRow) => (now.getTime() - t.updatedAt.getTime()) / 1000;
    const inactive = (t: TaskStateRow) =>
      t.state === 'TASK_UNREACHABLE' &&
      strategy !== 'disabled' &&
      unreachableFor(t) >= strategy.inactiveAfterSeconds;
    for (const t of appTasks) {
      if (inactive(t) && strategy !== 'disabled' && unreachableFor(t) >= strategy.expungeAfterSeconds) {
        out.expunge.push({ taskId: t.id, appId: t.appId });
      }
    }
    const live = appTasks.filter((t) => !t.killRequestedAt && !inactive(t));

    if (app.deleting) {
      for (const t of live) kill(t, 'app deleted');
      if (appTasks.length === 0) out.removeApps.push(app.id);
      continue;
    }

    const current = live.filter((t) => t.appVersion === app.configVersion);
    const old = live.filter((t) => t.appVersion !== app.configVersion);
    const want = def.instances;

    if (current.length > want) {
      const victims = chooseTasksToKill(
        current.map((t) => ({ ...t, stagedAt: t.stagedAt.getTime() })),
        current.length - want,
        def.killSelection,
      );
      for (const v of victims)
        kill(
          current.find((t) => t.id === v.id)!,
          'scale down',
        );
    }

    // Rolling replacement of old-configuration tasks (Marathon's upgradeStrategy): never fewer than
    // minimumHealthCapacity × instances healthy, never more than (1 + maximumOverCapacity) ×
    // instances tasks. A new task counts once it is healthy and ready; an old one while healthy.
    let minHealthy = Math.ceil(want * def.upgradeStrategy.minimumHealthCapacity);
    let maxTotal = want + Math.floor(want * def.upgradeStrategy.maximumOverCapacity);
    // Marathon's way out when the floor meets the ceiling (1 instance at 0.5/0.5, any count at
    // 1/0): the upgrade could neither start nor stop a task, so it may run one over capacity; a
    // resident app, whose new task needs the old one's volume, stops one first instead.
    if (old.length > 0 && minHealthy === maxTotal && maxTotal <= live.length) {
      const resident = (def.container?.volumes ?? []).some((v) => v.persistent);
      if (resident) minHealthy -= 1;
      else maxTotal += 1;
    }
    const healthy = (t: TaskStateRow) =>
      t.state === 'TASK_RUNNING' && (def.healthChecks.length === 0 || t.healthy === true);
    const newHealthy = current.filter(
      (t) => healthy(t) && (def.readinessChecks.length === 0 || t.ready === true),
    ).length;
    // Unhealthy old tasks go first: they add nothing to capacity.
    const oldQueue = [...old].sort(
      (a, b) => Number(healthy(a)) - Number(healthy(b)) || a.stagedAt.getTime() - b.stagedAt.getTime(),
    );
    const oldVictims: TaskStateRow[] = [];
    const retire = (n: number, reason: string) => {
      for (let i = 0; i < n && oldQueue.length > 0; i++) {
        const t = oldQueue.shift()!;
        oldVictims.push(t);
        kill(t, reason);
      }
    };
    if (want === 0) retire(oldQueue.length, 'replaced by a new version');
    // Each new healthy task replaces one old task.
    retire(oldQueue.length + Math.min(newHealthy, want) - want, 'replaced by a new version');
    // No room to start new tasks: stop old ones as far as the health floor allows.
    const newMissing = Math.max(0, want - current.length);
    const room = maxTotal - (oldQueue.length + Math.min(current.length, want));
    if (newMissing > room) {
      const oldHealthyLeft = oldQueue.filter(healthy).length;
      const allowed = oldHealthyLeft + newHealthy - minHealthy + (oldQueue.length - oldHealthyLeft);
      retire(Math.min(newMissing - Math.max(0, room), Math.max(0, allowed)), 'replaced by a new version');
    }
    const canStart = Math.max(0, maxTotal - (oldQueue.length + Math.min(current.length, want)));

    const missing = Math.min(want - current.length, canStart);
    const delayed = app.delayUntil !== null && app.delayUntil > now;
    if (missing <= 0 || delayed) {
      if (missing <= 0 && app.placementIssue != null)
        out.placementIssues.push({ appId: app.id, issue: null });
      continue;
    }
    const blockers = waitingFor(app);
    if (blockers.length > 0) {
      const issue: PlacementIssue = {
        summary: `waiting for dependencies: ${blockers.join(', ')}`,
        reasons: {},
        count: missing,
      };
      if (canonicalJson(issue) !== canonicalJson(app.placementIssue ?? null))
        out.placementIssues.push({ appId: app.id, issue });
      continue;
    }
    // A resident app goes back to the nodes holding its volumes that none of its tasks uses.
    const unusedVolumes = (input.volumeNodes?.get(app.id) ?? []).filter(
      (n) => !live.some((t) => t.nodeId === n),
    );
    const demand = demandFromApp(def, missing);
    const plan = place(
      snapshot,
      [unusedVolumes.length > 0 ? { ...demand, preferNodes: unusedVolumes } : demand],
      {
        now: now.getTime(),
        seed: seedFor(app.id),
      },
    );
    const unplaced = plan.unplaced[0];
    const issue: PlacementIssue | null = unplaced
      ? {
          summary: unplaced.summary,
          reasons: unplaced.reasons,
          count: unplaced.count,
          excluded: unplaced.excluded.slice(0, 50),
        }
      : null;
    if (canonicalJson(issue) !== canonicalJson(app.placementIssue ?? null)) {
      out.placementIssues.push({ appId: app.id, issue });
    }
    if (plan.placements.length === 0 && oldQueue.length > 0 && oldVictims.length === 0) {
      // The new version fits nowhere while old tasks hold the resources: free room, if the
      // health floor allows it.
      const healthyNow = oldQueue.filter(healthy).length + newHealthy;
      if (healthyNow - (healthy(oldQueue[0]!) ? 1 : 0) >= minHealthy)
        retire(1, 'making room for a new version');
    }
    const wanted = requestedPorts(def);
    for (const p of plan.placements) {
      const ports: TaskPort[] = wanted.map((w, i) => {
        const hostPort = p.hostPorts[i] ?? 0;
        // Marathon: containerPort 0 in bridge mode means "the same as the host port".
        const containerPort = w.containerPort === 0 ? hostPort : w.containerPort;
        return {
          hostPort,
          ...(containerPort !== undefined ? { containerPort } : {}),
          protocol: w.protocol,
          ...(w.name ? { name: w.name } : {}),
        };
      });
      out.launches.push({ appId: app.id, version: app.configVersion, nodeId: p.nodeId, ports });
      // Later apps in this pass see this placement's usage.
      snapshot.nodes
        .find((n) => n.id === p.nodeId)
        ?.allocations.push({
          taskId: `planned:${out.launches.length}`,
          appId: app.id,
          cpus: def.cpus,
          memMb: def.mem,
          diskMb: def.disk,
          hostPorts: ports.map((x) => x.hostPort).filter((x) => x > 0),
        });
    }
  }

  for (const node of nodes) {
    if (node.mode === 'DRAINING') drainStep(node, input, snapshot, isUp, kill, out);
  }
  return out;
}

/**
 * Moves a draining node's tasks elsewhere one at a time: the next task is killed (with its app's
 * kill grace period) only when nothing on the node is being killed and every app with a task there
 * is back to full healthy strength, so the previous one's replacement runs. A task is killed only
 * if its app has room elsewhere; otherwise the drain waits and says why. When no task is left the
 * node is DRAINED.
 */
function drainStep(
  node: NodeState,
  input: ReconcileInput,
  snapshot: ClusterSnapshot,
  isUp: (a: AppState) => boolean,
  kill: (t: TaskStateRow, reason: string) => void,
  out: ReconcileDecisions,
): void {
  const total = node.drain?.total ?? 0;
  const update = (blocked: string | null, mode?: 'DRAINED') => {
    if (mode || (node.drain?.blocked ?? null) !== blocked)
      out.nodeUpdates.push({ nodeId: node.id, ...(mode ? { mode } : {}), drain: { total, blocked } });
  };
  const onNode = input.tasks.filter((t) => t.nodeId === node.id);
  const killedNow = new Set(out.kills.map((k) => k.taskId));
  if (onNode.length === 0) return update(null, 'DRAINED');
  // A kill in flight (ours or the app's own): wait until that task is gone.
  if (onNode.some((t) => t.killRequestedAt || killedNow.has(t.id))) return update(null);
  const apps = new Map(input.apps.map((a) => [a.id, a]));
  const candidates = [...onNode].sort((a, b) => a.stagedAt.getTime() - b.stagedAt.getTime());
  for (const t of candidates) {
    const app = apps.get(t.appId);
    // Tasks of deleted apps or of old versions are the app's own business: it kills them.
    if (!app || app.deleting || t.appVersion !== app.configVersion) return update(null);
  }
  const recovering = [...new Set(onNode.map((t) => t.appId))].filter((id) => !isUp(apps.get(id)!));
  if (recovering.length > 0)
    return update(`waiting for ${recovering.join(', ')} to be back at full strength`);
  for (const t of candidates) {
    const app = apps.get(t.appId)!;
    const plan = place(snapshot, [demandFromApp(app.definition, 1)], {
      now: input.now.getTime(),
      seed: seedFor(app.id),
    });
    if (plan.placements.length === 0) {
      const why = plan.unplaced[0]?.summary ?? 'no node fits';
      return update(`cannot move ${t.id} of ${app.id}: ${why}`);
    }
    kill(t, `node ${node.hostname} is draining`);
    return update(null);
  }
}
