import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';

const REDIS_IMAGE = 'atoll-test-redis:latest';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Installed {
  appId: string;
  packageName: string;
  packageVersion: string;
  status: string;
  options: Record<string, unknown>;
  apps: Array<{ id: string; tasksHealthy: number; instances: number }>;
}

/** Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 90_000,
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

/**
 * A tiny Universe index written by hand: one package with an options schema and a Marathon
 * template (base64), as a repository serves it.
 */
const tinyIndex = {
  packages: [
    {
      packagingVersion: '4.0',
      name: 'tiny-sleeper',
      version: '1.0.0',
      releaseVersion: 0,
      description: 'A busybox that sleeps, from a test repository',
      tags: ['test'],
      maintainer: 'atoll',
      selected: false,
      framework: false,
      config: {
        type: 'object',
        properties: {
          service: { type: 'object', properties: { name: { type: 'string', default: 'tiny' } } },
        },
      },
      resource: {},
      marathon: {
        v2AppMustacheTemplate: Buffer.from(
          JSON.stringify({
            id: '/{{service.name}}',
            cpus: 0.05,
            mem: 32,
            cmd: 'exec sleep 3600',
            container: { type: 'DOCKER', docker: { image: 'atoll-test-busybox:latest' } },
          }),
        ).toString('base64'),
      },
    },
  ],
};

// `atoll package …` in-process against a real control with a fresh database and one local agent.
describe('atoll package against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(...args: string[]): Promise<Result> {
    return atollWith({}, ...args);
  }

  async function atollWith(extra: Partial<CliIO>, ...args: string[]): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      ...extra,
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

  async function optionsFile(name: string, options: unknown): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(options));
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-package-'));
    cluster = await startTestCluster({ agent: true });
    env = { ATOLL_URL: cluster.url, ATOLL_TOKEN: cluster.token, ATOLL_CONFIG: path.join(dir, 'config.json') };
    await waitFor('the agent to connect', async () => {
      const nodes = await atollJson<Array<{ connected: boolean }>>('node', 'list');
      return nodes.length > 0 && nodes.every((n) => n.connected) ? true : undefined;
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('search lists redis, selected, in a table', async () => {
    const r = await atoll('package', 'search', 'redis');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+SELECTED\s+REPOSITORY\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^redis\s+\S+\s+★\s+\S+\s+Redis/);
    for (const line of lines.slice(1).filter(Boolean))
      expect(line.split('  ').at(-1)!.trim().length, line).toBeLessThanOrEqual(60);
    const all = await atollJson<Array<{ name: string }>>('package', 'search');
    expect(all.map((p) => p.name)).toContain('redis');
  });

  it('describe shows the details and options; --render applies an options file', async () => {
    const d = await atoll('package', 'describe', 'redis');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^NAME\s+redis$/m);
    expect(d.stdout).toContain('Pre-install notes:');
    expect(d.stdout).toMatch(/^resources\.cpus\s+number\s+0\.5\s+CPUs$/m);
    expect(d.stdout).toMatch(/^resources\.mem\s+number\s+512\s+/m);

    const schema = JSON.parse((await atoll('package', 'describe', 'redis', '--config')).stdout) as {
      properties: Record<string, unknown>;
    };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['service', 'resources']));

    const file = await optionsFile('render.json', { resources: { mem: 200 } });
    const r = await atoll('package', 'describe', 'redis', '--render', '--options', file);
    expect(r.stderr).toBe('');
    const rendered = JSON.parse(r.stdout) as { id: string; mem: number; labels: Record<string, string> };
    expect(rendered).toMatchObject({ id: '/redis', mem: 200 });
    expect(rendered.labels.DCOS_PACKAGE_NAME).toBe('redis');
  });

  it('bad options exit non-zero naming the field, and install nothing', async () => {
    const file = await optionsFile('bad.json', { resources: { cpus: 'lots' } });
    const r = await atoll('package', 'install', 'redis', '--options', file, '--yes');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('resources.cpus');
    expect(r.stderr).toContain(file);
    expect(r.stdout).toBe('');
    const notObject = await optionsFile('list.json', [1, 2]);
    const n = await atoll('package', 'install', 'redis', '--options', notObject, '--yes');
    expect(n.code).toBe(1);
    expect(n.stderr).toContain(`error: ${notObject} must hold the package options as a JSON object`);
    expect(await atollJson<unknown[]>('package', 'list')).toEqual([]);
  });

  it('install without --yes and without a terminal refuses', async () => {
    const r = await atoll('package', 'install', 'redis');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--yes');
    expect(await atollJson<unknown[]>('package', 'list')).toEqual([]);
  });

  it('installs redis, lists it healthy, upgrades its options, uninstalls it', async () => {
    const options = { service: { image: REDIS_IMAGE }, resources: { mem: 128, disk: 64 } };
    const file = await optionsFile('redis.json', options);
    const inst = await atoll('package', 'install', 'redis', '--options', file, '--yes');
    expect(inst.stderr).toBe('');
    expect(inst.code).toBe(0);
    expect(inst.stdout).toMatch(/^Installed redis \S+ as \/redis \(deployment [0-9a-f-]+\)$/m);
    expect(inst.stdout).toContain('Redis is installed.');

    const table = await atoll('package', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^APP ID\s+PACKAGE\s+VERSION\s+STATUS\s+TASKS/);
    expect(table.stdout).toMatch(/^\/redis\s+redis\s+/m);

    await waitFor('redis healthy', async () => {
      const list = await atollJson<Installed[]>('package', 'list', '--package', 'redis');
      const i = list[0];
      return i?.status === 'Running' && i.apps[0]?.tasksHealthy === 1 ? i : undefined;
    });
    expect((await atoll('package', 'list')).stdout).toMatch(/^\/redis\s+redis\s+\S+\s+Running\s+1\/1$/m);

    const upgraded = { ...options, resources: { mem: 160, disk: 64 } };
    const up = await atoll(
      'package',
      'upgrade',
      '/redis',
      '--options',
      await optionsFile('up.json', upgraded),
      '--yes',
    );
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('change: /redis');
    expect(up.stdout).toMatch(/^-\s+"mem": 128,$/m);
    expect(up.stdout).toMatch(/^\+\s+"mem": 160,$/m);
    expect(up.stdout).toMatch(/^Upgraded \/redis to redis /m);
    const app = await atollJson<{ mem: number }>('app', 'show', '/redis');
    expect(app.mem).toBe(160);
    const [listed] = await atollJson<Installed[]>('package', 'list');
    expect(listed?.options).toEqual(upgraded);

    const un = await atoll('package', 'uninstall', 'redis', '--yes');
    expect(un.stderr).toBe('');
    expect(un.code).toBe(0);
    expect(un.stdout).toContain('Uninstalling redis removes 1 app: /redis');
    expect(un.stdout).toMatch(/^Uninstalled redis \S+ at \/redis \(removing \/redis\)$/m);
    expect(un.stdout).toContain('Redis was uninstalled.');
    expect(await atollJson<unknown[]>('package', 'list')).toEqual([]);
    const again = await atoll('package', 'uninstall', 'redis', '--yes');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('package redis is not installed');
  }, 240_000);

  it('repo add, list and remove a local index', async () => {
    const index = path.join(dir, 'repo-up-to-1.json');
    // An entry Atoll cannot read (a packagingVersion from the future) is skipped, not fatal.
    const future = { ...tinyIndex.packages[0], name: 'future', version: '2.0.0', packagingVersion: '6.0' };
    await writeFile(index, JSON.stringify({ packages: [...tinyIndex.packages, future] }));
    const add = await atoll('package', 'repo', 'add', 'tiny', index, '--index', '0');
    expect(add.stderr).toBe('');
    expect(add.stdout).toBe(
      'Added repository tiny with 1 package (priority 0); skipped 1 it cannot read (atoll package repo show tiny)\n',
    );
    const show = await atoll('package', 'repo', 'show', 'tiny');
    expect(show.stdout).toMatch(/^tiny \(.*\), priority 0: 1 package, 1 skipped\n/);
    expect(show.stdout).toMatch(/\n\s+1\s+future\s+2\.0\.0\s+packagingVersion: must be .*\(got "6\.0"\)\n/);
    const shown = await atollJson<{ skipped: Array<{ index: number; name: string; reason: string }> }>(
      'package',
      'repo',
      'show',
      'tiny',
    );
    expect(shown.skipped).toEqual([
      { index: 1, name: 'future', version: '2.0.0', reason: expect.stringContaining('packagingVersion') },
    ]);

    const list = await atoll('package', 'repo', 'list');
    const lines = list.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PRIORITY\s+PACKAGES\s+SKIPPED\s+URI$/);
    expect(lines[1]).toMatch(new RegExp(`^tiny\\s+0\\s+1\\s+1\\s+${index.replace(/[.]/g, '\\.')}$`));
    expect(lines[2]).toMatch(/^\S+\s+1\s+\d+\s+0\s+builtin:$/);

    const found = await atollJson<Array<{ name: string; repository: string }>>('package', 'search', 'sleeps');
    expect(found).toEqual([expect.objectContaining({ name: 'tiny-sleeper', repository: 'tiny' })]);

    const dup = await atoll('package', 'repo', 'add', 'tiny', index);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');

    const rm = await atoll('package', 'repo', 'remove', 'tiny');
    expect(rm.stdout).toBe('Removed repository tiny\n');
    const repos = await atollJson<Array<{ name: string }>>('package', 'repo', 'list');
    expect(repos.map((r) => r.name)).not.toContain('tiny');
    expect(await atollJson<unknown[]>('package', 'search', 'sleeps')).toEqual([]);
  });
});
