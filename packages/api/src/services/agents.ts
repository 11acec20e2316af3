import { launchDelaySeconds } from '@atoll/scheduler';
import {
  isTerminal,
  type AppDefinition,
  type ControlMessage,
  type Hello,
  type TaskHealth,
  type TaskReadiness,
  type TaskReport,
  type TaskState,
} from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { sha256 } from './auth';
import { recordEvents, type EventInput } from './events';
import { joinTokenProblem, newNodeCredential } from './nodes';

/** How control reaches connected agents; implemented by the WebSocket gateway in atoll-control. */
export interface AgentDispatcher {
  send(nodeId: string, message: ControlMessage): boolean;
  isConnected(nodeId: string): boolean;
  /** Closes the node's connection, if this replica holds it (decommission). */
  disconnect?(nodeId: string, reason: string): void;
  /** The nodes whose agents hold a socket to this replica. */
  localNodes?(): string[];
}

export interface HelloResult {
  nodeId: string;
  /** Only on first join. */
  credential?: string;
  /** Kill orders for tasks the agent runs that control does not want. */
  kills: ControlMessage[];
}

/** Authenticates an agent's hello, registers or refreshes its node, and reconciles its task list. */
export async function handleHello(
  s: Pick<Services, 'db' | 'bus' | 'now'>,
  hello: Hello,
): Promise<HelloResult> {
  const now = s.now();
  const fields = {
    hostname: hello.hostname,
    address: hello.address,
    runtime: hello.runtime,
    cpus: hello.resources.cpus,
    memMb: hello.resources.memMb,
    diskMb: hello.resources.diskMb,
    portRangeStart: hello.resources.portRange[0],
    portRangeEnd: hello.resources.portRange[1],
    agentVersion: hello.agentVersion,
    connected: true,
    status: 'ACTIVE',
    lastHeartbeatAt: now,
  };
  let nodeId: string;
  let credential: string | undefined;
  if (hello.nodeId && hello.credential) {
    const node = await s.db.prisma.node.findUnique({ where: { id: hello.nodeId } });
    if (node?.mode === 'DECOMMISSIONED') {
      throw new AppError(
        'UNAUTHORIZED',
        `node ${node.id} was decommissioned; uninstall the agent (delete its state) and install it again with a new join token`,
      );
    }
    if (!node || node.credentialHash !== sha256(hello.credential)) {
      throw new AppError('UNAUTHORIZED', 'unknown node or wrong node credential');
    }
    await s.db.prisma.node.update({ where: { id: node.id }, data: fields });
    nodeId = node.id;
  } else if (hello.joinToken) {
    credential = newNodeCredential();
    const joinHash = sha256(hello.joinToken);
    const created = await s.db.prisma.$transaction(async (tx) => {
      const token = await tx.joinToken.findUnique({ where: { tokenHash: joinHash } });
      const problem = joinTokenProblem(token, now);
      if (problem || !token) throw new AppError('UNAUTHORIZED', problem ?? 'unknown join token');
      await tx.joinToken.update({ where: { id: token.id }, data: { usedCount: { increment: 1 } } });
      return tx.node.create({
        data: {
          ...fields,
          attributes: { ...(token.attributes as Record<string, string>), ...hello.attributes },
          credentialHash: sha256(credential!),
          joinTokenId: token.id,
          // The host's own reservation applies at join; later changes go through the API.
          ...(hello.reserved
            ? { reservedCpus: hello.reserved.cpus, reservedMemMb: hello.reserved.memMb }
            : {}),
        },
      });
    });
    nodeId = created.id;
  } else {
    throw new AppError('UNAUTHORIZED', 'hello needs a join token or a node id and credential');
  }

  const kills = await adoptReportedTasks(s, nodeId, hello.tasks);
  await recordEvents(
    s,
    [
      {
        type: credential ? 'node_joined' : 'node_connected',
        subject: nodeId,
        payload: { hostname: hello.hostname },
      },
    ],
    'node',
  );
  return { nodeId, ...(credential ? { credential } : {}), kills };
}

/**
 * After a (re)connect the agent's task list is the truth about what runs there: known tasks take
 * the reported state, tasks control no longer wants are killed, and tasks control expected but the
 * agent does not have are GONE (the reconciler replaces them).
 */
async function adoptReportedTasks(
  s: Pick<Services, 'db' | 'bus' | 'now'>,
  nodeId: string,
  reports: TaskReport[],
): Promise<ControlMessage[]> {
  const known = await s.db.prisma.task.findMany({ where: { nodeId }, include: { app: true } });
  const byId = new Map(known.map((t) => [t.id, t]));
  const kills: ControlMessage[] = [];
  const updates: Array<{ nodeId: string; report: TaskReport }> = [];
  for (const r of reports) {
    const task = byId.get(r.taskId);
    const unwanted =
      !task || task.app?.deleting || task.killRequestedAt !== null || isTerminal(task.state as TaskState);
    if (unwanted && !isTerminal(r.state)) {
      kills.push({ type: 'killTask', taskId: r.taskId, gracePeriodSeconds: 3 });
    }
    if (task && task.state !== r.state) updates.push({ nodeId, report: r });
  }
  const reported = new Set(reports.map((r) => r.taskId));
  const now = s.now().toISOString();
  for (const t of known) {
    if (!reported.has(t.id) && !isTerminal(t.state as TaskState)) {
      updates.push({
        nodeId,
        report: { taskId: t.id, state: 'TASK_GONE', message: 'the agent no longer has this task', at: now },
      });
    }
  }
  await applyTaskReports(s, updates);
  return kills;
}

/**
 * Writes a batch of task status reports in one statement, then applies Marathon's launch back-off
 * to apps whose tasks ended without being asked to. The hot path: called by the status batcher.
 */
export async function applyTaskReports(
  s: Pick<Services, 'db' | 'bus' | 'now'>,
  batch: Array<{ nodeId: string; report: TaskReport }>,
): Promise<void> {
  if (batch.length === 0) return;
  // Last report per task wins within a batch.
  const last = new Map<string, { nodeId: string; report: TaskReport }>();
  for (const b of batch) last.set(b.report.taskId, b);
  const items = [...last.values()];
  const { rows } = await s.db.pool.query<{
    id: string;
    /** null for a job run's task: its run follows it (jobs.ts), Marathon's events are about apps. */
    app_id: string | null;
    state: string;
    prev_state: string;
    kill_requested_at: Date | null;
    message: string | null;
    node_id: string;
    host: string;
    ports: Array<{ hostPort: number }>;
    app_version: string;
  }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::int[], $8::timestamptz[])
         AS i(id, node_id, state, runtime_id, ports, message, exit_code, at)
     ), prev AS (
       SELECT t.id, t.state FROM tasks t JOIN input i ON i.id = t.id AND i.node_id = t.node_id FOR UPDATE OF t
     )
     UPDATE tasks t SET
       state = i.state,
       runtime_id = COALESCE(i.runtime_id, t.runtime_id),
       ports = CASE WHEN i.ports IS NULL OR i.ports = '[]'::jsonb THEN t.ports ELSE i.ports END,
       message = COALESCE(i.message, t.message),
       exit_code = COALESCE(i.exit_code, t.exit_code),
       started_at = CASE WHEN i.state = 'TASK_RUNNING' AND t.started_at IS NULL THEN i.at ELSE t.started_at END,
       updated_at = i.at
     FROM input i, prev p
     WHERE t.id = i.id AND p.id = t.id
       -- a terminal state is final: a late report never revives a task
       AND t.state NOT IN ('TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE')
       AND t.state IS DISTINCT FROM i.state
     RETURNING t.id, t.app_id, t.state, p.state AS prev_state, t.kill_requested_at, t.message, t.node_id, t.host, t.ports, t.app_version`,
    [
      items.map((b) => b.report.taskId),
      items.map((b) => b.nodeId),
      items.map((b) => b.report.state),
      items.map((b) => b.report.runtimeId ?? null),
      items.map((b) => (b.report.ports ? JSON.stringify(b.report.ports) : null)),
      items.map((b) => b.report.message ?? null),
      items.map((b) => b.report.exitCode ?? null),
      items.map((b) => b.report.at),
    ],
  );
  // Marathon's two views of a change: the Mesos task status and the instance condition.
  const events: EventInput[] = rows.flatMap((r) =>
    r.app_id === null
      ? []
      : [
          {
            type: 'status_update_event',
            subject: r.app_id,
            payload: {
              slaveId: r.node_id,
              taskId: r.id,
              taskStatus: r.state,
              message: r.message ?? '',
              appId: r.app_id,
              host: r.host,
              ports: r.ports.map((p) => p.hostPort),
              version: r.app_version,
            },
          },
          {
            type: 'instance_changed_event',
            subject: r.app_id,
            payload: {
              instanceId: r.id,
              condition: conditionOf(r.state),
              runSpecId: r.app_id,
              agentId: r.node_id,
              host: r.host,
              runSpecVersion: r.app_version,
            },
          },
        ],
  );
  // Tasks that ended without a kill order are failures: advance the app's launch delay.
  const failedApps = new Map<string, { taskId: string; state: string; message: string | null }>();
  for (const r of rows) {
    if (
      r.app_id !== null &&
      isTerminal(r.state as TaskState) &&
      r.kill_requested_at === null &&
      r.state !== 'TASK_FINISHED'
    ) {
      failedApps.set(r.app_id, { taskId: r.id, state: r.state, message: r.message });
    }
  }
  const now = s.now();
  for (const [appId, failure] of failedApps) {
    const app = await s.db.prisma.app.findUnique({ where: { id: appId } });
    if (!app) continue;
    const def = app.definition as unknown as AppDefinition;
    const failures = app.backoffFailures + 1;
    const delay = launchDelaySeconds(failures, def);
    await s.db.prisma.app.update({
      where: { id: appId },
      data: {
        backoffFailures: failures,
        delayUntil: new Date(now.getTime() + delay * 1000),
        lastFailure: { ...failure, timestamp: now.toISOString(), version: app.version },
      },
    });
  }
  await recordEvents(s, events, 'task');
}

export interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  lastSuccess: string | null;
  lastFailure: string | null;
  lastFailureCause: string | null;
  taskId: string;
}

/**
 * Writes health and readiness changes reported by agents (batched: one read, one UPDATE … FROM
 * unnest) and emits Marathon's health_status_changed_event / unhealthy_task_kill_event.
 */
export async function applyHealthReports(
  s: Pick<Services, 'db' | 'bus'>,
  health: Array<{ nodeId: string; msg: TaskHealth }>,
  readiness: Array<{ nodeId: string; msg: TaskReadiness }>,
): Promise<void> {
  const ids = [...new Set([...health.map((h) => h.msg.taskId), ...readiness.map((r) => r.msg.taskId)])];
  if (ids.length === 0) return;
  const { rows } = await s.db.pool.query<{
    id: string;
    app_id: string;
    node_id: string;
    app_version: string;
    health: HealthResult[] | null;
    checks: number;
  }>(
    `SELECT t.id, t.app_id, t.node_id, t.app_version, t.health,
            COALESCE(jsonb_array_length(v.definition->'healthChecks'), 0) AS checks
     FROM tasks t LEFT JOIN app_versions v ON v.app_id = t.app_id AND v.version = t.app_version
     WHERE t.id = ANY($1::text[])`,
    [ids],
  );
  const byId = new Map(
    rows.map((r) => [
      r.id,
      {
        ...r,
        health: r.health ?? [],
        ready: undefined as boolean | undefined,
        readiness: undefined as unknown,
      },
    ]),
  );
  const events: EventInput[] = [];
  for (const { nodeId, msg } of health) {
    const t = byId.get(msg.taskId);
    if (!t || t.node_id !== nodeId) continue;
    const prev = t.health[msg.checkIndex];
    t.health[msg.checkIndex] = {
      alive: msg.healthy,
      consecutiveFailures: msg.consecutiveFailures,
      lastSuccess: msg.healthy ? msg.at : (prev?.lastSuccess ?? null),
      lastFailure: msg.healthy ? (prev?.lastFailure ?? null) : msg.at,
      lastFailureCause: msg.healthy ? (prev?.lastFailureCause ?? null) : (msg.message ?? null),
      taskId: msg.taskId,
    };
    // Agents repeat the last known health after a reconnect: only a change is an event.
    if (prev?.alive !== msg.healthy)
      events.push({
        type: 'health_status_changed_event',
        subject: t.app_id,
        payload: {
          appId: t.app_id,
          taskId: t.id,
          instanceId: t.id,
          version: t.app_version,
          alive: msg.healthy,
        },
      });
    if (msg.killing) {
      events.push({
        type: 'unhealthy_task_kill_event',
        subject: t.app_id,
        payload: {
          appId: t.app_id,
          taskId: t.id,
          version: t.app_version,
          reason: msg.message ?? 'failed health checks',
          host: '',
        },
      });
    }
  }
  for (const { nodeId, msg } of readiness) {
    const t = byId.get(msg.taskId);
    if (!t || t.node_id !== nodeId) continue;
    t.ready = msg.ready;
    t.readiness = msg.results.map((r) => ({ ...r, taskId: msg.taskId }));
  }
  const items = [...byId.values()];
  await s.db.pool.query(
    `UPDATE tasks t SET
       health = CASE WHEN i.health = '[]'::jsonb THEN t.health ELSE i.health END,
       healthy = CASE WHEN i.health = '[]'::jsonb THEN t.healthy ELSE i.healthy END,
       ready = COALESCE(i.ready, t.ready),
       readiness = COALESCE(i.readiness, t.readiness)
     FROM unnest($1::text[], $2::jsonb[], $3::boolean[], $4::boolean[], $5::jsonb[]) AS i(id, health, healthy, ready, readiness)
     WHERE t.id = i.id`,
    [
      items.map((t) => t.id),
      items.map((t) => JSON.stringify(t.health)),
      // Healthy only when every check the task's version defines has said so.
      items.map(
        (t) =>
          t.checks > 0 &&
          t.health.filter(Boolean).length >= t.checks &&
          t.health.every((h) => h?.alive === true),
      ),
      items.map((t) => t.ready ?? null),
      items.map((t) => (t.readiness === undefined ? null : JSON.stringify(t.readiness))),
    ],
  );
  await recordEvents(s, events, 'task');
}

/** Marathon's instance condition for a Mesos task state: TASK_RUNNING → Running, … */
function conditionOf(state: string): string {
  const words = state.replace(/^TASK_/, '').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Collects task status, health and readiness reports and heartbeats, and writes them in batches. */
export class AgentWriteBatcher {
  private reports: Array<{ nodeId: string; report: TaskReport }> = [];
  private healthReports: Array<{ nodeId: string; msg: TaskHealth }> = [];
  private readinessReports: Array<{ nodeId: string; msg: TaskReadiness }> = [];
  private heartbeats = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly s: Pick<Services, 'db' | 'bus' | 'now' | 'log' | 'poke'>,
    private readonly delayMs = 50,
  ) {}

  status(nodeId: string, report: TaskReport): void {
    this.reports.push({ nodeId, report });
    this.schedule();
  }

  health(nodeId: string, msg: TaskHealth): void {
    this.healthReports.push({ nodeId, msg });
    this.schedule();
  }

  readiness(nodeId: string, msg: TaskReadiness): void {
    this.readinessReports.push({ nodeId, msg });
    this.schedule();
  }

  heartbeat(nodeId: string, at: Date): void {
    this.heartbeats.set(nodeId, at);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
  }

  /** Writes what is queued; resolves when everything queued before the call is stored. */
  flush(): Promise<void> {
    const reports = this.reports;
    const heartbeats = this.heartbeats;
    const health = this.healthReports;
    const readiness = this.readinessReports;
    this.reports = [];
    this.heartbeats = new Map();
    this.healthReports = [];
    this.readinessReports = [];
    this.flushing = this.flushing.then(async () => {
      try {
        if (heartbeats.size > 0) {
          await this.s.db.pool.query(
            `UPDATE nodes n SET last_heartbeat_at = h.at, connected = true
             FROM unnest($1::uuid[], $2::timestamptz[]) AS h(id, at) WHERE n.id = h.id`,
            [[...heartbeats.keys()], [...heartbeats.values()]],
          );
        }
        const own = await dropForeignReports(this.s, { reports, health, readiness });
        if (own.reports.length > 0) await applyTaskReports(this.s, own.reports);
        if (own.health.length > 0 || own.readiness.length > 0)
          await applyHealthReports(this.s, own.health, own.readiness);
        if (reports.length > 0 || health.length > 0 || readiness.length > 0) this.s.poke();
      } catch (err) {
        this.s.log.error({ err }, 'writing agent reports failed');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/**
 * An agent speaks only for its own node: reports about tasks that control placed on another node
 * (a rogue or confused client with one node's credential claiming another node's tasks) are
 * dropped and logged. One read for the whole batch; the UPDATEs also match the task's node, so a
 * report racing a task's move is not applied either.
 */
export async function dropForeignReports(
  s: Pick<Services, 'db' | 'log'>,
  batch: {
    reports: Array<{ nodeId: string; report: TaskReport }>;
    health: Array<{ nodeId: string; msg: TaskHealth }>;
    readiness: Array<{ nodeId: string; msg: TaskReadiness }>;
  },
): Promise<typeof batch> {
  const claims = [
    ...batch.reports.map((r) => ({ nodeId: r.nodeId, taskId: r.report.taskId })),
    ...batch.health.map((h) => ({ nodeId: h.nodeId, taskId: h.msg.taskId })),
    ...batch.readiness.map((r) => ({ nodeId: r.nodeId, taskId: r.msg.taskId })),
  ];
  if (claims.length === 0) return batch;
  const { rows } = await s.db.pool.query<{ id: string; claimed_by: string; node_id: string }>(
    `SELECT DISTINCT t.id, c.node_id::text AS claimed_by, t.node_id::text AS node_id
     FROM unnest($1::text[], $2::uuid[]) AS c(id, node_id) JOIN tasks t ON t.id = c.id
     WHERE t.node_id IS DISTINCT FROM c.node_id`,
    [claims.map((c) => c.taskId), claims.map((c) => c.nodeId)],
  );
  if (rows.length === 0) return batch;
  const foreign = new Set(rows.map((r) => `${r.claimed_by} ${r.id}`));
  for (const r of rows) {
    s.log.warn(
      { nodeId: r.claimed_by, taskId: r.id, taskNodeId: r.node_id },
      'agent reported a task of another node; report dropped',
    );
  }
  const mine = (nodeId: string, taskId: string) => !foreign.has(`${nodeId} ${taskId}`);
  return {
    reports: batch.reports.filter((r) => mine(r.nodeId, r.report.taskId)),
    health: batch.health.filter((h) => mine(h.nodeId, h.msg.taskId)),
    readiness: batch.readiness.filter((r) => mine(r.nodeId, r.msg.taskId)),
  };
}

/** The agent's socket closed: no new placements there. Its tasks are judged by heartbeats. */
export async function markNodeDisconnected(s: Pick<Services, 'db' | 'bus'>, nodeId: string): Promise<void> {
  await s.db.prisma.node.updateMany({ where: { id: nodeId }, data: { connected: false } });
  await recordEvents(s, [{ type: 'node_disconnected', subject: nodeId }], 'node');
}

/**
 * Nodes whose agents stopped answering for longer than the heartbeat timeout: UNREACHABLE, and
 * their tasks TASK_UNREACHABLE (Mesos's name); the reconciler replaces them after the app's
 * unreachableStrategy.inactiveAfterSeconds. The next hello makes a node ACTIVE again. One
 * statement per table whatever the number of nodes: a rack lost at once is one write, not one per
 * node ahead of the pass that replaces their tasks.
 */
export async function markNodesUnreachable(
  s: Pick<Services, 'db' | 'bus' | 'now'>,
  nodeIds: string[],
): Promise<void> {
  if (nodeIds.length === 0) return;
  const now = s.now();
  await s.db.pool.query(
    `UPDATE nodes SET connected = false, status = 'UNREACHABLE' WHERE id = ANY($1::uuid[])`,
    [nodeIds],
  );
  const { rows } = await s.db.pool.query<{ id: string; app_id: string | null }>(
    `UPDATE tasks SET state = 'TASK_UNREACHABLE', updated_at = $2, message = 'the node stopped answering'
     WHERE node_id = ANY($1::uuid[])
       AND state NOT IN ('TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE', 'TASK_UNREACHABLE')
     RETURNING id, app_id`,
    [nodeIds, now],
  );
  await recordEvents(
    s,
    [
      ...nodeIds.map((id) => ({ type: 'node_unreachable', subject: id })),
      ...rows.flatMap((r) =>
        r.app_id === null
          ? []
          : [
              {
                type: 'status_update_event',
                subject: r.app_id,
                payload: {
                  taskId: r.id,
                  appId: r.app_id,
                  taskStatus: 'TASK_UNREACHABLE',
                  message: 'the node stopped answering',
                },
              },
            ],
      ),
    ],
    'node',
  );
}
