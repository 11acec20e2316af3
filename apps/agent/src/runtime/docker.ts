import os from 'node:os';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { containerLabels, type TaskSpec } from '@atoll/spec';
import Docker from 'dockerode';
import type { Logger } from '../logger';
import {
  CONTAINER_NAME_LABEL,
  containerExit,
  containerName,
  dockerCreateOptions,
  KILL_GRACE_LABEL,
  observedPodFromInspect,
  observedTaskFromInspect,
  podContainerCreateOptions,
  podExitMessage,
  podIndexOf,
  podVolumeLabels,
  podVolumeName,
  pullFailureMessage,
  resolvePorts,
  SUPPORTED_DOCKER_PARAMETERS,
} from './docker-options';
import {
  EXEC_OUTPUT_LIMIT,
  ExitListeners,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type ExecSink,
  type ExitListener,
  type InteractiveExecOptions,
  type LaunchResult,
  type LogOptions,
  type LogSink,
  type MetricsTarget,
  type ObservedTask,
  type Runtime,
  type StreamHandle,
} from './types';
import { FrameDemuxer } from './docker-frames';

export interface DockerRuntimeOptions {
  logger: Logger;
  /** An existing client; otherwise one for `socketPath`. */
  docker?: Docker;
  socketPath?: string;
  /** Human version for logs ("20.10.24"); select.ts fills it from the ping. */
  engineVersion?: string;
  /** Safety net behind the event stream: how often containers are re-listed to catch missed exits. */
  pollIntervalMs?: number;
  /** A pull that has not finished by then fails the launch (no registry must hang a task). */
  pullTimeoutMs?: number;
}

/** Default bound on an image pull. */
export const DEFAULT_PULL_TIMEOUT_MS = 60_000;

interface DockerError {
  statusCode?: number;
  message?: string;
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as DockerError).statusCode : undefined;
}

function describeError(err: unknown): string {
  const e = err as DockerError & { json?: { message?: string } };
  return e?.json?.message ?? e?.message ?? String(err);
}

/** The first host address of an IPv4 subnet (`172.17.0.0/16` → `172.17.0.1`), or null. */
export function firstHost(subnet: string | undefined): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet ?? '');
  if (!m) return null;
  const bits = Number(m[5]);
  if (bits > 30) return null;
  const ip = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const host = ((ip & mask) >>> 0) + 1;
  return [24, 16, 8, 0].map((shift) => (host >>> shift) & 255).join('.');
}

/** Tasks as Docker containers, found again by their `io.atoll.*` labels. */
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  readonly description: string;
  private readonly docker: Docker;
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly pullTimeoutMs: number;
  private readonly listeners = new ExitListeners();
  private nodeId: string | undefined;
  /** Tasks believed running; an exit is reported once, by whichever of event or poll sees it first. */
  private readonly running = new Set<string>();
  private readonly killRequested = new Set<string>();
  private events: Readable | undefined;
  private eventsRetry: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Resolvers given to new containers (the agent's DNS server, once it answers). */
  private dnsServers: string[] = [];

  constructor(opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Docker({ socketPath: opts.socketPath ?? '/var/run/docker.sock' });
    this.log = opts.logger.child({ runtime: 'docker' });
    this.pollIntervalMs = opts.pollIntervalMs ?? 30_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
    this.description = `docker (Docker Engine ${opts.engineVersion ?? 'unknown version'})`;
  }

  async attach(nodeId: string): Promise<void> {
    if (this.nodeId === nodeId) return;
    if (this.nodeId !== undefined)
      this.log.warn({ from: this.nodeId, to: nodeId }, 'node id changed; watching the new one');
    this.nodeId = nodeId;
    this.running.clear();
    this.stopWatching();
    for (const t of await this.list()) {
      if (t.state === 'TASK_RUNNING') this.running.add(t.taskId);
    }
    this.watchEvents();
    this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  async launch(spec: TaskSpec, nodeId: string): Promise<LaunchResult> {
    if (spec.containers !== undefined) return this.launchPod(spec, nodeId);
    if (!spec.image) throw new Error('the docker runtime needs an image');
    const ignored = (spec.dockerParameters ?? []).filter(
      (p) => !(SUPPORTED_DOCKER_PARAMETERS as readonly string[]).includes(p.key),
    );
    if (ignored.length > 0)
      this.log.warn(
        { taskId: spec.taskId, ignored: ignored.map((p) => p.key) },
        'docker parameters not supported; ignored',
      );
    const options = dockerCreateOptions(spec, nodeId, { dns: this.dnsServers });
    await this.ensureImage(spec.image, spec.forcePullImage);
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 409)
        throw new Error(`a container named ${options.name} already exists`, { cause: err });
      throw new Error(`creating the container failed: ${describeError(err)}`, { cause: err });
    }
    // Tracked before start so that an immediate exit is reported.
    this.running.add(spec.taskId);
    try {
      await container.start();
    } catch (err) {
      this.running.delete(spec.taskId);
      // Nothing ran, so there are no logs to keep.
      await container.remove({ force: true }).catch(() => undefined);
      throw new Error(`starting the container failed: ${describeError(err)}`, { cause: err });
    }
    const info = await container.inspect();
    return { runtimeId: info.Id, ports: resolvePorts(spec.ports, spec.network, info.NetworkSettings?.Ports) };
  }

  /**
   * A pod instance: its ephemeral volumes, then one container per pod container; the first owns
   * the network, the others join it. Started in order; running once all run.
   */
  private async launchPod(spec: TaskSpec, nodeId: string): Promise<LaunchResult> {
    const cts = spec.containers ?? [];
    if (cts.length === 0) throw new Error('a pod instance needs at least one container');
    for (const ct of cts)
      if (!ct.image) throw new Error(`pod container ${ct.name} needs an image under Docker`);
    for (const image of new Set(cts.map((c) => c.image ?? '')))
      await this.ensureImage(image, spec.forcePullImage);
    const created: Docker.Container[] = [];
    const cleanUp = async () => {
      this.running.delete(spec.taskId);
      for (const c of created) await c.remove({ force: true, v: true }).catch(() => undefined);
      await this.removePodVolumes(spec.taskId, nodeId).catch(() => undefined);
    };
    try {
      for (const vol of spec.volumes ?? []) {
        if (vol.host !== undefined) continue;
        await this.docker.createVolume({
          Name: podVolumeName(spec.taskId, vol.name),
          Labels: podVolumeLabels(spec, nodeId),
        });
      }
      for (let i = 0; i < cts.length; i++) {
        const options = podContainerCreateOptions(spec, nodeId, i, created[0]?.id);
        try {
          created.push(await this.docker.createContainer(options));
        } catch (err) {
          if (statusOf(err) === 409)
            throw new Error(`a container named ${options.name} already exists`, { cause: err });
          throw new Error(`creating container ${cts[i]?.name} failed: ${describeError(err)}`, { cause: err });
        }
      }
    } catch (err) {
      await cleanUp();
      throw err;
    }
    this.running.add(spec.taskId);
    for (const [i, c] of created.entries()) {
      try {
        await c.start();
      } catch (err) {
        await cleanUp();
        throw new Error(`starting container ${cts[i]?.name} failed: ${describeError(err)}`, { cause: err });
      }
    }
    const info = await created[0]!.inspect();
    return { runtimeId: info.Id, ports: resolvePorts(spec.ports, spec.network, info.NetworkSettings?.Ports) };
  }

  /** The containers of a pod instance of this node, network owner first; empty for single tasks. */
  private async podContainers(taskId: string): Promise<Docker.ContainerInspectInfo[]> {
    if (this.nodeId === undefined) return [];
    const summaries = await this.docker.listContainers({
      all: true,
      filters: { label: [`${containerLabels.nodeId}=${this.nodeId}`, `${containerLabels.taskId}=${taskId}`] },
    });
    const infos: Docker.ContainerInspectInfo[] = [];
    for (const s of summaries) {
      try {
        const info = await this.docker.getContainer(s.Id).inspect();
        const labels = info.Config.Labels ?? {};
        if (labels[containerLabels.taskId] === taskId && labels[CONTAINER_NAME_LABEL] !== undefined)
          infos.push(info);
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    return infos.sort((a, b) => podIndexOf(a) - podIndexOf(b));
  }

  /** The Docker bridge's gateway address: reachable from bridge and host-network containers. */
  async bridgeGateway(): Promise<string | null> {
    try {
      const info = (await this.docker.getNetwork('bridge').inspect()) as {
        IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> };
        Options?: Record<string, string>;
      };
      const configured = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
      if (configured) return configured;
      // Older engines leave the gateway out: it is the bridge interface's own address, which
      // Docker takes as the subnet's first host address. (The interface itself is not listed by
      // os.networkInterfaces() while no container runs: it has no carrier then.)
      const ifname = info.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
      const own = os.networkInterfaces()[ifname]?.find((a) => a.family === 'IPv4')?.address;
      return own ?? firstHost(info.IPAM?.Config?.find((c) => c.Subnet)?.Subnet);
    } catch {
      return null;
    }
  }

  setDnsServers(servers: string[]): void {
    this.dnsServers = servers;
  }

  /** The persistent volumes of a deleted app on this node. */
  async removeAppData(appId: string): Promise<void> {
    if (this.nodeId === undefined) return;
    const res = await this.docker.listVolumes({
      filters: { label: [`${containerLabels.nodeId}=${this.nodeId}`, `${containerLabels.appId}=${appId}`] },
    });
    for (const v of res.Volumes ?? []) {
      try {
        await this.docker.getVolume(v.Name).remove();
        this.log.info({ appId, volume: v.Name }, 'removed a persistent volume of a deleted app');
      } catch (err) {
        if (statusOf(err) !== 404) this.log.warn({ err, volume: v.Name }, 'removing a volume failed');
      }
    }
  }

  private async removePodVolumes(taskId: string, nodeId: string): Promise<void> {
    const res = await this.docker.listVolumes({
      filters: { label: [`${containerLabels.nodeId}=${nodeId}`, `${containerLabels.taskId}=${taskId}`] },
    });
    for (const v of res.Volumes ?? []) {
      try {
        await this.docker.getVolume(v.Name).remove();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
  }

  /** Stops containers one after the other (in the given order), ignoring those already stopped. */
  private async stopAll(ids: string[], gracePeriodSeconds: number): Promise<void> {
    for (const id of ids) {
      try {
        await this.docker.getContainer(id).stop({ t: Math.ceil(gracePeriodSeconds) });
      } catch (err) {
        const code = statusOf(err);
        if (code !== 304 && code !== 404)
          throw new Error(`stopping the container failed: ${describeError(err)}`, { cause: err });
      }
    }
  }

  async kill(taskId: string, gracePeriodSeconds: number): Promise<void> {
    const container = await this.find(taskId);
    if (!container) {
      const pod = await this.podContainers(taskId);
      if (pod.length === 0) return;
      this.killRequested.add(taskId);
      // The network owner last, so its siblings keep their network while they shut down.
      await this.stopAll(pod.map((i) => i.Id).reverse(), gracePeriodSeconds);
      await this.checkExit(taskId, pod[0]!.Id);
      return;
    }
    this.killRequested.add(taskId);
    try {
      // docker stop: SIGTERM (or the image's STOPSIGNAL), SIGKILL after t seconds; returns once stopped.
      await container.stop({ t: Math.ceil(gracePeriodSeconds) });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 304 && code !== 404)
        throw new Error(`stopping the container failed: ${describeError(err)}`, { cause: err });
    }
    await this.checkExit(taskId, container.id);
  }

  async remove(taskId: string): Promise<void> {
    const container = await this.find(taskId);
    this.running.delete(taskId);
    this.killRequested.delete(taskId);
    if (!container) {
      if (this.nodeId === undefined) return;
      for (const info of (await this.podContainers(taskId)).reverse()) {
        try {
          await this.docker.getContainer(info.Id).remove({ force: true, v: true });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }
      await this.removePodVolumes(taskId, this.nodeId);
      return;
    }
    try {
      await container.remove({ force: true, v: true });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async list(): Promise<ObservedTask[]> {
    if (this.nodeId === undefined) return [];
    const summaries = await this.docker.listContainers({
      all: true,
      filters: { label: [`${containerLabels.nodeId}=${this.nodeId}`] },
    });
    const pods = new Map<string, Docker.ContainerInspectInfo[]>();
    const tasks = await Promise.all(
      summaries.map(async (s) => {
        try {
          const info = await this.docker.getContainer(s.Id).inspect();
          const taskId = info.Config.Labels?.[containerLabels.taskId];
          if (taskId !== undefined && info.Config.Labels?.[CONTAINER_NAME_LABEL] !== undefined) {
            const group = pods.get(taskId) ?? [];
            group.push(info);
            pods.set(taskId, group);
            return undefined;
          }
          return observedTaskFromInspect(info, taskId !== undefined && this.killRequested.has(taskId));
        } catch (err) {
          if (statusOf(err) === 404) return undefined; // removed meanwhile
          throw err;
        }
      }),
    );
    for (const [taskId, infos] of pods)
      tasks.push(observedPodFromInspect(infos, this.killRequested.has(taskId)));
    return tasks.filter((t): t is ObservedTask => t !== undefined);
  }

  onExit(listener: ExitListener): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching();
  }

  private stopWatching(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (this.eventsRetry) clearTimeout(this.eventsRetry);
    this.eventsRetry = undefined;
    const events = this.events;
    this.events = undefined;
    events?.destroy();
  }

  private async find(taskId: string): Promise<Docker.Container | undefined> {
    const name = containerName(taskId);
    const byName = this.docker.getContainer(name);
    try {
      const info = await byName.inspect();
      const labels = info.Config.Labels ?? {};
      // Another agent on the same Docker Engine (another node id) owns its own containers.
      if (labels[containerLabels.taskId] === taskId && labels[containerLabels.nodeId] === this.nodeId)
        return this.docker.getContainer(info.Id);
      return undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Makes sure `image` is present: pulled when missing (or always with `forcePull`), within
   * `pullTimeoutMs`. A failed pull of a missing image fails the launch with a message saying so;
   * with `forcePull` and a local copy, the local copy is used (no registry reachable here).
   */
  private async ensureImage(image: string, forcePull: boolean): Promise<void> {
    let local = false;
    try {
      await this.docker.getImage(image).inspect();
      local = true;
    } catch (err) {
      if (statusOf(err) !== 404)
        throw new Error(`inspecting image ${image} failed: ${describeError(err)}`, { cause: err });
    }
    if (local && !forcePull) return;
    this.log.info({ image, timeoutMs: this.pullTimeoutMs }, 'pulling image');
    try {
      await this.pull(image);
    } catch (err) {
      if (local) {
        this.log.warn({ image, err: describeError(err) }, 'forced pull failed; using the local image');
        return;
      }
      throw new Error(pullFailureMessage(image, describeError(err)), { cause: err });
    }
  }

  private async pull(image: string): Promise<void> {
    const abort = new AbortController();
    let stream: NodeJS.ReadableStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`the pull did not finish within ${Math.round(this.pullTimeoutMs / 100) / 10} s`));
      }, this.pullTimeoutMs);
    });
    const pulled = (async () => {
      stream = await this.docker.pull(image, { abortSignal: abort.signal });
      const s = stream;
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(s, (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        });
      });
    })();
    // Whichever loses the race must not surface as an unhandled rejection.
    pulled.catch(() => undefined);
    try {
      await Promise.race([pulled, timedOut]);
    } finally {
      clearTimeout(timer);
      if (abort.signal.aborted) (stream as Readable | undefined)?.destroy();
    }
  }

  /**
   * `docker exec` of `/bin/sh -c command` in the task's container; the exec inherits the
   * container's environment (the task's env). A command still running at the timeout is abandoned
   * (Docker cannot kill an exec) and reported as timed out.
   */
  async exec(taskId: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    const pod = (await this.find(taskId)) ? [] : await this.podContainers(taskId);
    const container = pod[0] ? this.docker.getContainer(pod[0].Id) : await this.find(taskId);
    if (!container) throw new Error(`task ${taskId} has no container on this node`);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), opts.timeoutMs);
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (output.length < EXEC_OUTPUT_LIMIT)
          output += chunk.toString('utf8').slice(0, EXEC_OUTPUT_LIMIT - output.length);
        done();
      },
    });
    try {
      const exec = await container.exec({
        Cmd: ['/bin/sh', '-c', command],
        AttachStdout: true,
        AttachStderr: true,
        abortSignal: abort.signal,
      });
      const stream = (await exec.start({
        hijack: true,
        stdin: false,
        abortSignal: abort.signal,
      })) as Readable;
      const ended = await new Promise<boolean>((resolve) => {
        const onAbort = () => {
          stream.destroy();
          resolve(false);
        };
        if (abort.signal.aborted) return onAbort();
        abort.signal.addEventListener('abort', onAbort, { once: true });
        this.docker.modem.demuxStream(stream, sink, sink);
        stream.once('end', () => resolve(true));
        stream.once('close', () => resolve(!abort.signal.aborted));
        stream.once('error', () => resolve(!abort.signal.aborted));
      });
      if (!ended) return { exitCode: undefined, timedOut: true, output };
      // The exit code is recorded as the stream ends; allow Docker a moment to publish it.
      for (let i = 0; i < 20; i++) {
        const info = await exec.inspect();
        if (!info.Running) return { exitCode: info.ExitCode ?? undefined, timedOut: false, output };
        if (abort.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return { exitCode: undefined, timedOut: true, output };
    } catch (err) {
      if (abort.signal.aborted) return { exitCode: undefined, timedOut: true, output };
      throw new Error(`docker exec failed: ${describeError(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The task's container, or a pod's first container. */
  private async containerOf(taskId: string): Promise<Docker.Container> {
    const own = await this.find(taskId);
    if (own) return own;
    const pod = await this.podContainers(taskId);
    if (pod[0]) return this.docker.getContainer(pod[0].Id);
    throw new Error(`task ${taskId} has no container on this node (it may have been garbage-collected)`);
  }

  /** Container pid and restart count, from one inspect per container (never `docker stats`). */
  private readonly targets = new Map<string, MetricsTarget>();

  async metricsTarget(taskId: string): Promise<MetricsTarget | undefined> {
    const cached = this.targets.get(taskId);
    if (cached && this.running.has(taskId)) return cached;
    this.targets.delete(taskId);
    if (!this.running.has(taskId)) return undefined;
    const container =
      (await this.find(taskId)) ??
      (await this.podContainers(taskId).then((p) => (p[0] ? this.docker.getContainer(p[0].Id) : undefined)));
    if (!container) return undefined;
    const info = await container.inspect();
    if (!info.State.Running || !info.State.Pid) return undefined;
    const target = { pid: info.State.Pid, ownCgroup: true, restarts: info.RestartCount ?? 0 };
    this.targets.set(taskId, target);
    return target;
  }

  async logs(taskId: string, opts: LogOptions, sink: LogSink): Promise<StreamHandle> {
    const container = await this.containerOf(taskId);
    const info = await container.inspect();
    const tty = info.Config.Tty === true;
    const demux = new FrameDemuxer((stream, payload) => sink.data(stream, payload));
    const onChunk = (chunk: Buffer) => (tty ? sink.data('stdout', chunk) : demux.push(chunk));
    // Without `tail` Docker sends the whole log.
    const base = { stdout: true, stderr: true, ...(opts.tail === null ? {} : { tail: opts.tail }) };
    if (!opts.follow) {
      const all: Buffer = await container.logs({ ...base, follow: false });
      onChunk(all);
      sink.end();
      return { close: () => undefined };
    }
    const stream = (await container.logs({ ...base, follow: true })) as unknown as Readable;
    let ended = false;
    const end = (error?: string) => {
      if (ended) return;
      ended = true;
      sink.end(error);
    };
    stream.on('data', (chunk: Buffer) => onChunk(chunk));
    stream.once('end', () => end());
    stream.once('close', () => end());
    stream.once('error', (err) => end(describeError(err)));
    return {
      close: () => {
        ended = true;
        stream.destroy();
      },
    };
  }

  async openExec(taskId: string, opts: InteractiveExecOptions, sink: ExecSink): Promise<ExecSession> {
    const container = await this.containerOf(taskId);
    const exec = await container.exec({
      Cmd: opts.command,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: opts.tty,
      ...(opts.tty && opts.cols && opts.rows ? { ConsoleSize: [opts.rows, opts.cols] } : {}),
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: opts.tty })) as Duplex;
    const demux = new FrameDemuxer((s, payload) => sink.output(s, payload));
    let done = false;
    const finish = async (error?: string) => {
      if (done) return;
      done = true;
      if (error) return sink.exit(null, error);
      // The exit code is recorded as the stream ends; give Docker a moment to publish it.
      for (let i = 0; i < 20; i++) {
        const state = await exec.inspect().catch(() => undefined);
        if (state && !state.Running) return sink.exit(state.ExitCode ?? null);
        await new Promise((r) => setTimeout(r, 50));
      }
      sink.exit(null);
    };
    stream.on('data', (chunk: Buffer) => (opts.tty ? sink.output('stdout', chunk) : demux.push(chunk)));
    stream.once('end', () => void finish());
    stream.once('close', () => void finish());
    stream.once('error', (err) => void finish(describeError(err)));
    if (opts.tty && opts.cols && opts.rows)
      await exec.resize({ h: opts.rows, w: opts.cols }).catch(() => undefined);
    return {
      write: (data) => {
        if (!stream.writableEnded) stream.write(data);
      },
      resize: (cols, rows) => void exec.resize({ h: rows, w: cols }).catch(() => undefined),
      endInput: () => stream.end(),
      close: () => stream.destroy(),
    };
  }

  /** Follows `die` events of this node's containers; reconnects (and re-polls) when the stream ends. */
  private watchEvents(): void {
    if (this.closed || this.nodeId === undefined) return;
    const nodeId = this.nodeId;
    const retry = () => {
      if (this.closed || this.nodeId !== nodeId || this.eventsRetry) return;
      this.events = undefined;
      this.eventsRetry = setTimeout(() => {
        this.eventsRetry = undefined;
        void this.poll();
        this.watchEvents();
      }, 2_000);
      this.eventsRetry.unref();
    };
    this.docker
      .getEvents({
        filters: { type: ['container'], event: ['die'], label: [`${containerLabels.nodeId}=${nodeId}`] },
      })
      .then((raw) => {
        const stream = raw as Readable;
        if (this.closed || this.nodeId !== nodeId) {
          stream.destroy();
          return;
        }
        this.events = stream;
        let buffered = '';
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) this.onEvent(line);
          }
        });
        stream.on('error', (err) => {
          if (this.events === stream)
            this.log.warn({ err: describeError(err) }, 'docker event stream failed');
        });
        stream.on('close', () => {
          if (this.events === stream) retry();
        });
      })
      .catch((err: unknown) => {
        this.log.warn({ err: describeError(err) }, 'cannot follow docker events; retrying');
        retry();
      });
  }

  private onEvent(line: string): void {
    let event: { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const taskId = event.Actor?.Attributes?.[containerLabels.taskId];
    const id = event.Actor?.ID;
    if (event.Action !== 'die' || !taskId || !id) return;
    void this.checkExit(taskId, id).catch((err: unknown) =>
      this.log.warn({ taskId, err: describeError(err) }, 'reading the exit of a container failed'),
    );
  }

  /** Reports the exit of `taskId` if its container no longer runs and the exit was not yet reported. */
  private async checkExit(taskId: string, containerId: string): Promise<void> {
    if (!this.running.has(taskId)) return;
    let info: Docker.ContainerInspectInfo | undefined;
    try {
      info = await this.docker.getContainer(containerId).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (info && (info.State.Running || info.State.Status === 'created')) return;
    if (!this.running.delete(taskId)) return;
    let exit = info ? containerExit(info) : { exitCode: undefined, message: 'the container was removed' };
    const podContainer = info?.Config.Labels?.[CONTAINER_NAME_LABEL];
    if (info && podContainer !== undefined) {
      // One container of a pod instance ended: the others go too, and the instance is reported once.
      const grace = Number(info.Config.Labels?.[KILL_GRACE_LABEL] ?? '3');
      const siblings = (await this.podContainers(taskId)).filter((i) => i.Id !== info?.Id);
      await this.stopAll(siblings.map((i) => i.Id).reverse(), Number.isFinite(grace) ? grace : 3).catch(
        (err: unknown) => this.log.warn({ taskId, err: describeError(err) }, 'stopping a pod failed'),
      );
      if (exit.exitCode !== 0 || exit.message)
        exit = { exitCode: exit.exitCode, message: podExitMessage(podContainer, exit) };
    }
    this.listeners.emit(
      {
        taskId,
        exitCode: exit.exitCode,
        killed: this.killRequested.has(taskId),
        ...(exit.message ? { message: exit.message } : {}),
        at:
          info?.State.FinishedAt && !info.State.FinishedAt.startsWith('0001')
            ? info.State.FinishedAt
            : new Date().toISOString(),
      },
      (err) => this.log.error({ err, taskId }, 'exit listener failed'),
    );
  }

  private async poll(): Promise<void> {
    if (this.closed || this.running.size === 0) return;
    try {
      const byTask = new Map<string, string>();
      const stopped = new Map<string, string>();
      const summaries = await this.docker.listContainers({
        all: true,
        filters: { label: [`${containerLabels.nodeId}=${this.nodeId ?? ''}`] },
      });
      for (const s of summaries) {
        const taskId = s.Labels?.[containerLabels.taskId];
        if (taskId && s.State !== 'running') byTask.set(taskId, s.Id);
        if (taskId && s.State === 'running') byTask.set(taskId, '');
        // A pod instance has ended once any of its containers has.
        if (
          taskId &&
          s.State !== 'running' &&
          s.State !== 'created' &&
          s.Labels?.[CONTAINER_NAME_LABEL] !== undefined
        )
          stopped.set(taskId, s.Id);
      }
      for (const taskId of [...this.running]) {
        const id = stopped.get(taskId) ?? byTask.get(taskId);
        if (id === '') continue; // still running
        await this.checkExit(taskId, id ?? containerName(taskId));
      }
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'polling containers failed');
    }
  }
}
