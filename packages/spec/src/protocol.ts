import { z } from 'zod';
import { runtimeKindSchema, taskPortSchema, taskSpecSchema, taskStateSchema } from './task';

/**
 * The agent protocol: JSON messages over one WebSocket at `/agent/v1`, opened by the agent.
 * Both sides parse every message with these schemas; a message that does not parse is answered
 * with an `error` message and logged, never a crash.
 *
 * Handshake: the agent's first message is `hello`, carrying either a join token (first join) or
 * the node id and credential issued at that join. Control answers `welcome` (with a credential on
 * first join) or `error` and closes.
 */
export const PROTOCOL_VERSION = 1;

export const nodeResourcesSchema = z.object({
  cpus: z.number().min(0),
  memMb: z.number().min(0),
  diskMb: z.number().min(0),
  /** Inclusive host-port range tasks may be given. */
  portRange: z.tuple([z.number().int(), z.number().int()]),
});
export type NodeResources = z.infer<typeof nodeResourcesSchema>;

/** A task as the agent sees it: what it reports in `hello`, heartbeats and status updates. */
export const taskReportSchema = z.object({
  taskId: z.string().min(1),
  state: taskStateSchema,
  /** Container id (docker) or process id (exec). */
  runtimeId: z.string().optional(),
  ports: z.array(taskPortSchema).optional(),
  message: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** ISO time the agent observed this state. */
  at: z.string(),
});
export type TaskReport = z.infer<typeof taskReportSchema>;

export const helloSchema = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int(),
  agentVersion: z.string(),
  joinToken: z.string().optional(),
  nodeId: z.string().optional(),
  credential: z.string().optional(),
  hostname: z.string().min(1),
  address: z.string().min(1),
  runtime: runtimeKindSchema,
  resources: nodeResourcesSchema,
  attributes: z.record(z.string(), z.string()).default({}),
  /** Kept for the host itself (ATOLL_RESERVED_CPUS / ATOLL_RESERVED_MEM_MB); never offered. */
  reserved: z.object({ cpus: z.number().min(0), memMb: z.number().min(0) }).optional(),
  tasks: z.array(taskReportSchema),
});
export type Hello = z.infer<typeof helloSchema>;

export const heartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  at: z.string(),
});

export const taskStatusSchema = z.object({
  type: z.literal('taskStatus'),
  report: taskReportSchema,
});

/**
 * A change in a task's health (sent when `healthy` flips or the first result arrives). With
 * `killing`, the agent has started killing the task for reaching maxConsecutiveFailures
 * (Marathon's unhealthy_task_kill_event); a TASK_KILLING/TASK_KILLED status follows.
 */
export const taskHealthSchema = z.object({
  type: z.literal('taskHealth'),
  taskId: z.string().min(1),
  /** Index into the task's healthChecks. */
  checkIndex: z.number().int().min(0).default(0),
  healthy: z.boolean(),
  consecutiveFailures: z.number().int().min(0),
  message: z.string().optional(),
  killing: z.boolean().default(false),
  at: z.string(),
});
export type TaskHealth = z.infer<typeof taskHealthSchema>;

/** A change in a task's readiness (all its readiness checks pass, or not). */
export const taskReadinessSchema = z.object({
  type: z.literal('taskReadiness'),
  taskId: z.string().min(1),
  ready: z.boolean(),
  /** Last result per check name, as Marathon's readinessCheckResults. */
  results: z
    .array(
      z.object({
        name: z.string(),
        ready: z.boolean(),
        lastResponse: z.object({ status: z.number().int(), body: z.string().optional() }).optional(),
      }),
    )
    .default([]),
  at: z.string(),
});
export type TaskReadiness = z.infer<typeof taskReadinessSchema>;

// ---- metrics (agent → control, every ATOLL_METRICS_INTERVAL_SECONDS) ---------------------------
// Rates are per second over the last interval, computed by the agent from /proc and cgroup counters.

export const nodeMetricsSchema = z.object({
  cpuUsedCores: z.number().min(0),
  cpuCores: z.number().min(0),
  memUsedBytes: z.number().min(0),
  memTotalBytes: z.number().min(0),
  diskUsedBytes: z.number().min(0),
  diskTotalBytes: z.number().min(0),
  netRxBytesPerSec: z.number().min(0),
  netTxBytesPerSec: z.number().min(0),
  /** Counters since boot, for Prometheus. */
  netRxBytesTotal: z.number().min(0),
  netTxBytesTotal: z.number().min(0),
  cpuSecondsTotal: z.number().min(0),
  load1: z.number().min(0),
  load5: z.number().min(0),
  load15: z.number().min(0),
});
export type NodeMetrics = z.infer<typeof nodeMetricsSchema>;

export const taskMetricsSchema = z.object({
  taskId: z.string().min(1),
  cpuUsedCores: z.number().min(0),
  cpuSecondsTotal: z.number().min(0),
  memUsedBytes: z.number().min(0),
  /** null: the task has no memory limit. */
  memLimitBytes: z.number().min(0).nullable(),
  netRxBytesPerSec: z.number().min(0),
  netTxBytesPerSec: z.number().min(0),
  netRxBytesTotal: z.number().min(0),
  netTxBytesTotal: z.number().min(0),
  restarts: z.number().int().min(0),
});
export type TaskMetrics = z.infer<typeof taskMetricsSchema>;

export const metricsMessageSchema = z.object({
  type: z.literal('metrics'),
  at: z.string(),
  intervalMs: z.number().int().positive(),
  node: nodeMetricsSchema,
  tasks: z.array(taskMetricsSchema),
});
export type MetricsMessage = z.infer<typeof metricsMessageSchema>;

// ---- logs: control asks for a task's output, the agent streams it --------------------------------

export const logStreamSchema = z.enum(['stdout', 'stderr']);

export const logDataSchema = z.object({
  type: z.literal('logData'),
  streamId: z.string().min(1),
  stream: logStreamSchema,
  /** UTF-8 text, possibly several lines; may end mid-line. */
  data: z.string(),
});

/** The stream ended: not following and all sent, the task's container is gone, or an error. */
export const logEndSchema = z.object({
  type: z.literal('logEnd'),
  streamId: z.string().min(1),
  error: z.string().optional(),
});

// ---- exec: a command (or a shell with a TTY) inside a running task ------------------------------

export const execStartedSchema = z.object({
  type: z.literal('execStarted'),
  sessionId: z.string().min(1),
});

export const execOutputSchema = z.object({
  type: z.literal('execOutput'),
  sessionId: z.string().min(1),
  /** With a TTY there is only stdout. */
  stream: logStreamSchema,
  /** Base64 bytes. */
  data: z.string(),
});

export const execExitSchema = z.object({
  type: z.literal('execExit'),
  sessionId: z.string().min(1),
  exitCode: z.number().int().nullable(),
  error: z.string().optional(),
});

// ---- VIPs: layer-4 load balancing in every agent ---------------------------------------------

export const vipProtocolSchema = z.enum(['tcp', 'udp']);
export type VipProtocol = z.infer<typeof vipProtocolSchema>;

/** One endpoint of a VIP: a running (and, with health checks, healthy) task's host and host port. */
export const vipBackendSchema = z.object({
  taskId: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type VipBackend = z.infer<typeof vipBackendSchema>;

/**
 * One VIP address (`ip:port/protocol`) and where its connections go. `name` is the VIP's name from
 * a `VIP_n: "/name:port"` label (null for an `ip:port` label); apps sharing a name share the VIP.
 */
export const vipEntrySchema = z.object({
  name: z.string().nullable(),
  ip: z.ipv4(),
  port: z.number().int().min(1).max(65535),
  protocol: vipProtocolSchema,
  appIds: z.array(z.string()),
  backends: z.array(vipBackendSchema),
});
export type VipEntry = z.infer<typeof vipEntrySchema>;

/** Per-backend counters of one VIP on one node, since the agent started balancing it. */
export const vipBackendStatsSchema = z.object({
  taskId: z.string(),
  host: z.string(),
  port: z.number().int(),
  activeConnections: z.number().int().min(0),
  totalConnections: z.number().int().min(0),
  /** Connections to this backend that failed (connect refused, timed out, reset before connecting). */
  errors: z.number().int().min(0),
});
export type VipBackendStats = z.infer<typeof vipBackendStatsSchema>;

/**
 * The agent's VIP counters (every few seconds while it balances VIPs). `mode` says how: 'userspace',
 * 'userspace (ipvs available, not used)', or 'off: <why>' (no permission to add addresses, disabled).
 */
export const vipStatsMessageSchema = z.object({
  type: z.literal('vipStats'),
  at: z.string(),
  mode: z.string(),
  vips: z.array(
    z.object({
      ip: z.string(),
      port: z.number().int(),
      protocol: vipProtocolSchema,
      /** Connections that no backend accepted (every backend tried failed, or none). */
      failed: z.number().int().min(0),
      backends: z.array(vipBackendStatsSchema),
    }),
  ),
});
export type VipStatsMessage = z.infer<typeof vipStatsMessageSchema>;

export const agentMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  heartbeatSchema,
  taskStatusSchema,
  taskHealthSchema,
  taskReadinessSchema,
  metricsMessageSchema,
  logDataSchema,
  logEndSchema,
  execStartedSchema,
  execOutputSchema,
  execExitSchema,
  vipStatsMessageSchema,
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int(),
  nodeId: z.string(),
  /** Only on first join; the agent stores it and presents it on every reconnect. */
  credential: z.string().optional(),
  heartbeatIntervalMs: z.number().int().positive(),
});

export const launchTaskSchema = z.object({
  type: z.literal('launchTask'),
  task: taskSpecSchema,
});

export const killTaskSchema = z.object({
  type: z.literal('killTask'),
  taskId: z.string(),
  gracePeriodSeconds: z.number().min(0).default(3),
});

/**
 * The app is gone (deleted or uninstalled): remove the containers or sandboxes of its ended tasks
 * now, rather than keeping them for their logs until garbage collection.
 */
export const forgetAppSchema = z.object({
  type: z.literal('forgetApp'),
  appId: z.string(),
});

/**
 * The cluster's DNS names (see packages/dns): pushed to every agent when they change, so the
 * agent's DNS server answers its containers from it.
 */
export const dnsViewSchema = z.object({
  ttl: z.number().int().nonnegative(),
  suffix: z.string(),
  a: z.record(z.string(), z.array(z.string())),
  srv: z.record(z.string(), z.array(z.object({ target: z.string(), port: z.number().int() }))),
});

export const dnsViewMessageSchema = z.object({
  type: z.literal('dnsView'),
  view: dnsViewSchema,
});

/** Every VIP of the cluster with its current backends: pushed to every agent when it changes. */
export const vipViewMessageSchema = z.object({
  type: z.literal('vipView'),
  vips: z.array(vipEntrySchema),
});
export type VipViewMessage = z.infer<typeof vipViewMessageSchema>;

export const errorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

/** Open a log stream of a task (live or ended, until its container is removed). */
export const logOpenSchema = z.object({
  type: z.literal('logOpen'),
  streamId: z.string().min(1),
  taskId: z.string().min(1),
  /** Last N lines; null for the whole log. */
  tail: z.number().int().min(0).nullable(),
  follow: z.boolean(),
});

export const logCloseSchema = z.object({
  type: z.literal('logClose'),
  streamId: z.string().min(1),
});

export const execOpenSchema = z.object({
  type: z.literal('execOpen'),
  sessionId: z.string().min(1),
  taskId: z.string().min(1),
  command: z.array(z.string()).min(1),
  tty: z.boolean(),
  cols: z.number().int().positive().optional(),
  rows: z.number().int().positive().optional(),
});

export const execInputSchema = z.object({
  type: z.literal('execInput'),
  sessionId: z.string().min(1),
  /** Base64 bytes for the command's stdin. */
  data: z.string(),
});

export const execResizeSchema = z.object({
  type: z.literal('execResize'),
  sessionId: z.string().min(1),
  cols: z.number().int().positive(),
  rows: z.number().int().positive(),
});

/** Close stdin (`eof`) or end the session (kill the exec'd process where the runtime can). */
export const execCloseSchema = z.object({
  type: z.literal('execClose'),
  sessionId: z.string().min(1),
  eofOnly: z.boolean().default(false),
});

export const controlMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  launchTaskSchema,
  killTaskSchema,
  forgetAppSchema,
  dnsViewMessageSchema,
  vipViewMessageSchema,
  errorMessageSchema,
  logOpenSchema,
  logCloseSchema,
  execOpenSchema,
  execInputSchema,
  execResizeSchema,
  execCloseSchema,
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

export type ParsedMessage<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: string | Buffer): ParsedMessage<T> {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, error: 'message is not valid JSON' };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    return {
      ok: false,
      error: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, message: r.data };
}

export function parseAgentMessage(raw: string | Buffer): ParsedMessage<AgentMessage> {
  return parseWith(agentMessageSchema, raw);
}

export function parseControlMessage(raw: string | Buffer): ParsedMessage<ControlMessage> {
  return parseWith(controlMessageSchema, raw);
}
