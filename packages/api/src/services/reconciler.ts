import { randomUUID } from 'node:crypto';
import { Prisma } from '@atoll/db';
import {
  containerLabels,
  isBridged,
  isTerminal,
  podImage,
  type AppDefinition,
  type MountSpec,
  type Pod,
  type TaskPort,
  type TaskSpec,
  type TaskState,
} from '@atoll/spec';
import type { Services } from '../context';
import { applyTaskReports, markNodesUnreachable } from './agents';
import { snapshotRows } from './apps';
import { decide, type DrainProgress, type NodeState } from './decide';
import { finishDeployments } from './deployments';
import { jobTaskOwner, reconcileJobs } from './jobs';
import { recordEvents, type EventInput } from './events';
import { orderTaskKill } from './kill';
import { effectiveAttributes } from './nodes';
import { stateFingerprint } from './state-fingerprint';
import { appSecretUse, applyTaskSecrets, resolveTaskSecrets, usesSecrets } from './secrets';

type S = Pick<Services, 'db' | 'bus' | 'now' | 'agents' | 'log' | 'config' | 'secrets'>;

/** Agents reconnect with a back-off capped near 10 s; a new leader waits that long before judging. */
const RECONNECT_GRACE_MS = 12_000;

/**
 * A pass whose inputs (apps, tasks, deployments, the nodes' placement-relevant columns) are as the
 * last full pass read them decides nothing new, except what time alone changes: a back-off delay
 * ending, a kill to send again, an unreachable task to expunge. Such passes are skipped, and a
 * full pass runs at least this often for the time-driven decisions.
 */
export const FULL_PASS_MS = 5_000;

/** What the last full pass read (ReconcileLoop keeps it between passes). */
export interface PassMemo {
  fingerprint: string | null;
  at: number;
}

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
  const pod = (def as AppDefinition & { pod?: Pod }).pod;
  if (pod) return buildPodTaskSpec(def, pod, version, task);
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
    ...(def.container && def.container.volumes.length > 0 ? { mounts: appMounts(def) } : {}),
    ...(docker && docker.parameters.length > 0 ? { dockerParameters: docker.parameters } : {}),
    killGracePeriodSeconds: def.taskKillGracePeriodSeconds ?? 3,
    healthChecks: def.healthChecks.map((hc) => ({
      protocol: hc.protocol,
      path: hc.path ?? '/',
      ...(hc.protocol === 'COMMAND'
        ? { command: hc.command?.value ?? 'true' }
        : { port: hc.port ?? task.ports[hc.portIndex ?? 0]?.hostPort ?? 0 }),
      gracePeriodSeconds: hc.gracePeriodSeconds,
      intervalSeconds: hc.intervalSeconds,
      timeoutSeconds: hc.timeoutSeconds,
      maxConsecutiveFailures: hc.maxConsecutiveFailures,
      delaySeconds: hc.delaySeconds,
      ignoreHttp1xx: hc.ignoreHttp1xx,
    })),
    readinessChecks: def.readinessChecks.map((rc) => {
      const index = task.ports.findIndex((p) => p.name === rc.portName);
      return {
        name: rc.name,
        protocol: rc.protocol,
        path: rc.path,
        port: task.ports[index >= 0 ? index : 0]?.hostPort ?? 0,
        intervalSeconds: rc.intervalSeconds,
        timeoutSeconds: rc.timeoutSeconds,
        httpStatusCodesForReady: rc.httpStatusCodesForReady,
      };
    }),
  };
}

export function hasPersistentVolumes(def: AppDefinition): boolean {
  return (def.container?.volumes ?? []).some((v) => v.persistent !== undefined && !v.hostPath);
}

/**
 * The nodes holding each resident app's persistent volumes: where its tasks have run (live ones
 * and the recent ended ones the task table keeps). An approximation of Marathon's reservations:
 * enough to send a replacement back to its data.
 */
async function residentVolumeNodes(s: Pick<S, 'db'>, appIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (appIds.length === 0) return out;
  const { rows } = await s.db.pool.query<{ app_id: string; node_id: string }>(
    'SELECT DISTINCT app_id, node_id FROM tasks WHERE app_id = ANY($1::text[])',
    [appIds],
  );
  for (const r of rows) out.set(r.app_id, [...(out.get(r.app_id) ?? []), r.node_id]);
  return out;
}

/** The node-local name of an app's persistent volume: `atoll-<app path>-<volume>`. */
export function persistentVolumeName(appId: string, containerPath: string): string {
  const clean = (x: string) => x.replace(/^\/+|\/+$/g, '').replace(/[^a-zA-Z0-9_.-]+/g, '_');
  return `atoll-${clean(appId)}-${clean(containerPath)}`;
}

/**
 * Marathon's `container.volumes` as mounts:
 * - a persistent volume (`{containerPath: "data", persistent: {size}}`) is a named volume on the
 *   node, kept across the app's tasks there and removed with the app; a relative containerPath is
 *   mounted under the sandbox (`/mnt/mesos/sandbox/data`), as Mesos did;
 * - `{containerPath, hostPath}` binds an absolute host path, or, when hostPath names a persistent
 *   volume of the app (`"hostPath": "data"`), mounts that volume at containerPath (Marathon's
 *   documented way to put a persistent volume at an absolute path);
 * - external volumes (DVDI) are not supported and are left out.
 */
export function appMounts(def: AppDefinition): MountSpec[] {
  const volumes = def.container?.volumes ?? [];
  const persistent = new Set(volumes.filter((v) => v.persistent && !v.hostPath).map((v) => v.containerPath));
  const out: MountSpec[] = [];
  for (const v of volumes) {
    const readOnly = v.mode === 'RO';
    if (v.persistent && !v.hostPath) {
      const target = v.containerPath.startsWith('/')
        ? v.containerPath
        : `/mnt/mesos/sandbox/${v.containerPath}`;
      out.push({
        target,
        source: { type: 'volume', name: persistentVolumeName(def.id, v.containerPath) },
        readOnly,
      });
    } else if (v.hostPath && persistent.has(v.hostPath)) {
      out.push({
        target: v.containerPath,
        source: { type: 'volume', name: persistentVolumeName(def.id, v.hostPath) },
        readOnly,
      });
    } else if (v.hostPath?.startsWith('/')) {
      out.push({ target: v.containerPath, source: { type: 'host', path: v.hostPath }, readOnly });
    }
  }
  return out;
}

/** A pod instance: one task whose containers share the instance's ports, network and volumes. */
function buildPodTaskSpec(
  def: AppDefinition,
  pod: Pod,
  version: string,
  task: { id: string; host: string; nodeId: string; ports: TaskPort[] },
): TaskSpec {
  const env = taskEnvironment(def, version, task);
  for (const [k, v] of Object.entries(pod.environment)) if (typeof v === 'string') env[k] = v;
  return {
    taskId: task.id,
    appId: def.id,
    appVersion: version,
    env,
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk,
    network: isBridged(def) ? 'bridge' : 'host',
    ports: task.ports,
    labels: { ...def.labels, [containerLabels.appId]: def.id, [containerLabels.taskId]: task.id },
    forcePullImage: false,
    privileged: false,
    killGracePeriodSeconds: def.taskKillGracePeriodSeconds ?? 3,
    healthChecks: [],
    readinessChecks: [],
    containers: pod.containers.map((c) => {
      const command = c.exec?.command as { shell?: string; argv?: string[] } | undefined;
      return {
        name: c.name,
        image: podImage(pod, c),
        ...(command?.shell ? { cmd: command.shell } : {}),
        ...(command?.argv ? { args: command.argv } : {}),
        env: Object.fromEntries(
          Object.entries(c.environment).filter((e): e is [string, string] => typeof e[1] === 'string'),
        ),
        cpus: c.resources.cpus,
        mem: c.resources.mem,
        volumeMounts: c.volumeMounts.map((m) => ({
          name: m.name,
          mountPath: m.mountPath,
          readOnly: m.readOnly,
        })),
      };
    }),
    volumes: pod.volumes.map((v) => ({ name: v.name, ...(v.host ? { host: v.host } : {}) })),
  };
}

/**
 * One pass of the reconciler: loads apps, non-terminal tasks and nodes from PostgreSQL, lets the
 * pure `decide()` choose (launch what is missing through the scheduler, kill what is surplus or of
 * an old configuration, remove deleted apps), applies that, and closes finished deployments. A
 * function of what is in PostgreSQL, so a restarted or newly elected leader simply continues.
 */
export async function reconcile(s: S, opts: { leaderSince?: Date; memo?: PassMemo } = {}): Promise<void> {
  const now = s.now();
  // Nodes whose heartbeats stopped (their agent died while no replica held its socket). A new
  // leader first gives agents time to reconnect, so a control restart never looks like node loss.
  const settled =
    !opts.leaderSince ||
    now.getTime() - opts.leaderSince.getTime() > RECONNECT_GRACE_MS + s.config.heartbeatTimeoutMs;
  const stale = settled
    ? await s.db.prisma.node.findMany({
        where: {
          status: { not: 'UNREACHABLE' },
          lastHeartbeatAt: { lt: new Date(now.getTime() - s.config.heartbeatTimeoutMs) },
        },
        select: { id: true },
      })
    : [];
  await markNodesUnreachable(
    s,
    stale.filter((n) => !s.agents.isConnected(n.id)).map((n) => n.id),
  );
  if (opts.memo) {
    const fingerprint = await stateFingerprint(s);
    if (fingerprint === opts.memo.fingerprint && now.getTime() - opts.memo.at < FULL_PASS_MS) {
      await reconcileJobs(s);
      return;
    }
    // Taken before the pass reads: a write meanwhile makes the next pass a full one.
    opts.memo.fingerprint = fingerprint;
    opts.memo.at = now.getTime();
  }
  const [{ apps, tasks }, nodes] = await Promise.all([snapshotRows(s), s.db.prisma.node.findMany()]);
  const defs = new Map(apps.map((a) => [a.id, a.definition as unknown as AppDefinition]));
  const volumeNodes = await residentVolumeNodes(
    s,
    apps.filter((a) => hasPersistentVolumes(defs.get(a.id)!)).map((a) => a.id),
  );
  const decisions = decide({
    volumeNodes,
    now,
    apps: apps.map((a) => ({ ...a, definition: defs.get(a.id)! })),
    // A job run's task holds resources like any other; it belongs to no app (see jobs.ts).
    tasks: tasks.map((t) => ({
      ...t,
      appId: t.appId ?? jobTaskOwner(t.runId),
      ports: t.ports as TaskPort[],
    })),
    nodes: nodeStates(s, nodes),
  });
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  const events: EventInput[] = [];

  for (const k of decisions.kills) {
    await orderTaskKill(
      s,
      { id: k.taskId, nodeId: k.nodeId },
      defs.get(k.appId)?.taskKillGracePeriodSeconds ?? 3,
      now,
    );
    events.push({ type: 'task_kill', subject: k.appId, payload: { taskId: k.taskId, reason: k.reason } });
  }

  for (const { appId, issue } of decisions.placementIssues) {
    await s.db.prisma.app.update({
      where: { id: appId },
      data: { placementIssue: issue ? { ...issue } : Prisma.DbNull },
    });
    if (issue) events.push({ type: 'placement_waiting', subject: appId, payload: { ...issue } });
  }

  if (decisions.expunge.length > 0) {
    await s.db.pool.query(
      `UPDATE tasks SET state = 'TASK_GONE', message = 'expunged: unreachable past expungeAfterSeconds', updated_at = $2
       WHERE id = ANY($1::text[]) AND state = 'TASK_UNREACHABLE'`,
      [decisions.expunge.map((e) => e.taskId), now],
    );
    for (const e of decisions.expunge) {
      events.push({
        type: 'status_update_event',
        subject: e.appId,
        payload: { taskId: e.taskId, appId: e.appId, taskStatus: 'TASK_GONE', message: 'expunged' },
      });
    }
  }

  for (const u of decisions.nodeUpdates) {
    await s.db.prisma.node.update({
      where: { id: u.nodeId },
      data: {
        drain: u.drain ? { ...u.drain } : Prisma.DbNull,
        ...(u.mode ? { mode: u.mode, modeChangedAt: now } : {}),
      },
    });
    if (u.mode)
      events.push({ type: 'node_drained', subject: u.nodeId, payload: { total: u.drain?.total ?? 0 } });
    else if (u.drain?.blocked)
      events.push({ type: 'node_drain_blocked', subject: u.nodeId, payload: { blocked: u.drain.blocked } });
    s.bus.publish({ kind: 'node', subject: u.nodeId });
  }

  for (const appId of decisions.removeApps) {
    await s.db.prisma.app.delete({ where: { id: appId } });
    events.push({ type: 'app_removed', subject: appId });
    // Its ended containers were kept for their logs; with the app gone they go too.
    for (const n of nodes) s.agents.send(n.id, { type: 'forgetApp', appId });
  }

  const launches = decisions.launches.map((l) => {
    const node = nodeById.get(l.nodeId)!;
    const spec = buildTaskSpec(defs.get(l.appId)!, l.version, {
      id: newTaskId(l.appId),
      host: node.address,
      nodeId: node.id,
      ports: l.ports,
    });
    spec.labels[containerLabels.nodeId] = node.id;
    return { spec, node };
  });
  // Secret values go into the launch message of the task that uses them, and nowhere else: not
  // the task row, not the events. A task whose secret is missing or unreadable fails at once (the
  // message names the path), so the app's launch back-off applies as to any failed start.
  const secretFailures = new Map<string, string>();
  const secretCache = new Map<string, Promise<string>>();
  for (const { spec } of launches) {
    const use = appSecretUse(defs.get(spec.appId));
    if (!usesSecrets(use)) continue;
    try {
      applyTaskSecrets(spec, await resolveTaskSecrets(s, use, secretCache));
    } catch (err) {
      secretFailures.set(spec.taskId, (err as Error).message);
    }
  }
  if (launches.length > 0) {
    await s.db.prisma.task.createMany({
      data: launches.map(({ spec, node }) => ({
        id: spec.taskId,
        appId: spec.appId,
        appVersion: spec.appVersion,
        nodeId: node.id,
        state: 'TASK_STAGING',
        host: node.address,
        ports: spec.ports,
        cpus: spec.cpus,
        memMb: spec.mem,
        diskMb: spec.disk,
        stagedAt: now,
        updatedAt: now,
      })),
    });
    for (const { spec, node } of launches) {
      if (!secretFailures.has(spec.taskId)) s.agents.send(node.id, { type: 'launchTask', task: spec });
      events.push({
        type: 'task_staged',
        subject: spec.appId,
        payload: { taskId: spec.taskId, nodeId: node.id },
      });
    }
  }

  if (secretFailures.size > 0)
    await applyTaskReports(
      s,
      [...secretFailures].map(([taskId, message]) => ({
        nodeId: launches.find((l) => l.spec.taskId === taskId)!.node.id,
        report: { taskId, state: 'TASK_FAILED' as const, message, at: now.toISOString() },
      })),
    );
  await finishDeployments(s, events);
  await pruneTerminalTasks(s);
  await recordEvents(s, events, 'task');
  // Job runs after apps, in the same serial pass: their placements see this pass's launches.
  await reconcileJobs(s);
}

async function pruneTerminalTasks(s: S): Promise<void> {
  await s.db.pool.query(
    `DELETE FROM tasks WHERE id IN (
       SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY app_id ORDER BY updated_at DESC) AS n
         FROM tasks WHERE state IN ('TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE')
           -- a job run's tasks stay with their run and go when the run leaves the history
           AND app_id IS NOT NULL
       ) ranked WHERE n > $1)`,
    [TERMINAL_TASKS_KEPT],
  );
}

/** Stored nodes as `decide()` and the job placer see them (decommissioned ones left out). */
export function nodeStates(
  s: Pick<S, 'agents'>,
  nodes: Awaited<ReturnType<S['db']['prisma']['node']['findMany']>>,
): NodeState[] {
  return nodes
    .filter((n) => n.mode !== 'DECOMMISSIONED')
    .map((n) => ({
      ...n,
      connected: n.connected && s.agents.isConnected(n.id),
      attributes: effectiveAttributes(n),
      drain: n.drain as DrainProgress | null,
      portRange: [n.portRangeStart, n.portRangeEnd] as [number, number],
    }));
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
    private readonly periodMs = 1000,
  ) {}

  private since = new Date();
  private readonly memo: PassMemo = { fingerprint: null, at: 0 };

  start(): void {
    this.since = this.s.now();
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
          await reconcile(this.s, { leaderSince: this.since, memo: this.memo });
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
