import { z } from 'zod';

/** Task states with Mesos's names, as Marathon reports them in `/v2/tasks`. */
export const taskStates = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLING',
  'TASK_KILLED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
] as const;
export const taskStateSchema = z.enum(taskStates);
export type TaskState = z.infer<typeof taskStateSchema>;

export const terminalTaskStates: ReadonlySet<TaskState> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_GONE',
]);

export function isTerminal(state: TaskState): boolean {
  return terminalTaskStates.has(state);
}

/** States in which a task counts toward an app's instances. */
export function isActive(state: TaskState): boolean {
  return !isTerminal(state);
}

export const runtimeKinds = ['docker', 'exec'] as const;
export const runtimeKindSchema = z.enum(runtimeKinds);
export type RuntimeKind = z.infer<typeof runtimeKindSchema>;

export const taskPortSchema = z.object({
  hostPort: z.number().int().min(0).max(65535),
  containerPort: z.number().int().min(0).max(65535).optional(),
  protocol: z.string(),
  name: z.string().optional(),
});
export type TaskPort = z.infer<typeof taskPortSchema>;

/**
 * A health check as the agent runs it, next to the task. Control resolves Marathon's portIndex /
 * port into `port`: the host port for HTTP/HTTPS/TCP (and MESOS_*: a bridged task's port is
 * published on the host), so the agent probes 127.0.0.1:port. COMMAND runs `command` inside the
 * task (docker exec, or `sh -c` with the task's env for exec tasks); exit 0 is healthy.
 */
export const healthCheckSpecSchema = z.object({
  protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP']),
  path: z.string().default('/'),
  port: z.number().int().min(0).max(65535).optional(),
  command: z.string().optional(),
  gracePeriodSeconds: z.number().min(0),
  intervalSeconds: z.number().min(0),
  timeoutSeconds: z.number().min(0),
  /** 0: never kill for failing checks (Marathon). */
  maxConsecutiveFailures: z.number().int().min(0),
  delaySeconds: z.number().min(0).default(0),
  ignoreHttp1xx: z.boolean().default(false),
});
export type HealthCheckSpec = z.infer<typeof healthCheckSpecSchema>;

/** A readiness check (HTTP/HTTPS): gates deployments, never kills. `port` resolved as above. */
export const readinessCheckSpecSchema = z.object({
  name: z.string(),
  protocol: z.enum(['HTTP', 'HTTPS']),
  path: z.string(),
  port: z.number().int().min(0).max(65535),
  intervalSeconds: z.number().min(0),
  timeoutSeconds: z.number().min(0),
  httpStatusCodesForReady: z.array(z.number().int()),
});
export type ReadinessCheckSpec = z.infer<typeof readinessCheckSpecSchema>;

/**
 * One container of a pod instance (Marathon pods): all containers of an instance run on one node,
 * share one network namespace (the ports are published once, from the instance) and the pod's
 * volumes, and live and die together.
 */
export const podContainerSpecSchema = z.object({
  name: z.string().min(1),
  /** Docker image; absent: the pod's default image is not applicable, so an image is required under Docker. */
  image: z.string().optional(),
  /** Shell command (`sh -c`). */
  cmd: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()),
  cpus: z.number().min(0),
  mem: z.number().min(0),
  /** Volume mounts: pod volume name → path in the container (relative paths are under /mnt/mesos/sandbox). */
  volumeMounts: z
    .array(z.object({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().default(false) }))
    .default([]),
});
export type PodContainerSpec = z.infer<typeof podContainerSpecSchema>;

export const podVolumeSpecSchema = z.object({
  name: z.string().min(1),
  /** A host path to bind; absent: an ephemeral volume that lives as long as the instance. */
  host: z.string().optional(),
});
export type PodVolumeSpec = z.infer<typeof podVolumeSpecSchema>;

/**
 * A mount of an app's task (Marathon's `container.volumes`): a host path, or a named volume local
 * to the node that outlives the task (a persistent volume; removed with its app).
 */
export const mountSpecSchema = z.object({
  target: z.string().min(1),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('host'), path: z.string().min(1) }),
    z.object({ type: z.literal('volume'), name: z.string().min(1) }),
  ]),
  readOnly: z.boolean().default(false),
});
export type MountSpec = z.infer<typeof mountSpecSchema>;

/** What an agent needs to start one task; built by control from the app version and the placement. */
export const taskSpecSchema = z.object({
  taskId: z.string().min(1),
  appId: z.string().min(1),
  appVersion: z.string().min(1),
  /** Docker image; absent for exec tasks. */
  image: z.string().optional(),
  /** Shell command (`sh -c`), Marathon's `cmd`. */
  cmd: z.string().optional(),
  /** Marathon's `args`: the command vector (appended to the image's entrypoint under Docker). */
  args: z.array(z.string()).optional(),
  user: z.string().optional(),
  env: z.record(z.string(), z.string()),
  cpus: z.number().min(0),
  mem: z.number().min(0),
  disk: z.number().min(0),
  /** `bridge`: ports are published from containerPort to hostPort; `host`: the task binds hostPort itself. */
  network: z.enum(['host', 'bridge']),
  ports: z.array(taskPortSchema),
  labels: z.record(z.string(), z.string()),
  forcePullImage: z.boolean().default(false),
  privileged: z.boolean().default(false),
  killGracePeriodSeconds: z.number().min(0).default(3),
  healthChecks: z.array(healthCheckSpecSchema).default([]),
  readinessChecks: z.array(readinessCheckSpecSchema).default([]),
  /** Set for a pod instance: its containers (then `image`/`cmd`/`args` are unused) and volumes. */
  containers: z.array(podContainerSpecSchema).optional(),
  volumes: z.array(podVolumeSpecSchema).optional(),
  /** An app task's mounts (host paths and persistent volumes). */
  mounts: z.array(mountSpecSchema).optional(),
  /** Marathon's `container.docker.parameters` (docker run options, e.g. cap-add). */
  dockerParameters: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
  /**
   * File secrets (`container.volumes: [{containerPath, secret}]`): the agent writes each to a 0400
   * file of its own and binds it read-only at `target`. `data` is the value in base64. Like the
   * secret values in `env`, only the launch message of this task carries them.
   */
  secretFiles: z.array(z.object({ target: z.string().min(1), data: z.string() })).optional(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

/** Labels every Atoll container carries, so an agent can find its own containers again. */
export const containerLabels = {
  taskId: 'io.atoll.task-id',
  appId: 'io.atoll.app-id',
  nodeId: 'io.atoll.node-id',
  appVersion: 'io.atoll.app-version',
} as const;
