import type { Readable } from 'node:stream';
import { containerLabels, type TaskSpec } from '@atoll/spec';
import Docker from 'dockerode';
import type { Logger } from '../logger';
import {
  containerExit,
  containerName,
  dockerCreateOptions,
  observedTaskFromInspect,
  resolvePorts,
} from './docker-options';
import {
  ExitListeners,
  type ExitListener,
  type LaunchResult,
  type ObservedTask,
  type Runtime,
} from './types';

export interface DockerRuntimeOptions {
  logger: Logger;
  /** An existing client; otherwise one for `socketPath`. */
  docker?: Docker;
  socketPath?: string;
  /** Human version for logs ("20.10.24"); select.ts fills it from the ping. */
  engineVersion?: string;
  /** Safety net behind the event stream: how often containers are re-listed to catch missed exits. */
  pollIntervalMs?: number;
}

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

/** Tasks as Docker containers, found again by their `io.atoll.*` labels. */
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  readonly description: string;
  private readonly docker: Docker;
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly listeners = new ExitListeners();
  private nodeId: string | undefined;
  /** Tasks believed running; an exit is reported once, by whichever of event or poll sees it first. */
  private readonly running = new Set<string>();
  private readonly killRequested = new Set<string>();
  private events: Readable | undefined;
  private eventsRetry: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Docker({ socketPath: opts.socketPath ?? '/var/run/docker.sock' });
    this.log = opts.logger.child({ runtime: 'docker' });
    this.pollIntervalMs = opts.pollIntervalMs ?? 30_000;
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
    if (!spec.image) throw new Error('the docker runtime needs an image');
    const options = dockerCreateOptions(spec, nodeId);
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

  async kill(taskId: string, gracePeriodSeconds: number): Promise<void> {
    const container = await this.find(taskId);
    if (!container) return;
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
    if (!container) return;
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
    const tasks = await Promise.all(
      summaries.map(async (s) => {
        try {
          const info = await this.docker.getContainer(s.Id).inspect();
          const taskId = info.Config.Labels?.[containerLabels.taskId];
          return observedTaskFromInspect(info, taskId !== undefined && this.killRequested.has(taskId));
        } catch (err) {
          if (statusOf(err) === 404) return undefined; // removed meanwhile
          throw err;
        }
      }),
    );
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
      if (info.Config.Labels?.[containerLabels.taskId] === taskId) return this.docker.getContainer(info.Id);
      return undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async ensureImage(image: string, forcePull: boolean): Promise<void> {
    if (!forcePull) {
      try {
        await this.docker.getImage(image).inspect();
        return;
      } catch (err) {
        if (statusOf(err) !== 404)
          throw new Error(`inspecting image ${image} failed: ${describeError(err)}`, { cause: err });
      }
    }
    this.log.info({ image }, 'pulling image');
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        });
      });
    } catch (err) {
      throw new Error(`pulling image ${image} failed: ${describeError(err)}`, { cause: err });
    }
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
    const exit = info ? containerExit(info) : { exitCode: undefined, message: 'the container was removed' };
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
      const summaries = await this.docker.listContainers({
        all: true,
        filters: { label: [`${containerLabels.nodeId}=${this.nodeId ?? ''}`] },
      });
      for (const s of summaries) {
        const taskId = s.Labels?.[containerLabels.taskId];
        if (taskId && s.State !== 'running') byTask.set(taskId, s.Id);
        if (taskId && s.State === 'running') byTask.set(taskId, '');
      }
      for (const taskId of [...this.running]) {
        const id = byTask.get(taskId);
        if (id === '') continue; // still running
        await this.checkExit(taskId, id ?? containerName(taskId));
      }
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'polling containers failed');
    }
  }
}
