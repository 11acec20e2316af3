import type { RuntimeKind, TaskPort, TaskReport, TaskSpec } from '@atoll/spec';
import type { TaskChecks } from '../health/checks';

/**
 * A task as a runtime finds it: its state derived from the container or process, never from what
 * the agent remembers. `appId`, `finishedAt` and `checks` help the agent's bookkeeping and are not
 * reported. For a running task, `at` is when it started.
 */
export interface ObservedTask extends TaskReport {
  appId?: string;
  /** ISO time the task ended, for terminal tasks. */
  finishedAt?: string;
  /** The health and readiness checks it was launched with, so a re-adopted task is checked again. */
  checks?: TaskChecks;
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

/** How a command run inside a task (`Runtime.exec`) ended. */
export interface ExecResult {
  /** Its exit status; undefined when it did not end within the timeout or the runtime cannot tell. */
  exitCode: number | undefined;
  /** It was still running when the timeout passed (it was killed, or abandoned under Docker). */
  timedOut: boolean;
  /** The start of its combined stdout and stderr (at most about 1 KiB), for messages. */
  output: string;
}

export interface ExecOptions {
  timeoutMs: number;
}

/** At most this much of a command's output is kept in `ExecResult.output`. */
export const EXEC_OUTPUT_LIMIT = 1024;

/**
 * How the agent runs tasks. Implementations (`docker`, `exec`) hide everything runtime-specific;
 * the agent sees only this interface.
 *
 * A runtime is bound to one node id (`attach`): it finds that node's tasks again after an agent
 * restart (docker labels, exec state file) and watches them; it never restarts them.
 */
export interface Runtime extends TaskIo {
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
  /** Remove what an app keeps on the node beyond its tasks (persistent volumes), once the app is deleted. */
  removeAppData?(appId: string): Promise<void>;
  /** Where containers reach the node's DNS server (Docker: the bridge's gateway), if anywhere. */
  bridgeGateway?(): Promise<string | null>;
  /** Resolvers for the containers started from now on. */
  setDnsServers?(servers: string[]): void;
  /** All tasks of the attached node, running and ended-but-not-removed. */
  list(): Promise<ObservedTask[]>;
  /**
   * Runs `/bin/sh -c <command>` inside the running task, with the task's environment (COMMAND
   * health checks): `docker exec` in its container, or for a process task a process in its sandbox
   * with its env and user. Resolves once the command ended or `timeoutMs` passed; rejects when the
   * task does not exist or no longer runs.
   */
  exec(taskId: string, command: string, opts: ExecOptions): Promise<ExecResult>;
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

// ---- logs and interactive exec ------------------------------------------------------------------

export type OutputStream = 'stdout' | 'stderr';

/** Where a log stream's output goes. `end` is called once: done, the task is gone, or an error. */
export interface LogSink {
  data(stream: OutputStream, chunk: Buffer): void;
  end(error?: string): void;
}

export interface LogOptions {
  /** Last N lines; null for the whole log. */
  tail: number | null;
  /** Keep streaming what the task writes from now on. */
  follow: boolean;
}

/** Stops a stream early (the subscriber went away). Safe to call more than once. */
export interface StreamHandle {
  close(): void;
}

export interface ExecSink {
  output(stream: OutputStream, chunk: Buffer): void;
  /** The command ended (exit code, null when unknown) or could not run (error). Called once. */
  exit(exitCode: number | null, error?: string): void;
}

export interface InteractiveExecOptions {
  command: string[];
  /** A pseudo-terminal (docker only): one output stream, resizable. */
  tty: boolean;
  cols?: number;
  rows?: number;
}

export interface ExecSession {
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Closes the command's stdin. */
  endInput(): void;
  /** Ends the session: the connection to the command is dropped (Docker cannot kill an exec). */
  close(): void;
}

/** Where a running task's resource usage is read (metrics). */
export interface MetricsTarget {
  /** Its main process on the host. */
  pid: number;
  /** The task has a cgroup of its own (a container): read it; otherwise read /proc/<pid>. */
  ownCgroup: boolean;
  /** How often the runtime restarted it in place (Docker's RestartCount). */
  restarts: number;
}

/** What a runtime offers beyond running tasks: their output and a command inside them. */
export interface TaskIo {
  /** Where to read a running task's usage; undefined when it does not run here. */
  metricsTarget(taskId: string): Promise<MetricsTarget | undefined>;
  /** Streams the task's stdout and stderr (also of an ended task, until it is removed). */
  logs(taskId: string, opts: LogOptions, sink: LogSink): Promise<StreamHandle>;
  /** Runs `command` inside the running task with stdin attached. */
  openExec(taskId: string, opts: InteractiveExecOptions, sink: ExecSink): Promise<ExecSession>;
}
