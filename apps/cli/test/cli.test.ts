import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/atoll.mjs');

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
      /^ID\s+STATUS\s+INSTANCES\(running\/wanted\)\s+CPUS\s+MEM\s+VERSION\n\/cli-test\s/,
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
    for (const group of ['cluster', 'node', 'app', 'task']) expect(r.stdout).toContain(group);
  });
});
