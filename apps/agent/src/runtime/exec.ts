import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskSpec } from '@atoll/spec';
import { z } from 'zod';
import { taskChecksOf, taskChecksSchema } from '../health/checks';
import { writePrivateJson } from '../identity';
import type { Logger } from '../logger';
import { exitOutcome } from './exit';
import { processAlive, processGroupMembers, readProcStat, resolveUser } from './proc';
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
  type OutputStream,
  type Runtime,
  type StreamHandle,
} from './types';

/**
 * Runs the task as the wrapper's foreground child and writes its exit status to the file named by
 * $1, so the status survives an agent restart (an adopted process is not our child: we cannot wait
 * for it). The wrapper traps TERM/INT/HUP with a handler, which (unlike ignoring them) leaves the
 * task's own signal dispositions at their defaults; the trap runs only after the task ended.
 */
const WRAPPER = 'f=$1; shift; trap : TERM INT HUP; "$@"; rc=$?; echo "$rc" > "$f"; exit "$rc"';

const recordSchema = z.object({
  taskId: z.string(),
  appId: z.string(),
  appVersion: z.string(),
  nodeId: z.string(),
  pid: z.number().int(),
  startTicks: z.string(),
  /** Directory name under sandboxes/ (the sanitised task id). */
  dir: z.string(),
  ports: z.array(
    z.object({
      hostPort: z.number(),
      containerPort: z.number().optional(),
      protocol: z.string(),
      name: z.string().optional(),
    }),
  ),
  startedAt: z.string(),
  killRequested: z.boolean().default(false),
  /** For COMMAND checks after a re-adoption: the task's env and user (the state file is 0600). */
  env: z.record(z.string(), z.string()).optional(),
  user: z.string().optional(),
  /** Health and readiness checks, so a restarted agent checks the task again. */
  checks: taskChecksSchema.optional(),
  exit: z
    .object({ exitCode: z.number().int().optional(), message: z.string().optional(), at: z.string() })
    .optional(),
});
type ExecRecord = z.infer<typeof recordSchema>;
const stateSchema = z.object({ tasks: z.array(recordSchema) });

export interface ExecRuntimeOptions {
  logger: Logger;
  /** Holds tasks.json and the sandboxes: `<agent state dir>/exec`. */
  dir: string;
  /** PATH for tasks (they do not inherit the agent's environment). */
  path: string;
  /** How often adopted processes (not our children) are checked for exit. */
  adoptedPollMs?: number;
}

function sandboxName(taskId: string): string {
  return taskId.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Tasks as plain processes (Mesos containerizer style, without isolation): each in its own
 * session and process group, in a sandbox directory with `stdout` and `stderr` files. Resource
 * limits are not enforced. Records live in tasks.json so a restarted agent re-adopts running
 * processes (matched by pid and start time, never restarted).
 */
export class ExecRuntime implements Runtime {
  readonly kind = 'exec' as const;
  readonly description = 'exec (plain processes)';
  private readonly log: Logger;
  private readonly dir: string;
  private readonly path: string;
  private readonly adoptedPollMs: number;
  private readonly listeners = new ExitListeners();
  private readonly records = new Map<string, ExecRecord>();
  /** Our own children: their exit events give exact statuses. */
  private readonly children = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  private loaded: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private nodeId: string | undefined;
  private adoptTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: ExecRuntimeOptions) {
    this.log = opts.logger.child({ runtime: 'exec' });
    this.dir = opts.dir;
    this.path = opts.path;
    this.adoptedPollMs = opts.adoptedPollMs ?? 1_000;
  }

  /** Where a task's stdout and stderr files are. */
  sandboxDir(taskId: string): string {
    return path.join(this.dir, 'sandboxes', sandboxName(taskId));
  }

  async attach(nodeId: string): Promise<void> {
    await this.load();
    this.nodeId = nodeId;
    this.checkAdopted();
    if (!this.adoptTimer) {
      this.adoptTimer = setInterval(() => this.checkAdopted(), this.adoptedPollMs);
      this.adoptTimer.unref();
    }
  }

  async launch(spec: TaskSpec, nodeId: string): Promise<LaunchResult> {
    if (spec.containers !== undefined) throw new Error('pods need the Docker runtime');
    if (spec.image) {
      throw new Error(
        `this node has no Docker Engine; it cannot run image ${spec.image} (only tasks with cmd or args)`,
      );
    }
    const argv = spec.cmd ? ['/bin/sh', '-c', spec.cmd] : (spec.args ?? []);
    if (argv.length === 0) throw new Error('an exec task needs cmd or args');
    await this.load();
    const existing = this.records.get(spec.taskId);
    if (existing) throw new Error(`task ${spec.taskId} already exists on this node`);

    let ids: { uid: number; gid: number } | undefined;
    if (spec.user) {
      const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
      ids = resolveUser(spec.user, passwd);
      if (!ids) throw new Error(`user ${spec.user} does not exist on this node`);
    }

    const dir = sandboxName(spec.taskId);
    const sandbox = this.sandboxDir(spec.taskId);
    await fsp.mkdir(sandbox, { recursive: true, mode: 0o755 });
    if (ids) {
      await fsp.chown(sandbox, ids.uid, ids.gid).catch((e: unknown) => {
        throw new Error(`cannot run as user ${spec.user}: ${(e as Error).message}`, { cause: e });
      });
    }
    const exitFile = this.exitFile(dir);
    await fsp.rm(exitFile, { force: true });
    const out = fs.openSync(path.join(sandbox, 'stdout'), 'a', 0o644);
    const err = fs.openSync(path.join(sandbox, 'stderr'), 'a', 0o644);
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WRAPPER, 'atoll-task', exitFile, ...argv], {
        cwd: sandbox,
        // Cast: Next.js's global types (console workspace) make NODE_ENV a required env key.
        env: { PATH: this.path, ...spec.env, MESOS_SANDBOX: sandbox } as unknown as NodeJS.ProcessEnv,
        // Own session and process group: kill reaches the whole task, and the task outlives the agent.
        detached: true,
        stdio: ['ignore', out, err],
        ...(ids ?? {}),
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      throw new Error(`starting the process failed: ${(e as Error).message}`, { cause: e });
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error('starting the process failed: no pid');
    const checks = taskChecksOf(spec);
    const record: ExecRecord = {
      taskId: spec.taskId,
      appId: spec.appId,
      appVersion: spec.appVersion,
      nodeId,
      pid,
      startTicks: readProcStat(pid)?.startTicks ?? '',
      dir,
      ports: spec.ports.map((p) => ({ ...p })),
      startedAt: new Date().toISOString(),
      killRequested: false,
      env: { ...spec.env },
      ...(spec.user ? { user: spec.user } : {}),
      ...(checks ? { checks } : {}),
    };
    this.records.set(spec.taskId, record);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const signum = signal ? os.constants.signals[signal] : undefined;
        this.children.delete(spec.taskId);
        if (!this.closed) this.finish(record, code ?? (signum !== undefined ? 128 + signum : undefined));
        resolve();
      });
    });
    this.children.set(spec.taskId, { child, exited });
    child.unref();
    await this.save();
    return { runtimeId: String(pid), ports: record.ports };
  }

  async kill(taskId: string, gracePeriodSeconds: number): Promise<void> {
    await this.load();
    const record = this.records.get(taskId);
    if (!record || record.exit) return;
    record.killRequested = true;
    await this.save();
    const pgid = record.pid;
    if (this.alive(record)) signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + gracePeriodSeconds * 1000;
    while (Date.now() < deadline && processGroupMembers(pgid).length > 0) await sleep(100);
    if (processGroupMembers(pgid).length > 0) signalGroup(pgid, 'SIGKILL');
    const own = this.children.get(taskId);
    if (own) {
      await Promise.race([own.exited, sleep(5_000)]);
    } else {
      for (let i = 0; i < 50 && this.alive(record); i++) await sleep(100);
    }
    if (!record.exit && !this.alive(record)) this.finishAdopted(record);
  }

  async remove(taskId: string): Promise<void> {
    await this.load();
    const record = this.records.get(taskId);
    if (!record) return;
    if (!record.exit) await this.kill(taskId, 0);
    this.records.delete(taskId);
    this.children.delete(taskId);
    await fsp.rm(path.join(this.dir, 'sandboxes', record.dir), { recursive: true, force: true });
    await fsp.rm(this.exitFile(record.dir), { force: true });
    await this.save();
  }

  async list(): Promise<ObservedTask[]> {
    await this.load();
    if (this.nodeId === undefined) return [];
    this.checkAdopted();
    const out: ObservedTask[] = [];
    for (const r of this.records.values()) {
      if (r.nodeId !== this.nodeId) continue;
      const base = {
        taskId: r.taskId,
        appId: r.appId,
        runtimeId: String(r.pid),
        ports: r.ports.map((p) => ({ ...p })),
        ...(r.checks ? { checks: r.checks } : {}),
      };
      if (!r.exit) {
        out.push({ ...base, state: 'TASK_RUNNING', at: r.startedAt });
        continue;
      }
      const outcome = exitOutcome({
        exitCode: r.exit.exitCode,
        killed: r.killRequested,
        ...(r.exit.message ? { message: r.exit.message } : {}),
      });
      out.push({
        ...base,
        state: outcome.state,
        ...(outcome.message ? { message: outcome.message } : {}),
        ...(r.exit.exitCode !== undefined ? { exitCode: r.exit.exitCode } : {}),
        at: r.exit.at,
        finishedAt: r.exit.at,
      });
    }
    return out;
  }

  /**
   * The task's `stdout` and `stderr` files in its sandbox: the last lines of each (stdout first),
   * then, when following, what is appended, polled every 250 ms until the task has ended and
   * everything was sent.
   */
  async logs(taskId: string, opts: LogOptions, sink: LogSink): Promise<StreamHandle> {
    await this.load();
    const record = this.records.get(taskId);
    if (!record)
      throw new Error(`task ${taskId} has no sandbox on this node (it may have been garbage-collected)`);
    const sandbox = path.join(this.dir, 'sandboxes', record.dir);
    const offsets: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
    for (const stream of ['stdout', 'stderr'] as const) {
      const all = await fsp.readFile(path.join(sandbox, stream)).catch(() => Buffer.alloc(0));
      offsets[stream] = all.length;
      const shown = opts.tail === null ? all : tailLines(all, opts.tail);
      if (shown.length > 0) sink.data(stream, shown);
    }
    if (!opts.follow) {
      sink.end();
      return { close: () => undefined };
    }
    let closed = false;
    const poll = async () => {
      while (!closed) {
        const ended = Boolean(this.records.get(taskId)?.exit) || !this.records.has(taskId);
        for (const stream of ['stdout', 'stderr'] as const) {
          const fh = await fsp.open(path.join(sandbox, stream), 'r').catch(() => undefined);
          if (!fh) continue;
          try {
            const { size } = await fh.stat();
            if (size > offsets[stream]) {
              const buf = Buffer.alloc(size - offsets[stream]);
              await fh.read(buf, 0, buf.length, offsets[stream]);
              offsets[stream] = size;
              if (!closed) sink.data(stream, buf);
            }
          } finally {
            await fh.close();
          }
        }
        if (ended) break;
        await sleep(250);
      }
      if (!closed) sink.end();
    };
    void poll().catch((err: unknown) => !closed && sink.end((err as Error).message));
    return { close: () => (closed = true) };
  }

  /** A plain process shares the agent's cgroup: its usage is read from /proc/<pid>. */
  async metricsTarget(taskId: string): Promise<MetricsTarget | undefined> {
    const record = this.records.get(taskId);
    if (!record || record.exit || !this.alive(record)) return undefined;
    return { pid: record.pid, ownCgroup: false, restarts: 0 };
  }

  /** A command beside the task (as `exec`) with stdin attached; no TTY for plain processes. */
  async openExec(taskId: string, opts: InteractiveExecOptions, sink: ExecSink): Promise<ExecSession> {
    await this.load();
    const record = this.records.get(taskId);
    if (!record || record.exit || !this.alive(record))
      throw new Error(`task ${taskId} is not running on this node`);
    let ids: { uid: number; gid: number } | undefined;
    if (record.user) {
      const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
      ids = resolveUser(record.user, passwd);
      if (!ids) throw new Error(`user ${record.user} does not exist on this node`);
    }
    const sandbox = path.join(this.dir, 'sandboxes', record.dir);
    const [file, ...args] = opts.command;
    const child = spawn(file!, args, {
      cwd: sandbox,
      env: { PATH: this.path, ...record.env, MESOS_SANDBOX: sandbox } as unknown as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(ids ?? {}),
    });
    let done = false;
    const exit = (code: number | null, error?: string) => {
      if (done) return;
      done = true;
      sink.exit(code, error);
    };
    child.stdout?.on('data', (c: Buffer) => sink.output('stdout', c));
    child.stderr?.on('data', (c: Buffer) => sink.output('stderr', c));
    child.stdin?.on('error', () => undefined);
    child.once('error', (err) => exit(null, err.message));
    child.once('close', (code, signal) => {
      const signum = signal ? os.constants.signals[signal] : undefined;
      exit(code ?? (signum !== undefined ? 128 + signum : null));
    });
    return {
      write: (data) => void child.stdin?.write(data),
      resize: () => undefined,
      endInput: () => child.stdin?.end(),
      close: () => {
        if (child.pid !== undefined && child.exitCode === null) signalGroup(child.pid, 'SIGKILL');
      },
    };
  }

  /**
   * `/bin/sh -c command` beside the task: same env, user and working directory (its sandbox), in a
   * process group of its own that is killed at the timeout.
   */
  async exec(taskId: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    await this.load();
    const record = this.records.get(taskId);
    if (!record || record.exit || !this.alive(record))
      throw new Error(`task ${taskId} is not running on this node`);
    let ids: { uid: number; gid: number } | undefined;
    if (record.user) {
      const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
      ids = resolveUser(record.user, passwd);
      if (!ids) throw new Error(`user ${record.user} does not exist on this node`);
    }
    const sandbox = path.join(this.dir, 'sandboxes', record.dir);
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', command], {
        cwd: sandbox,
        env: { PATH: this.path, ...record.env, MESOS_SANDBOX: sandbox } as unknown as NodeJS.ProcessEnv,
        // Own process group: a command that overruns is killed with everything it started.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(ids ?? {}),
      });
    } catch (err) {
      throw new Error(`running the command failed: ${(err as Error).message}`, { cause: err });
    }
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < EXEC_OUTPUT_LIMIT)
        output += chunk.toString('utf8').slice(0, EXEC_OUTPUT_LIMIT - output.length);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return new Promise<ExecResult>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      }, opts.timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`running the command failed: ${err.message}`, { cause: err }));
      });
      let exitCode: number | undefined;
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const signum = signal ? os.constants.signals[signal] : undefined;
        exitCode = code ?? (signum !== undefined ? 128 + signum : undefined);
        // Whatever the command left behind in its group (holding the pipes open) goes with it.
        if (child.pid !== undefined && processGroupMembers(child.pid).length > 0)
          signalGroup(child.pid, 'SIGKILL');
      });
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ exitCode: timedOut ? undefined : exitCode, timedOut, output });
      });
    });
  }

  onExit(listener: ExitListener): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    this.adoptTimer = undefined;
    await this.saving;
  }

  private exitFile(dir: string): string {
    return path.join(this.dir, 'run', `${dir}.exit`);
  }

  private alive(record: ExecRecord): boolean {
    return processAlive(record.pid, record.startTicks);
  }

  /** Reports adopted processes (not our children) that ended. */
  private checkAdopted(): void {
    if (this.closed) return;
    for (const r of this.records.values()) {
      if (!r.exit && !this.children.has(r.taskId) && !this.alive(r)) this.finishAdopted(r);
    }
  }

  private finishAdopted(record: ExecRecord): void {
    let code: number | undefined;
    try {
      const text = fs.readFileSync(this.exitFile(record.dir), 'utf8').trim();
      if (/^\d+$/.test(text)) code = Number(text);
    } catch {
      // No status file: the wrapper itself was killed (SIGKILL, OOM killer, reboot).
    }
    this.finish(
      record,
      code,
      code === undefined ? 'the process ended while the agent was not its parent' : undefined,
    );
  }

  private finish(record: ExecRecord, exitCode: number | undefined, message?: string): void {
    if (record.exit) return;
    const at = new Date().toISOString();
    record.exit = { ...(exitCode !== undefined ? { exitCode } : {}), ...(message ? { message } : {}), at };
    void this.save().catch((err: unknown) => this.log.error({ err }, 'saving exec task state failed'));
    this.listeners.emit(
      { taskId: record.taskId, exitCode, killed: record.killRequested, ...(message ? { message } : {}), at },
      (err) => this.log.error({ err, taskId: record.taskId }, 'exit listener failed'),
    );
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      await fsp.mkdir(path.join(this.dir, 'run'), { recursive: true, mode: 0o700 });
      let raw: string;
      try {
        raw = await fsp.readFile(path.join(this.dir, 'tasks.json'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      const parsed = stateSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        this.log.error({ err: parsed.error.message }, 'exec task state unreadable; starting empty');
        return;
      }
      for (const r of parsed.data.tasks) if (!this.records.has(r.taskId)) this.records.set(r.taskId, r);
    })();
    return this.loaded;
  }

  private save(): Promise<void> {
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => writePrivateJson(path.join(this.dir, 'tasks.json'), { tasks: [...this.records.values()] }));
    return this.saving;
  }
}

/** The last `n` lines of `buf` (a final line without a newline counts as a line). */
export function tailLines(buf: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end -= 1;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a && ++seen === n) return buf.subarray(i + 1);
  }
  return buf;
}
