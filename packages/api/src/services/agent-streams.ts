import { randomUUID } from 'node:crypto';
import type { AgentMessage } from '@atoll/spec';
import type { Services } from '../context';
import { AppError } from '../errors';
import { assertInScope, jobPath } from './access';
import type { AgentDispatcher } from './agents';

export type OutputStream = 'stdout' | 'stderr';

type StreamReply = Extract<
  AgentMessage,
  { type: 'logData' | 'logEnd' | 'execStarted' | 'execOutput' | 'execExit' }
>;

export interface LogHandlers {
  data(stream: OutputStream, text: string): void;
  /** Once: the stream is complete, the task's container is gone, the node left, or an error. */
  end(error?: string): void;
}

export interface ExecHandlers {
  started(): void;
  output(stream: OutputStream, data: Buffer): void;
  /** Once: the command ended (exit code, null when unknown) or could not run (error). */
  exit(exitCode: number | null, error?: string): void;
}

export interface ExecControl {
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  endInput(): void;
  close(): void;
}

/** Most lines a log request returns without following (the console's "download" asks for this many). */
export const MAX_LOG_LINES = 100_000;

/**
 * Control's side of task logs and exec sessions: asks the agent running the task to open a stream
 * (`logOpen`, `execOpen`) and routes its replies to whoever asked. The agent holds one socket with
 * one control replica; `agents` reaches it from any replica (the replicas relay to each other, see
 * apps/control/src/replicas), and a node no replica holds is refused with a clear message.
 */
export class StreamRelay {
  private readonly logs = new Map<string, { nodeId: string; h: LogHandlers }>();
  private readonly execs = new Map<string, { nodeId: string; h: ExecHandlers }>();

  constructor(private readonly agents: () => AgentDispatcher) {}

  openLogs(
    nodeId: string,
    taskId: string,
    opts: { tail: number | null; follow: boolean },
    h: LogHandlers,
  ): { close(): void } {
    this.requireConnected(nodeId);
    const streamId = randomUUID();
    this.logs.set(streamId, { nodeId, h });
    this.agents().send(nodeId, { type: 'logOpen', streamId, taskId, tail: opts.tail, follow: opts.follow });
    return {
      close: () => {
        if (!this.logs.delete(streamId)) return;
        this.agents().send(nodeId, { type: 'logClose', streamId });
      },
    };
  }

  openExec(
    nodeId: string,
    taskId: string,
    opts: { command: string[]; tty: boolean; cols?: number; rows?: number },
    h: ExecHandlers,
  ): ExecControl {
    this.requireConnected(nodeId);
    const sessionId = randomUUID();
    this.execs.set(sessionId, { nodeId, h });
    this.agents().send(nodeId, { type: 'execOpen', sessionId, taskId, ...opts });
    const send = (m: Parameters<AgentDispatcher['send']>[1]) =>
      this.execs.has(sessionId) && this.agents().send(nodeId, m);
    return {
      write: (data) => send({ type: 'execInput', sessionId, data: data.toString('base64') }),
      resize: (cols, rows) => send({ type: 'execResize', sessionId, cols, rows }),
      endInput: () => send({ type: 'execClose', sessionId, eofOnly: true }),
      close: () => {
        send({ type: 'execClose', sessionId, eofOnly: false });
        this.execs.delete(sessionId);
      },
    };
  }

  /** A reply from an agent; replies from another node than the stream's are ignored. */
  handle(nodeId: string, msg: StreamReply): void {
    switch (msg.type) {
      case 'logData': {
        const s = this.logs.get(msg.streamId);
        if (s?.nodeId === nodeId) s.h.data(msg.stream, msg.data);
        return;
      }
      case 'logEnd': {
        const s = this.logs.get(msg.streamId);
        if (s?.nodeId !== nodeId) return;
        this.logs.delete(msg.streamId);
        s.h.end(msg.error);
        return;
      }
      case 'execStarted': {
        const s = this.execs.get(msg.sessionId);
        if (s?.nodeId === nodeId) s.h.started();
        return;
      }
      case 'execOutput': {
        const s = this.execs.get(msg.sessionId);
        if (s?.nodeId === nodeId) s.h.output(msg.stream, Buffer.from(msg.data, 'base64'));
        return;
      }
      case 'execExit': {
        const s = this.execs.get(msg.sessionId);
        if (s?.nodeId !== nodeId) return;
        this.execs.delete(msg.sessionId);
        s.h.exit(msg.exitCode, msg.error);
        return;
      }
    }
  }

  /** The node's connection closed: everything open on it ends. */
  nodeGone(nodeId: string): void {
    for (const [id, s] of this.logs)
      if (s.nodeId === nodeId) {
        this.logs.delete(id);
        s.h.end('the node disconnected');
      }
    for (const [id, s] of this.execs)
      if (s.nodeId === nodeId) {
        this.execs.delete(id);
        s.h.exit(null, 'the node disconnected');
      }
  }

  private requireConnected(nodeId: string): void {
    if (!this.agents().isConnected(nodeId))
      throw new AppError(
        'CONFLICT',
        `the task's node ${nodeId} is not connected to any control replica; try again later`,
      );
  }
}

/** Where a task runs (its node), for logs and exec. */
export async function taskLocation(
  s: Pick<Services, 'db'>,
  taskId: string,
): Promise<{ nodeId: string; appId: string; state: string }> {
  const task = await s.db.prisma.task.findUnique({
    where: { id: taskId },
    select: { nodeId: true, appId: true, runId: true, state: true, run: { select: { jobId: true } } },
  });
  if (!task) throw AppError.notFound(`task ${taskId}`);
  // Logs and exec reach a task through here: a scoped user only those of their apps and jobs.
  assertInScope(s, task.appId ?? (task.run ? jobPath(task.run.jobId) : null));
  // A job run's task has no app: it is named by its run.
  return { nodeId: task.nodeId, appId: task.appId ?? `job-run:${task.runId ?? ''}`, state: task.state };
}

/**
 * Most text held for a reader that does not keep up (64 Mi characters, above the agent's 32 Mi cap of
 * a log that does not follow): past it the stream ends with an error and the agent's stream closes.
 */
export const MAX_QUEUED_LOG_CHARS = 64 * 1024 * 1024;

/** A task's log as an async stream of chunks (for tRPC subscriptions and the REST route). */
export async function* taskLogChunks(
  s: Pick<Services, 'db' | 'streams'>,
  input: { taskId: string; lines: number | null; follow: boolean },
  signal?: AbortSignal,
  maxQueuedChars = MAX_QUEUED_LOG_CHARS,
): AsyncGenerator<{ stream: OutputStream; data: string } | { end: true; error?: string }> {
  const { nodeId } = await taskLocation(s, input.taskId);
  const queue: Array<{ stream: OutputStream; data: string } | { end: true; error?: string }> = [];
  let queued = 0;
  let over = false;
  let closeAgentStream = () => undefined as void;
  let wake: (() => void) | null = null;
  const push = (v: (typeof queue)[number]) => {
    if (over) return;
    if ('data' in v) {
      queued += v.data.length;
      if (queued > maxQueuedChars) {
        over = true;
        v = { end: true, error: `the reader fell more than ${maxQueuedChars} characters behind` };
        closeAgentStream();
      }
    } else over = true;
    queue.push(v);
    wake?.();
  };
  const handle = s.streams.openLogs(
    nodeId,
    input.taskId,
    { tail: input.lines, follow: input.follow },
    {
      data: (stream, data) => push({ stream, data }),
      end: (error) => push({ end: true, ...(error ? { error } : {}) }),
    },
  );
  closeAgentStream = () => handle.close();
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      const next = queue.shift();
      if (next) {
        if ('data' in next) queued -= next.data.length;
        yield next;
        if ('end' in next) return;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    handle.close();
  }
}
