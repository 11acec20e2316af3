import type { RuntimeKind, TaskPort, TaskReport, TaskSpec } from '@atoll/spec';

/**
 * A task as a runtime finds it: its state derived from the container or process, never from what
 * the agent remembers. `appId` and `finishedAt` help the agent's bookkeeping and are not reported.
 */
export interface ObservedTask extends TaskReport {
  appId?: string;
  /** ISO time the task ended, for terminal tasks. */
  finishedAt?: string;
}

export interface LaunchResult {
  /** Container id (docker) or process id (exec). */
  runtimeId: string;
  /** The ports as bound, with host ports the runtime chose filled in. */
  ports: TaskPort[];
}

/** A task's main process ended. */
export interface TaskExit {
  taskId: string;
  /** Exit status; 128+n when ended by signal n; undefined when the runtime cannot know. */
  exitCode: number | undefined;
  /** The runtime ended it because `kill` was called. */
  killed: boolean;
  /** Why, when the runtime knows more than the exit code (OOM, runtime error). */
  message?: string;
  at: string;
}

export type ExitListener = (exit: TaskExit) => void;

/**
 * How the agent runs tasks. Implementations (`docker`, `exec`) hide everything runtime-specific;
 * the agent sees only this interface.
 *
 * A runtime is bound to one node id (`attach`): it finds that node's tasks again after an agent
 * restart (docker labels, exec state file) and watches them; it never restarts them.
 */
export interface Runtime {
  readonly kind: RuntimeKind;
  /** For logs: "docker (Docker Engine 20.10.24)". */
  readonly description: string;
  /**
   * Adopt the tasks of `nodeId` left by an earlier agent and start watching them for exits. Until
   * called, `list()` finds nothing. Calling it again with the same id is a no-op.
   */
  attach(nodeId: string): Promise<void>;
  /** Create and start the task; resolves once it runs, rejects with a message fit for TASK_FAILED. */
  launch(spec: TaskSpec, nodeId: string): Promise<LaunchResult>;
  /**
   * SIGTERM, then SIGKILL after the grace period. Resolves once the task no longer runs. Killing a
   * task this runtime does not have, or one already ended, does nothing.
   */
  kill(taskId: string, gracePeriodSeconds: number): Promise<void>;
  /** Forget a task: remove its container or sandbox (after it ended; used by garbage collection). */
  remove(taskId: string): Promise<void>;
  /** All tasks of the attached node, running and ended-but-not-removed. */
  list(): Promise<ObservedTask[]>;
  /** Registers a listener for task exits; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void;
  /** Stops watching. Tasks keep running. */
  close(): Promise<void>;
}

/** Fan-out helper shared by the runtimes. */
export class ExitListeners {
  private readonly listeners = new Set<ExitListener>();

  add(listener: ExitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(exit: TaskExit, onError: (err: unknown) => void): void {
    for (const l of this.listeners) {
      try {
        l(exit);
      } catch (err) {
        onError(err);
      }
    }
  }
}
