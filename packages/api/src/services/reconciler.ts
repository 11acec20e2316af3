import { randomUUID } from 'node:crypto';
import { chooseTasksToKill, demandFromApp, place, type ClusterSnapshot, type NodeSnapshot } from '@atoll/scheduler';
import {
  containerLabels,
  isBridged,
  isTerminal,
  requestedPorts,
  type AppDefinition,
  type TaskPort,
  type TaskSpec,
  type TaskState,
} from '@atoll/spec';
import type { Services } from '../context';
import { recordEvents, type EventInput } from './events';

type S = Pick<Services, 'db' | 'bus' | 'now' | 'agents' | 'log' | 'config'>;

/** Kill orders not acknowledged within this time are sent again. */
const KILL_RESEND_MS = 10_000;
/** Terminal tasks kept per app for history (lastTaskFailure, the console's task list). */
const TERMINAL_TASKS_KEPT = 10;

/** Marathon's task id: the app path with '/' → '_', a dot, a UUID. */
export function newTaskId(appId: string): string {
  return `${appId.split('/').filter(Boolean).join('_')}.${randomUUID()}`;
}

/** The environment Marathon gives a task: PORT0…n, PORTS, HOST, MARATHON_APP_*, MESOS_TASK_ID. */
export function taskEnvironment(
  def: AppDefinition,
  version: string,
  task: { id: string; host: string; ports: TaskPort[] },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.env)) if (typeof v === 'string') env[k] = v;
  const hostPorts = task.ports.map((p) => p.hostPort);
  task.ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p.hostPort);
    if (p.name) env[`PORT_${p.name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = String(p.hostPort);
    if (p.containerPort) env[`PORT_${p.containerPort}`] = String(p.hostPort);
  });
  if (hostPorts.length > 0) {
    env.PORT = String(hostPorts[0]);
    env.PORTS = hostPorts.join(',');
  }
  env.HOST = task.host;
  env.MARATHON_APP_ID = def.id;
  env.MARATHON_APP_VERSION = version;
  env.MARATHON_APP_RESOURCE_CPUS = String(def.cpus);
  env.MARATHON_APP_RESOURCE_MEM = String(def.mem);
  env.MARATHON_APP_RESOURCE_DISK = String(def.disk);
  env.MARATHON_APP_RESOURCE_GPUS = String(def.gpus);
  env.MARATHON_APP_LABELS = Object.keys(def.labels).join(' ');
  for (const [k, v] of Object.entries(def.labels)) {
    env[`MARATHON_APP_LABEL_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
  }
  if (def.container?.docker) env.MARATHON_APP_DOCKER_IMAGE = def.container.docker.image;
  env.MESOS_TASK_ID = task.id;
  return env;
}

export function buildTaskSpec(
  def: AppDefinition,
  version: string,
  task: { id: string; host: string; nodeId: string; ports: TaskPort[] },
): TaskSpec {
  const docker = def.container?.type !== 'MESOS' ? def.container?.docker : undefined;
  return {
    taskId: task.id,
    appId: def.id,
    appVersion: version,
    ...(docker ? { image: docker.image } : {}),
    ...(def.cmd ? { cmd: def.cmd } : {}),
    ...(def.args && def.args.length > 0 ? { args: def.args } : {}),
    ...(def.user ? { user: def.user } : {}),
    env: taskEnvironment(def, version, task),
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk,
    network: isBridged(def) ? 'bridge' : 'host',
    ports: task.ports,
    labels: { ...def.labels, [containerLabels.appId]: def.id, [containerLabels.taskId]: task.id },
    forcePullImage: docker?.forcePullImage ?? false,
    privileged: docker?.privileged ?? false,
    killGracePeriodSeconds: def.taskKillGracePeriodSeconds ?? 3,
  };
}

/**
 * One pass of the reconciler: compares each app's wanted instances with its tasks and acts —
 * launches what is missing (through the pure scheduler), kills what is surplus or of an old
 * configuration, removes deleted apps, and closes finished deployments. A function of what is in
 * PostgreSQL, so a restarted or newly elected leader simply continues.
 */
export async function reconcile(s: S): Promise<void> {
  const now = s.now();
  const [apps, nodes, tasks] = await Promise.all([
    s.db.prisma.app.findMany(),
    s.db.prisma.node.findMany(),
    s.db.prisma.task.findMany({
      where: { state: { notIn: ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE'] } },
    }),
  ]);
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  const events: EventInput[] = [];

  const kill = async (t: (typeof tasks)[number], reason: string) => {
    const grace = ((apps.find((a) => a.id === t.appId)?.definition as AppDefinition | undefined)?.taskKillGracePeriodSeconds ?? 3);
    const node = nodeById.get(t.nodeId);
    if (node && s.agents.isConnected(node.id)) {
      s.agents.send(node.id, { type: 'killTask', taskId: t.id, gracePeriodSeconds: grace });
      await s.db.prisma.task.update({ where: { id: t.id }, data: { killRequestedAt: now } });
    } else {
      // Nobody to tell: the task is gone for us; its agent kills it when it reconnects.
      await s.db.prisma.task.update({
        where: { id: t.id },
        data: { killRequestedAt: now, state: 'TASK_KILLED', message: 'killed while its node was disconnected', updatedAt: now },
      });
    }
    events.push({ type: 'task_kill', subject: t.appId, payload: { taskId: t.id, reason } });
  };

  // Resend kill orders that were not acknowledged.
  for (const t of tasks) {
    if (t.killRequestedAt && now.getTime() - t.killRequestedAt.getTime() > KILL_RESEND_MS) {
      await kill(t, 'kill not acknowledged, sent again');
    }
  }

  const snapshot: ClusterSnapshot = {
    nodes: nodes.map(
      (n): NodeSnapshot => ({
        id: n.id,
        hostname: n.hostname,
        status: n.connected && s.agents.isConnected(n.id) ? n.status : 'DISCONNECTED',
        attributes: n.attributes as Record<string, string>,
        resources: { cpus: n.cpus, memMb: n.memMb, diskMb: n.diskMb, portRange: [n.portRangeStart, n.portRangeEnd] },
        allocations: tasks
          .filter((t) => t.nodeId === n.id)
          .map((t) => ({
            taskId: t.id,
            appId: t.appId,
            cpus: t.cpus,
            memMb: t.memMb,
            diskMb: t.diskMb,
            hostPorts: (t.ports as TaskPort[]).map((p) => p.hostPort).filter((p) => p > 0),
          })),
      }),
    ),
  };

  const launches: Array<{ spec: TaskSpec; nodeId: string }> = [];
  for (const app of apps) {
    const def = app.definition as unknown as AppDefinition;
    const appTasks = tasks.filter((t) => t.appId === app.id);
    const live = appTasks.filter((t) => !t.killRequestedAt);

    if (app.deleting) {
      for (const t of live) await kill(t, 'app deleted');
      if (appTasks.length === 0) {
        await s.db.prisma.app.delete({ where: { id: app.id } });
        events.push({ type: 'app_removed', subject: app.id });
      }
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
      for (const v of victims) await kill(current.find((t) => t.id === v.id)!, 'scale down');
    }

    // Old-configuration tasks step down as new ones run (a simple rolling replacement).
    const currentRunning = current.filter((t) => t.state === 'TASK_RUNNING').length;
    const oldSurplus = Math.max(0, Math.min(want, currentRunning) + old.length - want);
    const oldByAge = [...old].sort((a, b) => a.stagedAt.getTime() - b.stagedAt.getTime());
    for (const t of want === 0 ? old : oldByAge.slice(0, oldSurplus)) await kill(t, 'replaced by a new version');

    const missing = want - current.length;
    const delayed = app.delayUntil !== null && app.delayUntil > now;
    if (missing <= 0 || delayed) {
      if (missing <= 0 && app.placementIssue !== null) {
        await s.db.prisma.app.update({ where: { id: app.id }, data: { placementIssue: undefined } });
      }
      continue;
    }
    const plan = place(snapshot, [demandFromApp(def, missing)], { now: now.getTime(), seed: hashSeed(app.id) });
    const unplaced = plan.unplaced[0];
    const issue = unplaced ? { summary: unplaced.summary, reasons: unplaced.reasons, count: unplaced.count } : null;
    if (JSON.stringify(issue) !== JSON.stringify(app.placementIssue)) {
      await s.db.prisma.app.update({ where: { id: app.id }, data: { placementIssue: issue ?? undefined } });
      if (issue) events.push({ type: 'placement_waiting', subject: app.id, payload: issue });
    }
    if (plan.placements.length === 0 && old.length > 0) {
      // No room for the new version: free room by stopping an old task first.
      await kill(oldByAge[0]!, 'making room for a new version');
    }
    const wanted = requestedPorts(def);
    for (const p of plan.placements) {
      const node = nodeById.get(p.nodeId)!;
      const ports: TaskPort[] = wanted.map((w, i) => {
        const hostPort = p.hostPorts[i] ?? 0;
        const containerPort = w.containerPort === 0 ? hostPort : w.containerPort;
        return {
          hostPort,
          ...(containerPort !== undefined ? { containerPort } : {}),
          protocol: w.protocol,
          ...(w.name ? { name: w.name } : {}),
        };
      });
      const id = newTaskId(app.id);
      const spec = buildTaskSpec(def, app.configVersion, { id, host: node.address, nodeId: node.id, ports });
      spec.labels[containerLabels.nodeId] = node.id;
      launches.push({ spec, nodeId: node.id });
      // Later apps in this pass see this placement's usage.
      snapshot.nodes
        .find((n) => n.id === node.id)
        ?.allocations.push({
          taskId: id,
          appId: app.id,
          cpus: def.cpus,
          memMb: def.mem,
          diskMb: def.disk,
          hostPorts: ports.map((x) => x.hostPort).filter((x) => x > 0),
        });
    }
  }

  if (launches.length > 0) {
    await s.db.prisma.task.createMany({
      data: launches.map(({ spec, nodeId }) => ({
        id: spec.taskId,
        appId: spec.appId,
        appVersion: spec.appVersion,
        nodeId,
        state: 'TASK_STAGING',
        host: nodeById.get(nodeId)!.address,
        ports: spec.ports,
        cpus: spec.cpus,
        memMb: spec.mem,
        diskMb: spec.disk,
        stagedAt: now,
        updatedAt: now,
      })),
    });
    for (const l of launches) {
      s.agents.send(l.nodeId, { type: 'launchTask', task: l.spec });
      events.push({ type: 'task_staged', subject: l.spec.appId, payload: { taskId: l.spec.taskId, nodeId: l.nodeId } });
    }
  }

  await finishDeployments(s, events);
  await pruneTerminalTasks(s);
  await recordEvents(s, events, 'task');
}

async function finishDeployments(s: S, events: EventInput[]): Promise<void> {
  const running = await s.db.prisma.deployment.findMany({ where: { status: 'RUNNING' } });
  for (const d of running) {
    let done = true;
    for (const appId of d.affectedApps) {
      const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
      if (!app) continue;
      if (app.version > d.version) continue; // superseded by a later deployment
      const def = app.definition as unknown as AppDefinition;
      const active = await s.db.prisma.task.findMany({
        where: { appId, state: { notIn: ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE'] } },
      });
      const runningCurrent = active.filter(
        (t) => t.state === 'TASK_RUNNING' && t.appVersion === app.configVersion && !t.killRequestedAt,
      ).length;
      if (app.deleting || runningCurrent !== def.instances || active.length !== def.instances) done = false;
    }
    if (done) {
      await s.db.prisma.deployment.update({ where: { id: d.id }, data: { status: 'FINISHED', finishedAt: s.now() } });
      events.push({ type: 'deployment_success', subject: d.affectedApps[0], payload: { id: d.id } });
    }
  }
}

async function pruneTerminalTasks(s: S): Promise<void> {
  await s.db.pool.query(
    `DELETE FROM tasks WHERE id IN (
       SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY app_id ORDER BY updated_at DESC) AS n
         FROM tasks WHERE state IN ('TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE')
       ) ranked WHERE n > $1)`,
    [TERMINAL_TASKS_KEPT],
  );
}

/** A stable seed per app, so the same cluster state gives the same plan (reproducible debugging). */
function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Runs `reconcile` serially: pokes during a pass schedule exactly one more pass. */
export class ReconcileLoop {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private interval: NodeJS.Timeout | null = null;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly s: S,
    private readonly periodMs = 2000,
  ) {}

  start(): void {
    this.interval = setInterval(() => this.poke(), this.periodMs);
    this.poke();
  }

  poke(): void {
    if (this.timer || !this.interval) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, 20);
  }

  private async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    let resolve!: () => void;
    this.idle = new Promise((r) => (resolve = r));
    try {
      do {
        this.again = false;
        try {
          await reconcile(this.s);
        } catch (err) {
          this.s.log.error({ err }, 'reconcile pass failed');
        }
      } while (this.again);
    } finally {
      this.running = false;
      resolve();
    }
  }

  async stop(): Promise<void> {
    if (this.interval) clearInterval(this.interval);
    if (this.timer) clearTimeout(this.timer);
    this.interval = null;
    this.timer = null;
    await this.idle;
  }
}

export function isActiveState(state: string): boolean {
  return !isTerminal(state as TaskState);
}
