import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../src/runtime/docker';
import { ExecRuntime } from '../src/runtime/exec';
import type {
  ExecSession,
  InteractiveExecOptions,
  LogOptions,
  OutputStream,
  Runtime,
  StreamHandle,
} from '../src/runtime/types';
import {
  countNodeContainers,
  DOCKER_SOCKET,
  dockerForTests,
  eventually,
  removeNodeContainers,
} from './docker-support';
import { makeTaskSpec } from './factories';

const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });

/** What a log stream delivered so far, by stream, and how it ended. */
class LogCollector {
  readonly text: Record<OutputStream, string> = { stdout: '', stderr: '' };
  ended: { error?: string } | undefined;
  readonly sink = {
    data: (stream: OutputStream, chunk: Buffer) => {
      this.text[stream] += chunk.toString('utf8');
    },
    end: (error?: string) => {
      this.ended = error ? { error } : {};
    },
  };
  lines(stream: OutputStream): string[] {
    return this.text[stream].split('\n').filter((l) => l.length > 0);
  }
  /** The highest N of the `tick-N` lines on stdout, -1 before the first. */
  lastTick(): number {
    return Math.max(-1, ...this.lines('stdout').map((l) => Number(/^tick-(\d+)/.exec(l)?.[1] ?? -1)));
  }
}

/** An interactive command's output and exit. */
class ExecCollector {
  readonly text: Record<OutputStream, string> = { stdout: '', stderr: '' };
  exit: { code: number | null; error?: string } | undefined;
  readonly sink = {
    output: (stream: OutputStream, chunk: Buffer) => {
      this.text[stream] += chunk.toString('utf8');
    },
    exit: (code: number | null, error?: string) => {
      this.exit = error ? { code, error } : { code };
    },
  };
}

async function readLogs(runtime: Runtime, taskId: string, opts: LogOptions): Promise<LogCollector> {
  const c = new LogCollector();
  await runtime.logs(taskId, opts, c.sink);
  await eventually(() => c.ended, 10_000, 'the log to end');
  return c;
}

async function runExec(
  runtime: Runtime,
  taskId: string,
  opts: InteractiveExecOptions,
): Promise<ExecCollector> {
  const c = new ExecCollector();
  const session = await runtime.openExec(taskId, opts, c.sink);
  session.endInput();
  await eventually(() => c.exit, 15_000, 'the command to exit');
  return c;
}

/** A task that writes two stdout lines and one stderr line, then a numbered tick every 200 ms. */
const TICKER =
  'echo out-1; echo err-1 >&2; echo out-2; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done';

/** The same checks against both runtimes: output, tail, follow, close, ended tasks, exec. */
function taskIoSuite(
  name: string,
  plain: boolean,
  setup: () => Promise<{ runtime: Runtime; nodeId: string; tty: boolean }>,
) {
  describe(name, () => {
    let runtime: Runtime;
    let nodeId: string;
    let tty: boolean;
    const opened: StreamHandle[] = [];
    const sessions: ExecSession[] = [];

    beforeAll(async () => {
      ({ runtime, nodeId, tty } = await setup());
    });
    afterAll(() => {
      for (const h of opened) h.close();
      for (const s of sessions) s.close();
    });

    const spec = makeTaskSpec({
      cmd: TICKER,
      killGracePeriodSeconds: 0,
      ...(plain ? { image: undefined } : {}),
    });

    it('returns the last N lines, stdout and stderr apart, then follows new output', async () => {
      await runtime.launch(spec, nodeId);
      await eventually(
        async () => {
          const c = await readLogs(runtime, spec.taskId, { tail: null, follow: false });
          return c.lastTick() >= 3 ? c : undefined;
        },
        30_000,
        'a few ticks',
      );

      const all = await readLogs(runtime, spec.taskId, { tail: null, follow: false });
      expect(all.lines('stdout').slice(0, 2)).toEqual(['out-1', 'out-2']);
      expect(all.lines('stderr')).toEqual(['err-1']);
      expect(all.ended).toEqual({});

      const last2 = await readLogs(runtime, spec.taskId, { tail: 2, follow: false });
      expect(last2.lines('stdout')).toHaveLength(2);
      expect(last2.lines('stdout').every((l) => l.startsWith('tick-'))).toBe(true);

      // Follow: starts from the last line and receives what is written after it opened.
      const follow = new LogCollector();
      opened.push(await runtime.logs(spec.taskId, { tail: 1, follow: true }, follow.sink));
      await eventually(() => (follow.lastTick() >= 0 ? true : undefined), 10_000, 'the first line');
      const first = follow.lastTick();
      await eventually(() => (follow.lastTick() >= first + 3 ? true : undefined), 15_000, 'new lines');
      expect(follow.ended).toBeUndefined();

      // Closing stops delivery.
      opened.pop()?.close();
      const stoppedAt = follow.text.stdout.length;
      await new Promise((r) => setTimeout(r, 800));
      expect(follow.text.stdout.length).toBe(stoppedAt);
    }, 60_000);

    it('runs a command inside the task: output by stream and the exit code', async () => {
      const c = await runExec(runtime, spec.taskId, {
        command: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'],
        tty: false,
      });
      expect(c.exit).toEqual({ code: 3 });
      expect(c.text.stdout).toBe('hello\n');
      expect(c.text.stderr).toBe('oops\n');
    }, 30_000);

    it('feeds stdin to an interactive shell', async () => {
      const c = new ExecCollector();
      const session = await runtime.openExec(
        spec.taskId,
        { command: ['sh'], tty, ...(tty ? { cols: 100, rows: 30 } : {}) },
        c.sink,
      );
      sessions.push(session);
      if (tty) session.resize(120, 40);
      session.write(Buffer.from('echo hi-$((40+2))\n'));
      await eventually(() => (c.text.stdout.includes('hi-42') ? true : undefined), 15_000, 'the echo');
      session.write(Buffer.from('exit 5\n'));
      await eventually(() => c.exit, 15_000, 'the shell to exit');
      expect(c.exit).toEqual({ code: 5 });
    }, 40_000);

    it('keeps the log of an ended task readable and refuses exec into it', async () => {
      const follow = new LogCollector();
      opened.push(await runtime.logs(spec.taskId, { tail: 0, follow: true }, follow.sink));
      await runtime.kill(spec.taskId, 0);
      // A follower ends when the task does.
      await eventually(() => follow.ended, 15_000, 'the follower to end');

      const after = await readLogs(runtime, spec.taskId, { tail: null, follow: false });
      expect(after.lines('stdout').slice(0, 2)).toEqual(['out-1', 'out-2']);
      // A shell killed mid-`sleep` may add its own "Terminated" after the task's line.
      expect(after.lines('stderr')[0]).toBe('err-1');
      await expect(
        runtime.openExec(spec.taskId, { command: ['true'], tty: false }, new ExecCollector().sink),
      ).rejects.toThrow();
    }, 40_000);

    it('says when a task has no output here', async () => {
      await expect(
        runtime.logs('no-such-task', { tail: 10, follow: false }, new LogCollector().sink),
      ).rejects.toThrow(/no-such-task/);
    });
  });
}

const dockerAvailable = await dockerForTests('task output and exec (docker)');
const dockerNode = `test-node-${randomUUID()}`;
let docker: DockerRuntime | undefined;

describe.skipIf(!dockerAvailable)('task output and exec against the real Docker Engine', () => {
  afterAll(async () => {
    await docker?.close();
    await removeNodeContainers(dockerNode);
    expect(await countNodeContainers(dockerNode)).toBe(0);
  });
  taskIoSuite('docker runtime', false, async () => {
    docker = new DockerRuntime({ logger, socketPath: DOCKER_SOCKET, pollIntervalMs: 600_000 });
    await docker.attach(dockerNode);
    return { runtime: docker, nodeId: dockerNode, tty: true };
  });
});

describe('task output and exec with plain processes', () => {
  let exec: ExecRuntime | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    if (exec) {
      for (const t of await exec.list()) if (t.state === 'TASK_RUNNING') await exec.kill(t.taskId, 0);
      await exec.close();
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  taskIoSuite('exec runtime', true, async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-taskio-test-'));
    exec = new ExecRuntime({ logger, dir, path: process.env.PATH ?? '/usr/bin:/bin', adoptedPollMs: 100 });
    await exec.attach('taskio-exec-node');
    return { runtime: exec, nodeId: 'taskio-exec-node', tty: false };
  });
});
