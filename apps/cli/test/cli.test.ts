import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/atoll.mjs');
/** The shared Marathon fixtures, next to the checkout. */
const sleepGroup = path.resolve(here, '../../../../shared/fixtures/marathon/09-group-sleep.json');
const simplePod = path.resolve(here, '../../../../shared/fixtures/marathon/10-pod-simple.json');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// The real CLI (in-process through run/buildProgram) against a real control with a fresh
// PostgreSQL database and one local agent.
describe('atoll CLI against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(...args: string[]): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      hostname: () => 'test-host',
    };
    const code = await run(args, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  /** Starts a command that runs until interrupted (a watch), with its output readable meanwhile. */
  function startAtoll(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const ac = new AbortController();
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      interrupt: () => ac.signal,
    };
    const done = run(args, io).then((code) => ({ code, stdout: out.join(''), stderr: err.join('') }));
    return {
      done,
      interrupt: () => ac.abort(),
      stdout: () => out.join(''),
      /** The JSON frames printed so far (one per line with --json). */
      frames: <T>() =>
        out
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as T),
    };
  }

  /** Runs a command that ends by itself, interrupting it after `timeoutMs` (it then exits 130). */
  async function atollWithin(timeoutMs: number, ...args: string[]): Promise<Result> {
    const started = startAtoll(...args);
    const timer = setTimeout(started.interrupt, timeoutMs);
    try {
      return await started.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a command that must succeed and parses its `--json` output. */
  async function atollJson<T>(...args: string[]): Promise<T> {
    const r = await atoll('--json', ...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-it-'));
    env = { ATOLL_CONFIG: path.join(dir, 'atoll', 'config.json'), HOME: dir };
    cluster = await startTestCluster({ agent: true });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a wrong password is a clear error', async () => {
    const r = await atoll('cluster', 'setup', cluster.url, '--password', 'wrong');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid username or password\n');
  });

  it('cluster setup logs in and stores a token readable by the owner only', async () => {
    const r = await atoll('cluster', 'setup', cluster.url, '--password', cluster.adminPassword);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Logged in to ${cluster.url} as admin\n`);
    expect((await stat(env.ATOLL_CONFIG!)).mode & 0o777).toBe(0o600);
  });

  it('node list shows the agent’s node', async () => {
    const nodes = await waitFor('the agent to register', async () => {
      const list = await atollJson<Array<{ id: string; hostname: string; connected: boolean }>>(
        'node',
        'list',
      );
      return list.length > 0 && list.every((n) => n.connected) ? list : undefined;
    });
    expect(nodes).toHaveLength(1);
    const table = await atoll('node', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID\s+HOSTNAME\s+ADDRESS\s+RUNTIME\s+STATUS\s+CPU\(alloc\/total\)\s+MEM\(MiB\)\s+DISK\(MiB\)\s+TASKS$/,
    );
    expect(table.stdout).toContain(nodes[0]!.id);
  });

  it('an invalid app definition prints the field errors', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ id: '/bad', cmd: 'sleep 1', cpus: -1, mem: 16, instances: 1 }));
    const r = await atoll('app', 'add', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .+\n {2}cpus: .+\n/);
  });

  it('runs, scales and removes an app', async () => {
    const file = path.join(dir, 'app.json');
    await writeFile(
      file,
      JSON.stringify({ id: '/cli-test', cmd: 'sleep 300', cpus: 0.1, mem: 16, instances: 1 }),
    );
    const added = await atoll('app', 'add', file);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Created app \/cli-test \(deployment \S+\)\n$/);

    type Task = { id: string; appId: string; state: string };
    const running = await waitFor('the task to run', async () => {
      const tasks = await atollJson<Task[]>('task', 'list', '--app', '/cli-test');
      return tasks.find((t) => t.state === 'TASK_RUNNING');
    });
    expect(running.appId).toBe('/cli-test');
    const tasks = await atoll('task', 'list');
    expect(tasks.stdout).toMatch(/^ID\s+APP\s+STATE\s+HOST\s+PORTS\s+STARTED\n/);
    expect(tasks.stdout).toContain(running.id);

    const shown = await atoll('app', 'show', '/cli-test');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^CMD\s+sleep 300$/m);
    expect(shown.stdout).toContain(running.id);

    // A change waits for the running deployment (Marathon's lock) …
    await waitFor('the start deployment to finish', async () => {
      const list = await atollJson<Array<{ id: string; deployments: unknown[] }>>('app', 'list');
      return list.find((a) => a.id === '/cli-test')?.deployments.length === 0 ? true : undefined;
    });
    const scaled = await atoll('app', 'scale', '/cli-test', '2');
    expect(scaled.code).toBe(0);
    expect(scaled.stdout).toMatch(/^Scaling \/cli-test to 2 instances \(deployment \S+\)\n$/);
    const apps = await atollJson<Array<{ id: string; instances: number }>>('app', 'list');
    expect(apps.find((a) => a.id === '/cli-test')?.instances).toBe(2);
    const table = await atoll('app', 'list');
    expect(table.stdout).toMatch(
      /^ID\s+STATUS\s+INSTANCES\(running\/wanted\)\s+HEALTHY\s+CPUS\s+MEM\s+VERSION\n\/cli-test\s/,
    );

    // … unless forced: the scale's deployment may still be running.
    const removed = await atoll('app', 'remove', '/cli-test', '--force');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^Removing app \/cli-test \(deployment \S+\)\n$/);
    await waitFor('the app to be gone', async () => {
      const list = await atollJson<Array<{ id: string }>>('app', 'list');
      return list.some((a) => a.id === '/cli-test') ? undefined : true;
    });
  });

  it('updates an app, watches the deployment, lists versions and rolls back', async () => {
    type App = { id: string; cmd?: string; version: string; deployments: Array<{ id: string }> };
    type Deployment = {
      id: string;
      affectedApps: string[];
      progress: Array<{ appId: string; instances: number; updated: number; old: number }>;
    };
    // The health check makes a rollout last at least a second: new tasks must pass it first.
    const definition = {
      id: '/cli-deploy',
      cmd: 'sleep 300',
      cpus: 0.1,
      mem: 16,
      instances: 1,
      healthChecks: [
        {
          protocol: 'COMMAND',
          command: { value: 'sleep 1' },
          intervalSeconds: 1,
          gracePeriodSeconds: 60,
          delaySeconds: 0,
        },
      ],
    };
    const file = path.join(dir, 'deploy.json');
    await writeFile(file, JSON.stringify(definition));
    expect((await atoll('app', 'add', file)).code).toBe(0);
    await waitFor('the start deployment to finish', async () => {
      const app = await atollJson<App>('app', 'show', '/cli-deploy');
      return app.deployments.length === 0 ? true : undefined;
    });

    // A watch of the app sees the change through /v2/events.
    const watch = startAtoll('--json', 'app', 'show', '/cli-deploy', '--watch');
    await waitFor('the first frame of the watch', () =>
      Promise.resolve(watch.frames<App>().length > 0 ? true : undefined),
    );

    // The file replaces the definition: a new cmd is a new version rolled out by a deployment.
    await writeFile(file, JSON.stringify({ ...definition, cmd: 'sleep 301' }));
    const updated = await atoll('app', 'update', '/cli-deploy', file);
    expect(updated.stderr).toBe('');
    expect(updated.code).toBe(0);
    const deploymentId = /\(deployment (\S+)\)\n$/.exec(updated.stdout)?.[1];
    expect(updated.stdout).toMatch(/^Updating app \/cli-deploy to version \S+ \(deployment \S+\)\n$/);

    const deployments = await atollJson<Deployment[]>('deployment', 'list');
    const mine = deployments.find((d) => d.id === deploymentId);
    expect(mine?.affectedApps).toEqual(['/cli-deploy']);
    expect(mine?.progress).toEqual([expect.objectContaining({ appId: '/cli-deploy', instances: 1 })]);

    await waitFor('the watch to show the new cmd', () =>
      Promise.resolve(watch.frames<App>().some((f) => f.cmd === 'sleep 301') ? true : undefined),
    );
    watch.interrupt();
    const watched = await watch.done;
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);

    // The watch of the deployment ends with 0 once it finished.
    const followed = await atollWithin(90_000, 'deployment', 'watch', deploymentId!);
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain(`Deployment ${deploymentId} finished\n`);

    // Done means the new task passed its health check, and the old one is gone.
    const healthy = await atoll('app', 'show', '/cli-deploy');
    expect(healthy.stdout).toMatch(/^CMD\s+sleep 301$/m);
    expect(healthy.stdout).toMatch(/^INSTANCES\s+1\/1 running \(0 staged, 1 healthy, 0 unhealthy\)$/m);
    expect(healthy.stdout).toMatch(/^HEALTH CHECKS\s+COMMAND 'sleep 1' every 1s/m);
    expect(healthy.stdout).toMatch(
      /^ID\s+APP\s+STATE\s+HEALTH\s+HOST\s+PORTS\s+STARTED\n\S+\s+\/cli-deploy\s+TASK_RUNNING\s+healthy\s/m,
    );

    const versions = await atollJson<string[]>('app', 'version', 'list', '/cli-deploy');
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect([...versions].sort().reverse()).toEqual(versions);
    const table = await atoll('app', 'version', 'list', '/cli-deploy');
    expect(table.stdout).toMatch(new RegExp(`^VERSION\\s+CURRENT\\n${versions[0]}\\s+yes\\n`));
    const first = versions[versions.length - 1]!;
    const old = await atollJson<{ cmd: string }>('app', 'version', 'show', '/cli-deploy', first);
    expect(old.cmd).toBe('sleep 300');

    const rolledBack = await atoll('app', 'rollback', '/cli-deploy', first);
    expect(rolledBack.stderr).toBe('');
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toMatch(
      new RegExp(`^Rolling back /cli-deploy to version ${first} as version \\S+ \\(deployment \\S+\\)\\n$`),
    );
    const shown = await atoll('app', 'show', '/cli-deploy');
    expect(shown.stdout).toMatch(/^CMD\s+sleep 300$/m);
    const rollback = /\(deployment (\S+)\)\n$/.exec(rolledBack.stdout)![1]!;
    const done = await atollWithin(90_000, 'deployment', 'watch', rollback);
    expect(done.code).toBe(0);
    expect((await atollJson<string[]>('app', 'version', 'list', '/cli-deploy')).length).toBe(
      versions.length + 1,
    );

    expect((await atoll('app', 'remove', '/cli-deploy')).code).toBe(0);
  });

  it('the queue says why an app cannot be placed; its deployment locks it', async () => {
    const file = path.join(dir, 'big.json');
    await writeFile(
      file,
      JSON.stringify({ id: '/cli-big', cmd: 'sleep 300', cpus: 4096, mem: 16, instances: 1 }),
    );
    expect((await atoll('app', 'add', file)).code).toBe(0);

    type QueueItem = {
      app: { id: string };
      count: number;
      processedOffersSummary: { rejectSummaryLastOffers: Array<{ reason: string; declined: number }> };
      atoll: { reasons: Record<string, number> };
    };
    const item = await waitFor('the app to wait in the queue with a reason', async () => {
      const queue = await atollJson<QueueItem[]>('queue');
      const big = queue.find((q) => q.app.id === '/cli-big');
      return big && Object.keys(big.atoll.reasons).length > 0 ? big : undefined;
    });
    expect(item.count).toBe(1);
    expect(item.atoll.reasons['insufficient cpus']).toBe(1);
    expect(item.processedOffersSummary.rejectSummaryLastOffers).toContainEqual(
      expect.objectContaining({ reason: 'InsufficientCpus', declined: 1 }),
    );
    const table = await atoll('queue');
    expect(table.stdout).toMatch(/^APP\s+WAITING\s+DELAY\s+REASONS\n/);
    expect(table.stdout).toMatch(/^\/cli-big\s+1\s+\S+\s+insufficient cpus \(1 node\)$/m);

    // Its start deployment can never finish: it stays in the list, and a change needs --force.
    type Deployment = {
      id: string;
      affectedApps: string[];
      progress: Array<{ appId: string; updated: number }>;
    };
    const start = (await atollJson<Deployment[]>('deployment', 'list')).find((d) =>
      d.affectedApps.includes('/cli-big'),
    );
    expect(start?.progress).toEqual([{ appId: '/cli-big', instances: 1, updated: 0, old: 0, healthy: 0 }]);
    const listed = await atoll('deployment', 'list');
    expect(listed.stdout).toMatch(/^ID\s+APPS\s+ACTION\s+STEP\s+PROGRESS\s+VERSION\n/);
    expect(listed.stdout).toMatch(
      new RegExp(`^${start!.id}\\s+/cli-big\\s+StartApplication\\s+1/1\\s+0/1 updated, 0 old\\s`, 'm'),
    );
    const locked = await atoll('app', 'remove', '/cli-big');
    expect(locked.code).toBe(1);
    expect(locked.stdout).toBe('');
    expect(locked.stderr).toMatch(/^error: App is locked by one or more deployments.*\n/);
    expect(locked.stderr).toContain('  retry with --force');

    // Stopping the deployment ends a watch of it with exit 1.
    const watch = startAtoll('deployment', 'watch', start!.id.slice(0, 8));
    await waitFor('the watch to show the deployment', () =>
      Promise.resolve(watch.stdout().includes(`Deployment ${start!.id}`) ? true : undefined),
    );
    const stopped = await atoll('deployment', 'stop', start!.id);
    expect(stopped.stdout).toBe(`Stopped deployment ${start!.id}; its apps stay as they are now\n`);
    const watched = await watch.done;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain(`Deployment ${start!.id} failed: stopped\n`);
    expect(watched.stderr).toBe(`error: deployment ${start!.id} failed: stopped\n`);

    const removed = await atoll('app', 'remove', '/cli-big', '--force');
    expect(removed.code).toBe(0);
    await waitFor('the app to be gone', async () => {
      const list = await atollJson<Array<{ id: string }>>('app', 'list');
      return list.some((a) => a.id === '/cli-big') ? undefined : true;
    });
  });

  it('adds, shows, scales and removes a group (Marathon fixture 09)', async () => {
    const added = await atoll('group', 'add', sleepGroup);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Created group \/sleep-group \(deployment \S+\)\n$/);

    type App = { id: string; instances: number };
    type Group = { id: string; apps: App[]; groups: Group[] };
    const tree = await atollJson<Group>('group', 'show', '/sleep-group');
    expect(tree.id).toBe('/sleep-group');
    expect(tree.apps).toEqual([]);
    expect(tree.groups.map((g) => g.id)).toEqual(['/sleep-group/sleep']);
    expect(tree.groups[0]!.apps.map((a) => a.id).sort()).toEqual([
      '/sleep-group/sleep/goodnight-1',
      '/sleep-group/sleep/goodnight-2',
    ]);
    const shown = await atoll('group', 'show', '/sleep-group');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^ID\s+STATUS\s+INSTANCES\(running\/wanted\)\s+HEALTHY\s+CPUS\s+MEM\s+VERSION\n\/sleep-group\n {2}\/sleep-group\/sleep\n/,
    );
    expect(shown.stdout).toMatch(/^ {4}\/sleep-group\/sleep\/goodnight-1\s+[A-Z][a-z]+\s+\d\/1\s/m);

    // The start deployment may still run: the scale overrides its lock.
    const scaled = await atoll('group', 'scale', '/sleep-group', '2', '--force');
    expect(scaled.stderr).toBe('');
    expect(scaled.code).toBe(0);
    expect(scaled.stdout).toMatch(/^Scaling group \/sleep-group by 2 \(deployment \S+\)\n$/);
    const after = await atollJson<Group>('group', 'show', '/sleep-group');
    expect(after.groups[0]!.apps.map((a) => a.instances)).toEqual([2, 2]);

    const removed = await atoll('group', 'remove', '/sleep-group', '--force');
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^Removing group \/sleep-group \(deployment \S+\)\n$/);
    await waitFor('the group to be gone', async () => {
      const r = await atoll('group', 'show', '/sleep-group');
      if (r.code === 0) return undefined;
      expect(r.stderr).toBe("error: Group '/sleep-group' does not exist\n");
      return true;
    });
  });

  // Only the API side: the pod's image (busybox) cannot be pulled here, so it is never waited for.
  it('adds, lists and removes a pod (Marathon fixture 10)', async () => {
    const added = await atoll('pod', 'add', simplePod);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Created pod \/simple-pod \(deployment \S+\)\n$/);

    type Pod = { id: string; containers: Array<{ name: string }> };
    const pods = await atollJson<Pod[]>('pod', 'list');
    const pod = pods.find((p) => p.id === '/simple-pod');
    expect(pod?.containers.map((c) => c.name)).toEqual(['ct1', 'ct2']);
    const listed = await atoll('pod', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+STATUS\s+INSTANCES\(running\/wanted\)\s+CONTAINERS\s+VERSION\n/);
    expect(listed.stdout).toMatch(/^\/simple-pod\s+[A-Z]+\s+\d+\/1\s+ct1,ct2\s/m);
    const shown = await atollJson<{ id: string; status: string; instances: unknown[] }>(
      'pod',
      'show',
      '/simple-pod',
    );
    expect(shown.id).toBe('/simple-pod');
    expect(['STABLE', 'DEGRADED', 'DEPLOYING']).toContain(shown.status);

    const removed = await atoll('pod', 'remove', '/simple-pod', '--force');
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^Removing pod \/simple-pod \(deployment \S+\)\n$/);
    await waitFor('the pod to be gone', async () => {
      const left = await atollJson<Pod[]>('pod', 'list');
      return left.some((p) => p.id === '/simple-pod') ? undefined : true;
    });
  });

  it('a missing app is a tRPC error (exit 1)', async () => {
    const r = await atoll('app', 'show', '/no-such-app');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: App '/no-such-app' does not exist\n");
  });

  it('a rejected token means logging in again (exit 2)', async () => {
    const r = await atoll('node', 'list');
    expect(r.code).toBe(0);
    const rejected = await run(['node', 'list'], {
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: { ...env, ATOLL_TOKEN: 'atl_not-a-token' },
    });
    expect(rejected).toBe(2);
  });

  it('prints and follows task logs, runs a command in a task, and drains the node', async () => {
    const app = {
      id: '/cli-logs',
      cmd: 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done',
      cpus: 0.01,
      mem: 8,
      instances: 1,
      container: { type: 'DOCKER', docker: { image: 'atoll-test-busybox:latest' } },
    };
    const file = path.join(dir, 'cli-logs.json');
    await writeFile(file, JSON.stringify(app));
    expect((await atoll('app', 'add', file)).code).toBe(0);
    const task = await waitFor('a running task', async () => {
      const t = (
        await atollJson<Array<{ id: string; state: string }>>('task', 'list', '--app', '/cli-logs')
      )[0];
      return t?.state === 'TASK_RUNNING' ? t : undefined;
    });
    await waitFor('output', async () =>
      (await atoll('task', 'log', task.id, '--lines', 'all')).stdout.includes('tick-3') ? true : undefined,
    );
    const last2 = await atoll('task', 'log', task.id, '--lines', '2');
    expect(last2.code).toBe(0);
    expect(last2.stdout.trim().split('\n')).toHaveLength(2);

    // --follow prints lines written after it started, until interrupted.
    const follow = startAtoll('task', 'log', task.id, '--follow', '--lines', '0');
    await waitFor('followed lines', async () =>
      (follow.stdout().match(/tick-\d+/g) ?? []).length >= 3 ? true : undefined,
    );
    follow.interrupt();
    expect((await follow.done).code).toBe(0);

    const exec = await atoll('task', 'exec', task.id, '--', 'sh', '-c', 'echo inside; exit 4');
    expect(exec.stdout).toBe('inside\n');
    expect(exec.code).toBe(4);

    // -it in a real terminal: util-linux `script` runs the CLI binary on a pty (raw keys in).
    const terminal = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(
        'script',
        ['-qefc', `${process.execPath} ${bin} task exec -it ${task.id} sh`, '/dev/null'],
        { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
      child.stdin.end('echo hi-$((40+2))\nexit 7\n');
    });
    // "hi-42" is the remote shell's output (the keys read "hi-$((40+2))"); its exit code comes back.
    expect(terminal.out).toContain('hi-42');
    expect(terminal.code).toBe(7);
    const missing = await atoll('task', 'log', 'no-such-task');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404');

    const node = (await atollJson<Array<{ id: string; hostname: string }>>('node', 'list'))[0]!;
    const drained = await atoll('node', 'drain', node.hostname);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(/DRAIN/);
    const shown = await atollJson<{ mode: string }>('node', 'show', node.id);
    expect(['DRAINING', 'DRAINED']).toContain(shown.mode);
    expect((await atoll('node', 'undrain', node.id)).code).toBe(0);
    const added = await atoll(
      'node',
      'add-token',
      '--multi-use',
      '--expires',
      '2h',
      '--attribute',
      'rack=r1',
      '--description',
      'rack 1',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /curl -fsSL http:\/\/\S+\/install\/agent\.sh \| sudo sh -s -- --token join_/,
    );
    const tokens = await atollJson<
      Array<{ id: string; status: string; description: string | null; singleUse: boolean }>
    >('node', 'tokens');
    const mine = tokens.find((t) => t.description === 'rack 1')!;
    expect(mine).toMatchObject({ status: 'usable', singleUse: false });
    expect((await atoll('node', 'revoke-token', mine.id)).code).toBe(0);
    expect(
      (await atollJson<Array<{ id: string; status: string }>>('node', 'tokens')).find((t) => t.id === mine.id)
        ?.status,
    ).toBe('revoked');
    expect((await atoll('node', 'add-token', '--expires', 'soon')).stderr).toContain('not a duration');
    const refused = await atoll('node', 'decommission', node.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--yes');
    expect((await atoll('app', 'remove', '/cli-logs', '--force')).code).toBe(0);
  }, 120_000);
});

describe('bin/atoll.mjs', () => {
  it('runs the CLI through tsx (--help)', () => {
    const r = spawnSync(process.execPath, [bin, '--help'], {
      encoding: 'utf8',
      cwd: os.tmpdir(),
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: atoll');
    for (const group of ['cluster', 'node', 'app', 'group', 'pod', 'task', 'deployment', 'queue'])
      expect(r.stdout).toContain(group);
  });
});
