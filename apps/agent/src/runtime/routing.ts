import type { TaskSpec } from '@atoll/spec';
import type {
  ExecOptions,
  ExecResult,
  ExecSession,
  ExecSink,
  ExitListener,
  InteractiveExecOptions,
  LaunchResult,
  LogOptions,
  LogSink,
  MetricsTarget,
  ObservedTask,
  Runtime,
  StreamHandle,
} from './types';

/**
 * A Docker node also runs tasks without an image as plain processes, as a Mesos agent with
 * `--containerizers=docker,mesos` does for Marathon apps that have only a `cmd`. Reports itself as
 * the docker runtime.
 */
export class RoutingRuntime implements Runtime {
  readonly kind;
  readonly description;
  /** Which runtime holds a task, learnt at launch and list; unknown tasks are asked of both. */
  private readonly owner = new Map<string, Runtime>();

  constructor(
    private readonly images: Runtime,
    private readonly processes: Runtime,
  ) {
    this.kind = images.kind;
    this.description = `${images.description}; tasks without an image run as plain processes`;
  }

  async attach(nodeId: string): Promise<void> {
    await Promise.all([this.images.attach(nodeId), this.processes.attach(nodeId)]);
  }

  async launch(spec: TaskSpec, nodeId: string): Promise<LaunchResult> {
    const runtime = spec.image || spec.containers !== undefined ? this.images : this.processes;
    this.owner.set(spec.taskId, runtime);
    return runtime.launch(spec, nodeId);
  }

  async kill(taskId: string, gracePeriodSeconds: number): Promise<void> {
    await Promise.all(this.holders(taskId).map((r) => r.kill(taskId, gracePeriodSeconds)));
  }

  async bridgeGateway(): Promise<string | null> {
    return (await this.images.bridgeGateway?.()) ?? null;
  }

  setDnsServers(servers: string[]): void {
    this.images.setDnsServers?.(servers);
  }

  async removeAppData(appId: string): Promise<void> {
    await Promise.all([this.images, this.processes].map((r) => r.removeAppData?.(appId)));
  }

  async remove(taskId: string): Promise<void> {
    await Promise.all(this.holders(taskId).map((r) => r.remove(taskId)));
    this.owner.delete(taskId);
  }

  async list(): Promise<ObservedTask[]> {
    const [a, b] = await Promise.all([this.images.list(), this.processes.list()]);
    for (const t of a) this.owner.set(t.taskId, this.images);
    for (const t of b) this.owner.set(t.taskId, this.processes);
    return [...a, ...b];
  }

  async exec(taskId: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    return (await this.ownerOf(taskId)).exec(taskId, command, opts);
  }

  async metricsTarget(taskId: string): Promise<MetricsTarget | undefined> {
    const owner = this.owner.get(taskId);
    return owner ? owner.metricsTarget(taskId) : undefined;
  }

  async logs(taskId: string, opts: LogOptions, sink: LogSink): Promise<StreamHandle> {
    return (await this.ownerOf(taskId)).logs(taskId, opts, sink);
  }

  async openExec(taskId: string, opts: InteractiveExecOptions, sink: ExecSink): Promise<ExecSession> {
    return (await this.ownerOf(taskId)).openExec(taskId, opts, sink);
  }

  private async ownerOf(taskId: string): Promise<Runtime> {
    if (!this.owner.has(taskId)) await this.list();
    const owner = this.owner.get(taskId);
    if (!owner) throw new Error(`task ${taskId} is not on this node`);
    return owner;
  }

  onExit(listener: ExitListener): () => void {
    const offs = [this.images.onExit(listener), this.processes.onExit(listener)];
    return () => offs.forEach((off) => off());
  }

  async close(): Promise<void> {
    await Promise.all([this.images.close(), this.processes.close()]);
  }

  private holders(taskId: string): Runtime[] {
    const known = this.owner.get(taskId);
    return known ? [known] : [this.images, this.processes];
  }
}
