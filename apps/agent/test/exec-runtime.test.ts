import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ExecRuntime } from '../src/runtime/exec';
import { processAlive, processGroupMembers } from '../src/runtime/proc';
import type { TaskExit } from '../src/runtime/types';
import { eventually } from './docker-support';
import { makeTaskSpec } from './factories';

const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });
const NODE = 'exec-test-node';

describe('ExecRuntime with real processes', () => {
  const dirs: string[] = [];
  const runtimes: ExecRuntime[] = [];
  let dir: string;

  async function newRuntime(): Promise<{ runtime: ExecRuntime; exits: TaskExit[] }> {
    const runtime = new ExecRuntime({
      logger,
      dir,
      path: process.env.PATH ?? '/usr/bin:/bin',
      adoptedPollMs: 100,
    });
    runtimes.push(runtime);
    await runtime.attach(NODE);
    const exits: TaskExit[] = [];
    runtime.onExit((e) => exits.push(e));
    return { runtime, exits };
  }

  function execSpec(cmd: string, overrides = {}) {
    return makeTaskSpec({ image: undefined, cmd, killGracePeriodSeconds: 2, ...overrides });
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-exec-test-'));
    dirs.push(dir);
  });

  afterAll(async () => {
    // Every process a test started is gone, whatever the test did.
    for (const r of runtimes) {
      for (const t of await r.list()) if (t.state === 'TASK_RUNNING') await r.kill(t.taskId, 0);
      await r.close();
    }
    await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('rejects pod instances: they need the Docker runtime', async () => {
    const { runtime } = await newRuntime();
    const spec = execSpec('sleep 1', {
      containers: [{ name: 'ct1', cmd: 'sleep 1', env: {}, cpus: 0.1, mem: 16, volumeMounts: [] }],
    });
    await expect(runtime.launch(spec, NODE)).rejects.toThrow('pods need the Docker runtime');
    expect(await runtime.list()).toEqual([]);
  });

  it('runs a process in its sandbox, is re-adopted after a restart and killed by the new instance', async () => {
    const { runtime: first } = await newRuntime();
    const spec = execSpec('echo "hello $GREETING"; echo oops >&2; pwd; exec sleep 60', {
      env: { GREETING: 'world' },
    });
    const launched = await first.launch(spec, NODE);
    const pid = Number(launched.runtimeId);
    expect(pid).toBeGreaterThan(0);
    const sandbox = first.sandboxDir(spec.taskId);
    const stdout = await eventually(
      async () => {
        const text = await fs.readFile(path.join(sandbox, 'stdout'), 'utf8');
        return text.includes('\n/') || text.split('\n').length > 2 ? text : undefined;
      },
      5_000,
      'stdout',
    );
    expect(stdout).toContain('hello world');
    expect(stdout).toContain(sandbox);
    expect(await fs.readFile(path.join(sandbox, 'stderr'), 'utf8')).toBe('oops\n');
    expect(await first.list()).toEqual([
      expect.objectContaining({ taskId: spec.taskId, state: 'TASK_RUNNING', runtimeId: String(pid) }),
    ]);

    // The agent restarts: the old instance stops watching, a new one reads the state file.
    await first.close();
    const { runtime: second, exits } = await newRuntime();
    expect(await second.list()).toEqual([
      expect.objectContaining({ taskId: spec.taskId, state: 'TASK_RUNNING', runtimeId: String(pid) }),
    ]);

    await second.kill(spec.taskId, 2);
    expect(processAlive(pid, undefined)).toBe(false);
    expect(exits).toEqual([expect.objectContaining({ taskId: spec.taskId, killed: true, exitCode: 143 })]);
    expect(await second.list()).toEqual([
      expect.objectContaining({ taskId: spec.taskId, state: 'TASK_KILLED', exitCode: 143 }),
    ]);

    await second.remove(spec.taskId);
    expect(await second.list()).toEqual([]);
    await expect(fs.stat(sandbox)).rejects.toThrow();
  });

  it.each([
    { name: 'exit 0 finishes', cmd: 'exit 0', exitCode: 0, state: 'TASK_FINISHED' },
    { name: 'exit 3 fails', cmd: 'exit 3', exitCode: 3, state: 'TASK_FAILED' },
  ])('reports the exit of its own child: $name', async ({ cmd, exitCode, state }) => {
    const { runtime, exits } = await newRuntime();
    const spec = execSpec(cmd);
    await runtime.launch(spec, NODE);
    const exit = await eventually(() => exits.find((e) => e.taskId === spec.taskId), 5_000, 'the exit');
    expect(exit).toMatchObject({ exitCode, killed: false });
    expect(await runtime.list()).toEqual([expect.objectContaining({ state, exitCode })]);
  });

  it('reports the exit status of an adopted process', async () => {
    const { runtime: first } = await newRuntime();
    const spec = execSpec('sleep 1; exit 4');
    await first.launch(spec, NODE);
    await first.close();
    const { runtime: second, exits } = await newRuntime();
    const exit = await eventually(() => exits.find((e) => e.taskId === spec.taskId), 10_000, 'the exit');
    expect(exit).toMatchObject({ exitCode: 4, killed: false });
    expect(await second.list()).toEqual([expect.objectContaining({ state: 'TASK_FAILED', exitCode: 4 })]);
  });

  it('kills the whole process group, with SIGKILL after the grace period', async () => {
    const { runtime, exits } = await newRuntime();
    // The shell ignores SIGTERM and so does its child (ignored signals are inherited).
    const spec = execSpec('trap "" TERM; sleep 60 & sleep 60; wait', { killGracePeriodSeconds: 1 });
    const launched = await runtime.launch(spec, NODE);
    const pgid = Number(launched.runtimeId);
    await eventually(
      () => (processGroupMembers(pgid).length >= 3 ? true : undefined),
      5_000,
      'the task processes',
    );
    await runtime.kill(spec.taskId, 1);
    // Every member ignored SIGTERM, so exit code 137 (128 + SIGKILL) shows the escalation happened.
    expect(exits).toEqual([expect.objectContaining({ killed: true, exitCode: 137 })]);
    // Killed members can linger a moment as zombies until init reaps them.
    await eventually(
      () => (processGroupMembers(pgid).length === 0 ? true : undefined),
      5_000,
      'an empty process group',
    );
  });

  it('lets a task that handles SIGTERM finish gracefully, and still calls it killed', async () => {
    const { runtime, exits } = await newRuntime();
    const spec = execSpec('trap "echo bye; exit 0" TERM; sleep 60 & wait');
    await runtime.launch(spec, NODE);
    await new Promise((r) => setTimeout(r, 300));
    await runtime.kill(spec.taskId, 5);
    expect(exits).toEqual([expect.objectContaining({ killed: true, exitCode: 0 })]);
    expect(await runtime.list()).toEqual([expect.objectContaining({ state: 'TASK_KILLED' })]);
    expect(await fs.readFile(path.join(runtime.sandboxDir(spec.taskId), 'stdout'), 'utf8')).toBe('bye\n');
  });

  it('refuses tasks it cannot run', async () => {
    const { runtime } = await newRuntime();
    await expect(runtime.launch(makeTaskSpec({ image: 'nginx' }), NODE)).rejects.toThrow(/no Docker Engine/);
    await expect(runtime.launch(execSpec('', { cmd: undefined, args: [] }), NODE)).rejects.toThrow(
      /cmd or args/,
    );
    await expect(runtime.launch(execSpec('true', { user: 'no-such-user-atoll' }), NODE)).rejects.toThrow(
      /does not exist/,
    );
  });

  it('runs commands beside a task with its env and sandbox, also after a re-adoption', async () => {
    const { runtime: first } = await newRuntime();
    const healthChecks = [
      {
        protocol: 'COMMAND' as const,
        path: '/',
        command: 'test -f marker',
        gracePeriodSeconds: 5,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
        ignoreHttp1xx: false,
      },
    ];
    const spec = execSpec('touch marker; exec sleep 60', { env: { GREETING: 'hi' }, healthChecks });
    await first.launch(spec, NODE);
    const sandbox = first.sandboxDir(spec.taskId);
    await eventually(() => fs.stat(path.join(sandbox, 'marker')), 5_000, 'the marker file');
    const check = 'test -f marker && test "$GREETING" = hi && test "$MESOS_SANDBOX" = "$(pwd)"';
    expect(await first.exec(spec.taskId, check, { timeoutMs: 5_000 })).toEqual({
      exitCode: 0,
      timedOut: false,
      output: '',
    });
    expect(await first.exec(spec.taskId, 'echo nope >&2; exit 4', { timeoutMs: 5_000 })).toEqual({
      exitCode: 4,
      timedOut: false,
      output: 'nope\n',
    });

    await first.close();
    const { runtime: second } = await newRuntime();
    expect((await second.list()).find((t) => t.taskId === spec.taskId)).toMatchObject({
      state: 'TASK_RUNNING',
      checks: { healthChecks, readinessChecks: [], killGracePeriodSeconds: 2 },
    });
    expect(await second.exec(spec.taskId, check, { timeoutMs: 5_000 })).toMatchObject({ exitCode: 0 });

    // A command that overruns is killed with everything it started.
    const slow = await second.exec(spec.taskId, 'sleep 30 & echo $! > bg.pid; sleep 30', { timeoutMs: 300 });
    expect(slow).toMatchObject({ exitCode: undefined, timedOut: true });
    const bg = Number(await fs.readFile(path.join(sandbox, 'bg.pid'), 'utf8'));
    await eventually(
      () => (processAlive(bg, undefined) ? undefined : true),
      5_000,
      'the background process to die',
    );

    await second.kill(spec.taskId, 0);
    await expect(second.exec(spec.taskId, 'true', { timeoutMs: 1_000 })).rejects.toThrow(/not running/);
  });

  it('keeps its state file private', async () => {
    const { runtime } = await newRuntime();
    const spec = execSpec('exit 0');
    await runtime.launch(spec, NODE);
    const st = await fs.stat(path.join(dir, 'tasks.json'));
    expect(st.mode & 0o777).toBe(0o600);
  });
});
