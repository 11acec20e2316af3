import { containerLabels, type TaskPort, type TaskSpec } from '@atoll/spec';
import type Docker from 'dockerode';
import { parseTaskChecks, taskChecksOf } from '../health/checks';
import { exitOutcome } from './exit';
import type { ObservedTask } from './types';

/** Docker refuses memory limits below 6 MiB. */
export const DOCKER_MIN_MEMORY_MB = 6;

/** Every label under this prefix is the agent's; task labels may not set them. */
export const RESERVED_LABEL_PREFIX = 'io.atoll.';

/**
 * The task's ports as launched (JSON), so ports, their names and protocols can be reported again
 * after an agent restart, also under host networking where Docker records no port map.
 */
export const PORTS_LABEL = 'io.atoll.ports';

/**
 * The task's health and readiness checks and kill grace period (JSON), so a restarted agent checks
 * re-adopted containers again. Only on tasks that have checks.
 */
export const CHECKS_LABEL = 'io.atoll.checks';

const MiB = 1024 * 1024;

/** `atoll-<taskId>` with characters Docker rejects in names replaced by `_`. */
export function containerName(taskId: string): string {
  return `atoll-${taskId.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** Marathon writes `tcp`, `udp`, `udp,tcp`; anything unknown is rejected rather than guessed. */
export function portProtocols(port: TaskPort): PortProtocol[] {
  const out: PortProtocol[] = [];
  for (const raw of port.protocol.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new Error(`unsupported port protocol "${raw}"`);
    if (!out.includes(p)) out.push(p);
  }
  return out.length > 0 ? out : ['tcp'];
}

function containerPortOf(port: TaskPort): number {
  return port.containerPort ?? port.hostPort;
}

/**
 * The command, the way Mesos's Docker containerizer runs a Marathon app:
 * - `cmd` (shell form): the image's entrypoint is replaced by `/bin/sh -c <cmd>`;
 * - `args`: they become the command, appended to the image's own entrypoint;
 * - neither: the image's entrypoint and command as built.
 */
export function dockerCommand(
  spec: Pick<TaskSpec, 'cmd' | 'args'>,
): Pick<Docker.ContainerCreateOptions, 'Cmd' | 'Entrypoint'> {
  if (spec.cmd !== undefined && spec.cmd !== '') return { Entrypoint: ['/bin/sh', '-c'], Cmd: [spec.cmd] };
  if (spec.args !== undefined && spec.args.length > 0) return { Cmd: [...spec.args] };
  return {};
}

/** Task labels plus the agent's own; a task label cannot impersonate an `io.atoll.` label. */
export function dockerLabels(spec: TaskSpec, nodeId: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.labels)) {
    if (!k.startsWith(RESERVED_LABEL_PREFIX)) labels[k] = v;
  }
  labels[containerLabels.taskId] = spec.taskId;
  labels[containerLabels.appId] = spec.appId;
  labels[containerLabels.nodeId] = nodeId;
  labels[containerLabels.appVersion] = spec.appVersion;
  labels[PORTS_LABEL] = JSON.stringify(spec.ports);
  const checks = taskChecksOf(spec);
  if (checks) labels[CHECKS_LABEL] = JSON.stringify(checks);
  return labels;
}

/** `docker create` options for a task; pure, so the mapping from TaskSpec is tested without Docker. */
export function dockerCreateOptions(
  spec: TaskSpec,
  nodeId: string,
  opts: { dns?: string[] } = {},
): Docker.ContainerCreateOptions {
  if (!spec.image) throw new Error('a docker task needs an image');
  const exposed: Record<string, object> = {};
  const bindings: Docker.PortMap = {};
  if (spec.network === 'bridge') {
    for (const port of spec.ports) {
      for (const proto of portProtocols(port)) {
        const key = `${containerPortOf(port)}/${proto}`;
        exposed[key] = {};
        // Host port 0: Docker picks a free one; launch reads it back from the container.
        (bindings[key] ??= []).push({ HostPort: port.hostPort === 0 ? '' : String(port.hostPort) });
      }
    }
  }
  const hostConfig: Docker.HostConfig = {
    NetworkMode: spec.network === 'host' ? 'host' : 'bridge',
    Privileged: spec.privileged,
    // The agent decides about restarts (via control), never Docker.
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
  };
  if (spec.cpus > 0) hostConfig.NanoCpus = Math.round(spec.cpus * 1e9);
  if (spec.mem > 0) hostConfig.Memory = Math.round(Math.max(spec.mem, DOCKER_MIN_MEMORY_MB) * MiB);
  if (Object.keys(bindings).length > 0) hostConfig.PortBindings = bindings;
  if (spec.mounts && spec.mounts.length > 0) hostConfig.Mounts = dockerMounts(spec, nodeId);
  // The node's DNS server: cluster names resolve in the task with no setup.
  if (opts.dns && opts.dns.length > 0) hostConfig.Dns = opts.dns;
  const extraLabels = applyDockerParameters(hostConfig, spec.dockerParameters ?? []);

  const options: Docker.ContainerCreateOptions = {
    name: containerName(spec.taskId),
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...extraLabels, ...dockerLabels(spec, nodeId) },
    StopTimeout: Math.ceil(spec.killGracePeriodSeconds),
    HostConfig: hostConfig,
    ...dockerCommand(spec),
  };
  if (Object.keys(exposed).length > 0) options.ExposedPorts = exposed;
  if (spec.user) options.User = spec.user;
  return options;
}

/**
 * The task's mounts: host paths are bound; a persistent volume is a named volume, created by
 * Docker on first use and labelled with its app and node so it can be removed with the app.
 */
export function dockerMounts(spec: TaskSpec, nodeId: string): Docker.MountConfig {
  return (spec.mounts ?? []).map((m) =>
    m.source.type === 'host'
      ? { Type: 'bind' as const, Source: m.source.path, Target: m.target, ReadOnly: m.readOnly }
      : {
          Type: 'volume' as const,
          Source: m.source.name,
          Target: m.target,
          ReadOnly: m.readOnly,
          VolumeOptions: {
            // NoCopy false: a new volume starts with what the image has at that path (as docker run -v).
            NoCopy: false,
            Labels: { [containerLabels.appId]: spec.appId, [containerLabels.nodeId]: nodeId },
            DriverConfig: { Name: 'local', Options: {} },
          },
        },
  );
}

/** `docker run` options Marathon passed through (`container.docker.parameters`) that Atoll knows. */
export const SUPPORTED_DOCKER_PARAMETERS = [
  'cap-add',
  'cap-drop',
  'ulimit',
  'sysctl',
  'shm-size',
  'label',
  'init',
] as const;

/**
 * Applies `container.docker.parameters` to the host config: cap-add, cap-drop, ulimit
 * (`nofile=1024:2048`), sysctl (`k=v`), shm-size (bytes or `64m`), init (`true`); `label`
 * (`k=v`) is returned as extra container labels. Other keys are ignored (and logged by the agent).
 */
export function applyDockerParameters(
  hostConfig: Docker.HostConfig,
  params: ReadonlyArray<{ key: string; value: string }>,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const { key, value } of params) {
    const [k, v = ''] = splitOnce(value, '=');
    switch (key) {
      case 'cap-add':
        (hostConfig.CapAdd ??= []).push(value);
        break;
      case 'cap-drop':
        (hostConfig.CapDrop ??= []).push(value);
        break;
      case 'ulimit': {
        const [soft, hard = soft] = v.split(':');
        (hostConfig.Ulimits ??= []).push({ Name: k, Soft: Number(soft), Hard: Number(hard) });
        break;
      }
      case 'sysctl':
        hostConfig.Sysctls = { ...hostConfig.Sysctls, [k]: v };
        break;
      case 'shm-size':
        hostConfig.ShmSize = parseBytes(value);
        break;
      case 'init':
        hostConfig.Init = value !== 'false';
        break;
      case 'label':
        labels[k] = v;
        break;
    }
  }
  return labels;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(v.trim());
  if (!m) return 0;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * unit);
}

type PortMapLike = Record<string, Array<{ HostPort?: string }> | null | undefined> | null | undefined;

/**
 * The task's ports with host ports as Docker bound them (bridge networking, host port 0 resolved).
 * Under host networking the ports are the task's own host ports.
 */
export function resolvePorts(
  ports: TaskPort[],
  network: 'host' | 'bridge',
  portMap: PortMapLike,
): TaskPort[] {
  if (network === 'host') return ports.map((p) => ({ ...p }));
  return ports.map((p) => {
    const proto = portProtocols(p)[0] ?? 'tcp';
    const bound = portMap?.[`${containerPortOf(p)}/${proto}`] ?? [];
    const hostPort = Number(bound.find((b) => b.HostPort)?.HostPort ?? p.hostPort);
    return { ...p, hostPort, containerPort: containerPortOf(p) };
  });
}

function portsFromLabels(labels: Record<string, string>): TaskPort[] {
  try {
    const raw: unknown = JSON.parse(labels[PORTS_LABEL] ?? '[]');
    return Array.isArray(raw) ? (raw as TaskPort[]) : [];
  } catch {
    return [];
  }
}

/**
 * What a container says about its task. Undefined for containers that are not Atoll tasks.
 * `killRequested`: the runtime was asked to kill this task (Docker does not remember that).
 */
export function observedTaskFromInspect(
  info: Docker.ContainerInspectInfo,
  killRequested: boolean,
): ObservedTask | undefined {
  const labels = info.Config.Labels ?? {};
  const taskId = labels[containerLabels.taskId];
  if (!taskId) return undefined;
  const network = info.HostConfig.NetworkMode === 'host' ? 'host' : 'bridge';
  const checks = labels[CHECKS_LABEL] !== undefined ? parseTaskChecks(labels[CHECKS_LABEL]) : undefined;
  const base = {
    taskId,
    runtimeId: info.Id,
    ports: resolvePorts(portsFromLabels(labels), network, info.NetworkSettings?.Ports),
    ...(labels[containerLabels.appId] ? { appId: labels[containerLabels.appId] } : {}),
    ...(checks ? { checks } : {}),
  };
  const s = info.State;
  if (s.Running || s.Paused || s.Restarting) return { ...base, state: 'TASK_RUNNING', at: s.StartedAt };
  if (s.Status === 'created') return { ...base, state: 'TASK_STARTING', at: info.Created };
  const exit = containerExit(info);
  const outcome = exitOutcome({ ...exit, killed: killRequested });
  return {
    ...base,
    state: outcome.state,
    ...(outcome.message ? { message: outcome.message } : {}),
    ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
    at: s.FinishedAt,
    finishedAt: s.FinishedAt,
  };
}

/** Exit status of an ended container, with the reason when Docker knows one. */
export function containerExit(info: Docker.ContainerInspectInfo): {
  exitCode: number | undefined;
  message?: string;
} {
  const s = info.State;
  const limitMb = info.HostConfig.Memory ? Math.round(info.HostConfig.Memory / MiB) : undefined;
  if (s.OOMKilled) {
    return {
      exitCode: s.ExitCode,
      message: `OOM-killed: the task exceeded its memory limit${limitMb ? ` of ${limitMb} MiB` : ''}`,
    };
  }
  if (s.Error) return { exitCode: s.ExitCode, message: s.Error };
  return { exitCode: s.ExitCode };
}

/**
 * Why a task whose image is missing could not start: the pull failed (no registry reachable here,
 * or the registry does not have it). Keeps the first line of Docker's error.
 */
export function pullFailureMessage(image: string, dockerError: string): string {
  const first = dockerError
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return `image ${image} not found and no registry reachable${first ? `: ${first}` : ''}`;
}

/** The pod container's name (`io.atoll.container-name`); set only on containers of pod instances. */
export const CONTAINER_NAME_LABEL = 'io.atoll.container-name';
/** Position of the container in its pod (0 owns the network namespace). */
export const POD_INDEX_LABEL = 'io.atoll.pod-index';
/** The pod instance's kill grace period in seconds, so a sibling's exit stops the others in time. */
export const KILL_GRACE_LABEL = 'io.atoll.kill-grace';

/** Where relative mount paths of pod containers live, like Mesos's sandbox. */
export const POD_SANDBOX = '/mnt/mesos/sandbox';

/** `atoll-<taskId>-<container>` with characters Docker rejects replaced by `_`. */
export function podContainerName(taskId: string, container: string): string {
  return `${containerName(taskId)}-${container.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
}

/** The Docker named volume of an ephemeral pod volume. */
export function podVolumeName(taskId: string, volume: string): string {
  return podContainerName(taskId, volume);
}

/** Labels of an ephemeral pod volume, so it is found again for removal. */
export function podVolumeLabels(spec: TaskSpec, nodeId: string): Record<string, string> {
  return { [containerLabels.taskId]: spec.taskId, [containerLabels.nodeId]: nodeId };
}

/**
 * `docker create` options for container `index` of a pod instance. Container 0 owns the network
 * (port bindings or host networking); the others join it via `container:<networkOwnerId>`.
 */
export function podContainerCreateOptions(
  spec: TaskSpec,
  nodeId: string,
  index: number,
  networkOwnerId?: string,
): Docker.ContainerCreateOptions {
  const containers = spec.containers ?? [];
  const ct = containers[index];
  if (!ct) throw new Error(`pod container ${index} does not exist`);
  if (!ct.image) throw new Error(`pod container ${ct.name} needs an image under Docker`);
  if (index > 0 && !networkOwnerId)
    throw new Error('a pod container other than the first needs the network owner');
  const base = dockerCreateOptions(
    {
      ...spec,
      image: ct.image,
      cmd: ct.cmd,
      args: ct.args,
      cpus: ct.cpus,
      mem: ct.mem,
      env: { ...spec.env, ...ct.env },
      ports: index === 0 ? spec.ports : [],
    },
    nodeId,
  );
  const hostConfig: Docker.HostConfig = { ...base.HostConfig };
  if (index > 0) {
    hostConfig.NetworkMode = `container:${networkOwnerId}`;
    delete hostConfig.PortBindings;
    delete base.ExposedPorts;
  }
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts: Docker.MountSettings[] = [];
  for (const m of ct.volumeMounts) {
    const vol = volumes.get(m.name);
    if (!vol) throw new Error(`pod container ${ct.name} mounts unknown volume ${m.name}`);
    const target = m.mountPath.startsWith('/')
      ? m.mountPath
      : `${POD_SANDBOX}/${m.mountPath.replace(/^(\.\/)+/, '')}`;
    mounts.push(
      vol.host !== undefined
        ? { Type: 'bind', Source: vol.host, Target: target, ReadOnly: m.readOnly }
        : {
            Type: 'volume',
            Source: podVolumeName(spec.taskId, vol.name),
            Target: target,
            ReadOnly: m.readOnly,
          },
    );
  }
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  const labels: Record<string, string> = {
    ...(base.Labels ?? {}),
    [CONTAINER_NAME_LABEL]: ct.name,
    [POD_INDEX_LABEL]: String(index),
    [KILL_GRACE_LABEL]: String(spec.killGracePeriodSeconds),
  };
  // The pod's labels keep the instance's ports on the network owner only.
  if (index > 0) labels[PORTS_LABEL] = '[]';
  return {
    ...base,
    name: podContainerName(spec.taskId, ct.name),
    Labels: labels,
    WorkingDir: POD_SANDBOX,
    HostConfig: hostConfig,
  };
}

/**
 * One observed task from the inspected containers of a pod instance: RUNNING while all run;
 * otherwise FAILED with the first non-zero exit (FINISHED when all exited 0, KILLED on request).
 */
export function observedPodFromInspect(
  infos: Docker.ContainerInspectInfo[],
  killRequested: boolean,
): ObservedTask | undefined {
  const sorted = [...infos].sort((a, b) => podIndexOf(a) - podIndexOf(b));
  const owner = sorted[0];
  if (!owner) return undefined;
  const observed = observedTaskFromInspect(owner, killRequested);
  if (!observed) return undefined;
  const states = sorted.map((i) => observedTaskFromInspect(i, killRequested));
  if (states.every((t) => t?.state === 'TASK_RUNNING')) return observed;
  if (states.some((t) => t?.state === 'TASK_STARTING') && !sorted.some((i) => isEnded(i)))
    return { ...observed, state: 'TASK_STARTING', at: owner.Created };
  const ended = sorted.filter(isEnded);
  const failed = ended.find((i) => i.State.ExitCode !== 0 || i.State.OOMKilled || i.State.Error);
  const culprit = failed ?? ended[0] ?? owner;
  const exit = containerExit(culprit);
  const name = culprit.Config.Labels?.[CONTAINER_NAME_LABEL] ?? culprit.Name;
  const outcome = exitOutcome({
    exitCode: exit.exitCode,
    killed: killRequested,
    ...(exit.exitCode !== 0 || exit.message ? { message: podExitMessage(name, exit) } : {}),
  });
  const finishedAt =
    ended
      .map((i) => i.State.FinishedAt)
      .sort()
      .at(-1) ?? culprit.State.FinishedAt;
  const { message: _drop, exitCode: _code, ...rest } = observed;
  void _drop;
  void _code;
  return {
    ...rest,
    state: outcome.state,
    ...(outcome.message ? { message: outcome.message } : {}),
    ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
    at: finishedAt,
    finishedAt,
  };
}

/** "container ct2 exited with 3" (with Docker's reason when it has one). */
export function podExitMessage(
  container: string,
  exit: { exitCode: number | undefined; message?: string },
): string {
  const status =
    exit.exitCode === undefined ? 'ended with an unknown exit status' : `exited with ${exit.exitCode}`;
  return `container ${container} ${status}${exit.message ? `: ${exit.message}` : ''}`;
}

export function podIndexOf(info: Pick<Docker.ContainerInspectInfo, 'Config'>): number {
  const n = Number(info.Config.Labels?.[POD_INDEX_LABEL] ?? '0');
  return Number.isFinite(n) ? n : 0;
}

function isEnded(info: Docker.ContainerInspectInfo): boolean {
  const s = info.State;
  return !(s.Running || s.Paused || s.Restarting) && s.Status !== 'created';
}
